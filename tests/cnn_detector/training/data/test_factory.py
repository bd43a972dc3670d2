"""The fake factory's outputs: one file per example, even where share folders reuse names."""

import csv

from cnn_detector.training.data.factory import FactoryOptions, run_factory, source_stem
from deepfake_scanner.share import split_of
from tests.tools.tiny_share import SAMPLES, tiny_share


def test_source_stems_differ_for_the_same_name_in_two_folders():
    assert source_stem("real_images/deepface/106.jpg") != source_stem("real_images/realorfake_ffhq/106.jpg")
    assert source_stem("real_images/deepface/106.jpg").startswith("106_")
    assert source_stem("a/b.jpg") == source_stem("a/b.jpg")  # deterministic


def test_two_folders_with_the_same_file_names_give_one_file_per_example(tmp_path):
    reals = sorted(SAMPLES.glob("real_*.jpg"))
    folders = ("real_images/deepface", "real_images/face_recognition")
    tiny_share(tmp_path / "share", [(folder, "real", reals[k:] + reals[:k], 6) for k, folder in enumerate(folders)])
    # both folders have copy0.jpg ... copy5.jpg; some same-named pairs share a split
    assert any(split_of(f"{folders[0]}/copy{k}.jpg") == split_of(f"{folders[1]}/copy{k}.jpg") for k in range(6))
    factory = run_factory(tmp_path / "share", tmp_path / "out", FactoryOptions(methods=("self_blend",)))
    with open(tmp_path / "out" / "index.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    images = [row["image"] for row in rows]
    assert rows and len(images) == len(set(images)) == len(factory.rows)
    assert all((tmp_path / "out" / image).is_file() for image in images)
    assert {row["source_folder"] for row in rows if row["method"] == "real"} == set(folders)


def test_exported_fakes_carry_the_factory_watermark_and_the_training_crops_do_not_change(tmp_path):
    import dataclasses

    import cv2

    from deepfake_scanner.provenance import read_provenance

    reals = sorted(SAMPLES.glob("real_*.jpg"))
    tiny_share(tmp_path / "share", [("real_images/deepface", "real", reals, 4)])
    options = FactoryOptions(methods=("self_blend",))
    run_factory(tmp_path / "share", tmp_path / "plain", options)
    exported = run_factory(
        tmp_path / "share", tmp_path / "out", dataclasses.replace(options, export_dir=tmp_path / "export")
    )
    plain = sorted(p.relative_to(tmp_path / "plain") for p in (tmp_path / "plain").rglob("*.jpg"))
    assert plain == sorted(p.relative_to(tmp_path / "out") for p in (tmp_path / "out").rglob("*.jpg"))
    assert all((tmp_path / "plain" / p).read_bytes() == (tmp_path / "out" / p).read_bytes() for p in plain)
    pngs = sorted((tmp_path / "export").rglob("*.png"))
    assert len(pngs) == exported.exported and exported.exported >= 1
    assert all("self_blend" in p.parts for p in pngs)  # fakes only
    for png in pngs:
        assert read_provenance(png).watermarks == ("deepfake-scanner-factory",)
        shared = tmp_path / f"{png.stem}.jpg"  # as it would be re-shared: JPEG at quality 90
        cv2.imwrite(str(shared), cv2.imread(str(png)), [cv2.IMWRITE_JPEG_QUALITY, 90])
        assert read_provenance(shared).watermarks == ("deepfake-scanner-factory",)
    assert all(read_provenance(tmp_path / "plain" / p).watermarks == () for p in plain)  # crops unmarked
