"""Contributed detectors: scaffold, pack, install by bundle, use with no code change; and the
bundles that must be refused, leaving the detector folder as it was."""

import zipfile

import pytest

import main_thread
from cnn_detector.registry import PROJECT_ROOT
from tests.conftest import red_square_image
from tests.graphs import build_tf1_colour_graph
from tests.tools.bundle_fixtures import make_contributed, reseal, rewrite, snapshot
from tools import check_detector, install_detector, pack_detector

SAMPLES = PROJECT_ROOT / "samples"


@pytest.fixture
def contributed(tmp_path):
    return make_contributed(tmp_path)


def test_pack_install_and_use_without_code_change(tmp_path, contributed, capsys):
    assert check_detector.main([str(contributed), "--no-judge"]) == 0
    bundle = tmp_path / "red_sticker.zip"
    assert pack_detector.main([str(contributed), "-o", str(bundle)]) == 0
    installed = tmp_path / "installed"
    assert install_detector.main([str(bundle), "--into", str(installed)]) == 0
    assert (installed / "red_sticker" / "detector.yaml").is_file()
    capsys.readouterr()
    # The scanner picks it up from the folder, judge unchanged.
    picture = tmp_path / "in" / "red.png"
    picture.parent.mkdir()
    from PIL import Image

    Image.fromarray(red_square_image()).save(picture)
    assert (
        main_thread.main(
            [
                "--input",
                str(picture),
                "--detectors",
                str(installed),
                "--no-progress",
                "--detections",
                str(tmp_path / "d.csv"),
            ]
        )
        == 0
    )
    detections = (tmp_path / "d.csv").read_text()
    assert "red_sticker" in detections
    verdict = capsys.readouterr().out
    assert "red_sticker" in verdict.splitlines()[1]  # listed among the detectors that judged
    # Installing the same name again is refused unless replacing.
    assert install_detector.main([str(bundle), "--into", str(installed), "--no-judge"]) == 2
    assert install_detector.main([str(bundle), "--into", str(installed), "--no-judge", "--replace"]) == 0


def test_malicious_bundles_are_refused(tmp_path, contributed, capsys):
    bundle = tmp_path / "good.zip"
    pack_detector.pack_detector(contributed, bundle)
    installed = tmp_path / "installed"
    installed.mkdir()
    (installed / "keep.txt").write_text("existing content")
    before = snapshot(installed)

    zip_slip = tmp_path / "slip.zip"
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(zip_slip, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info.filename))
        dst.writestr("../../escaped.txt", "owned")
    symlink = tmp_path / "symlink.zip"
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(symlink, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info.filename))
        link = zipfile.ZipInfo("red_sticker/samples/link.png")
        link.external_attr = 0o120777 << 16
        dst.writestr(link, "/etc/passwd")
    evil_graph = build_tf1_colour_graph(extra_op="ReadFile")

    def swap_graph(name, data):
        return evil_graph if name.endswith(".pb") else data

    def swap_graph_and_sha(name, data):
        if name.endswith(".pb"):
            return evil_graph
        if name.endswith("detector.yaml"):
            import hashlib

            old = contributed.joinpath("detector.yaml").read_text().split("sha256: ")[1].split()[0]
            return data.replace(old.encode(), hashlib.sha256(evil_graph).hexdigest().encode())
        return data

    def duplicate_ids(name, data):
        return b"item { id: 1 name: 'a' }\nitem { id: 1 name: 'b' }\n" if name.endswith(".pbtxt") else data

    cases = {
        zip_slip: "path traversal",
        symlink: "symbolic link",
        rewrite(bundle, tmp_path / "tampered.zip", swap_graph): "checksum",
        reseal(bundle, tmp_path / "wrong_sha.zip", swap_graph): "sha256",
        reseal(bundle, tmp_path / "readfile.zip", swap_graph_and_sha): "ReadFile",
        reseal(bundle, tmp_path / "dup_ids.zip", duplicate_ids): "id 1 already used",
    }
    (tmp_path / "not_a_zip.zip").write_text("hello")
    cases[tmp_path / "not_a_zip.zip"] = "not a readable zip"
    for path, reason in cases.items():
        capsys.readouterr()
        assert install_detector.main([str(path), "--into", str(installed), "--no-judge"]) == 2, path.name
        err = capsys.readouterr().err
        assert reason in err, (path.name, err)
        assert snapshot(installed) == before, path.name
    assert not (tmp_path.parent / "escaped.txt").exists()
