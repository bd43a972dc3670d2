"""tools/train_seam.py at CI size: fresh self-blends of the tiny share's faces -> a heatmap
detector with the OD-API contract that passes every contributor check."""

import dataclasses
import json

import cv2
import numpy as np
import pytest

from cnn_detector.registry import discover_detectors
from cnn_detector.training.seam import SeamOptions, finished_training, make_example, member_options, seam_target
from deepfake_scanner.cli.common import EXIT_USAGE
from tools import check_detector, reproduce_results, train_seam

pytestmark = pytest.mark.slow  # trains or runs the shipped graphs: in CI all the same


def test_seam_target_peaks_on_the_blend_boundary():
    mask = np.zeros((40, 40), np.float32)
    mask[10:30, 10:30] = 1.0
    mask = cv2.GaussianBlur(mask, (9, 9), 0)
    target = seam_target(mask, 20)
    assert target.shape == (20, 20)
    assert target[10, 10] < 0.1 and target[0, 0] < 0.1  # inside and far outside: no seam
    assert target[5, 10] > 0.5  # on the edge of the blended square
    assert not seam_target(np.zeros((40, 40), np.float32), 20).any()


def test_examples_are_made_like_the_factory_test_blends():
    rng = np.random.default_rng(0)
    face = np.full((200, 180, 3), 120, np.uint8)
    face[40:160, 40:140] = (180, 140, 120)
    ys, xs = np.mgrid[50:150:10, 50:130:8]
    landmarks = np.stack([xs.ravel(), ys.ravel(), np.zeros(xs.size)], 1).astype(np.float32)
    landmarks = np.concatenate([landmarks] * 5)[:468]
    options = SeamOptions(input_size=96)
    image, target, label = make_example(face, landmarks, True, options, rng)
    assert image.shape == (96, 96, 3) and image.dtype == np.uint8 and label == 1.0
    assert target.shape == (24, 24) and target.max() > 0.3
    real, real_target, real_label = make_example(face, landmarks, False, options, rng)
    assert real_label == 0.0 and not real_target.any() and real.shape == image.shape


@pytest.mark.heavy
def test_quick_seam_training_ships_a_checked_detector(tiny_share_dir, tiny_factory, tmp_path):
    output = tmp_path / "detectors"
    argv = [
        "--quick",
        "--share",
        str(tiny_share_dir),
        "--factory",
        str(tiny_factory),
        "--sources",
        str(tmp_path / "src"),
    ]
    argv += ["--run-dir", str(tmp_path / "run"), "--output-root", str(output), "--no-progress"]
    assert train_seam.main(argv) == 0
    directory = output / "blend_seam"
    spec = discover_detectors([output], include_default=False).get("blend_seam")
    assert spec.manifest.algorithms == ("self_blend",) and spec.manifest.input == "face_crop"
    report = json.loads((directory / "metrics.json").read_text())
    assert report["test"]["positives"] == ["self_blend"]
    members = report["training"]["members"]
    assert [m["seed"] for m in members] == [0, 1, 2] and all(len(m["history"]) == 2 for m in members)
    card = (directory / "MODEL_CARD.md").read_text()
    assert "Retrain from scratch" in card and "Model 3 of 3 (seed 2; 50% of real faces" in card
    assert check_detector.main([str(directory)]) == 0
    # the same command again reuses both finished models instead of training them again
    weights = [tmp_path / "run" / f"member_{k}" / "best.weights.h5" for k in range(3)]
    stamps = [w.stat().st_mtime_ns for w in weights]
    assert train_seam.main(argv) == 0
    assert [w.stat().st_mtime_ns for w in weights] == stamps
    again = json.loads((directory / "metrics.json").read_text())
    assert again["training"]["members"] == members and again["test"] == report["test"]
    # a restart cycle continues each finished model (kept as it was) in run/member_K/restart
    assert train_seam.main(argv + ["--set", "restart_epochs=2"]) == 0
    assert [w.stat().st_mtime_ns for w in weights] == stamps
    restarted = json.loads((directory / "metrics.json").read_text())["training"]["members"]
    assert [[h["epoch"] for h in m["history"]] for m in restarted] == [[1, 2, 3, 4]] * 3
    assert all((tmp_path / "run" / f"member_{k}" / "restart" / "finished.json").is_file() for k in range(3))
    assert "restart" in (directory / "MODEL_CARD.md").read_text()
    # reproduce_results.py --retrain remakes this detector with the arguments it was trained with
    assert reproduce_results.shipped_seam_arguments(directory / "metrics.json") == [
        *argv[:-1],
        "--set",
        "restart_epochs=2",
        "--no-progress",
    ]
    # the share's training folders are named apart from the folders only in the test split
    assert "Source folders trained on" in (directory / "MODEL_CARD.md").read_text()


@pytest.mark.heavy
def test_shipped_seam_models_are_recovered_from_the_graph(tiny_share_dir, tiny_factory, tmp_path, capsys):
    from cnn_detector.training.seam import (
        average_models,
        build_seam_model,
        check_recovered,
        options_from_record,
        recover_finished,
    )

    output = tmp_path / "detectors"
    argv = ["--quick", "--members", "2", "--set", "restart_epochs=2", "--share", str(tiny_share_dir)]
    argv += ["--factory", str(tiny_factory), "--sources", str(tmp_path / "src"), "--no-progress"]
    assert train_seam.main(argv + ["--run-dir", str(tmp_path / "run"), "--output-root", str(output)]) == 0
    directory = output / "blend_seam"
    recovered = tmp_path / "recovered"
    restarts = [recovered / "member_0" / "restart", recovered / "member_1" / "restart"]
    assert recover_finished(directory, recovered) == restarts  # trained with a restart: its record
    report = json.loads((directory / "metrics.json").read_text())
    members = member_options(options_from_record(report["training"]["options"]))
    for member, folder, record in zip(members, restarts, report["training"]["members"]):
        assert finished_training(folder, member) == record["history"]
    assert recover_finished(directory, recovered) == []  # already there: nothing rewritten
    # the same command on the recovered run trains nothing again, not even the first cycles
    again = tmp_path / "again"
    assert train_seam.main(argv + ["--run-dir", str(recovered), "--output-root", str(again)]) == 0
    assert not any(recovered.glob("member_*/best.weights.h5"))
    rerun = json.loads((again / "blend_seam" / "metrics.json").read_text())["training"]["members"]
    assert [m["history"] for m in rerun] == [m["history"] for m in report["training"]["members"]]
    # recovered models must score as the graph does: changed weights are caught
    shipped = options_from_record(report["training"]["options"])
    models = []
    for member, folder in zip(members, restarts):
        model, _ = build_seam_model(dataclasses.replace(member, pretrained=None))
        model.load_weights(str(folder / "best.weights.h5"))
        models.append(model)
    check_recovered(directory, average_models(models, shipped), shipped)
    dense = models[0].get_layer("image")
    kernel, bias = dense.get_weights()
    dense.set_weights([np.zeros_like(kernel), np.full_like(bias, 3.0)])
    with pytest.raises(ValueError, match="graph scores"):
        check_recovered(directory, average_models(models, shipped), shipped)
    # a record that does not describe the graph is refused before anything is written
    report["training"]["options"]["decoder_filters"] = 32
    (directory / "metrics.json").write_text(json.dumps(report))
    with pytest.raises(ValueError, match="lateral_4/Conv2D/ReadVariableOp: missing from the graph or not shaped"):
        recover_finished(directory, tmp_path / "other")
    assert not (tmp_path / "other").exists()
    # a detector that tools/train_seam.py did not train is a usage error naming its record
    (directory / "metrics.json").write_text(json.dumps({"test": report["test"]}))
    assert train_seam.main(argv + ["--run-dir", str(tmp_path / "run3"), "--recover-from", str(directory)]) == EXIT_USAGE
    assert "not the record of a tools/train_seam.py training" in capsys.readouterr().err


def test_flip_average_scores_a_crop_and_its_mirror_alike():
    import tensorflow as tf

    from cnn_detector.training.seam import build_seam_model, make_serving_function

    crop = (np.random.default_rng(0).random((1, 80, 70, 3)) * 255).astype(np.uint8)
    mirror = np.ascontiguousarray(crop[:, :, ::-1])
    gaps = {}
    for flip in (False, True):
        options = SeamOptions(input_size=64, pretrained=None, flip_average=flip)
        tf.keras.utils.set_random_seed(1)
        model, _ = build_seam_model(options)
        dense = model.get_layer("image")
        kernel, bias = dense.get_weights()
        dense.set_weights([np.random.default_rng(1).normal(0, 50, kernel.shape).astype(np.float32), bias])
        serve = make_serving_function(model, options)
        scores = [float(serve(tf.constant(x))["detection_scores"][0, 0]) for x in (crop, mirror)]
        gaps[flip] = abs(scores[0] - scores[1])
    assert gaps[True] < 1e-4 < gaps[False]


def test_finished_training_is_reused_only_with_the_same_options(tmp_path):
    options = SeamOptions(input_size=64, pretrained=None)
    (tmp_path / "best.weights.h5").write_bytes(b"weights")
    assert finished_training(tmp_path, options) is None  # no record: train
    history = [{"epoch": 1, "val_auc": 0.7}]
    (tmp_path / "finished.json").write_text(json.dumps({"options": dataclasses.asdict(options), "history": history}))
    assert finished_training(tmp_path, options) == history
    assert finished_training(tmp_path, dataclasses.replace(options, epochs=61)) is None
    assert finished_training(tmp_path, dataclasses.replace(options, seed=1)) is None


def test_members_differ_in_seed_and_name_only():
    options = SeamOptions(seed=3, members=3, member_settings=())
    members = member_options(options)
    assert [m.seed for m in members] == [3, 4, 5]
    assert [m.name for m in members] == ["blend_seam_0", "blend_seam_1", "blend_seam_2"]
    assert all(dataclasses.replace(m, seed=3, name="blend_seam", members=3) == options for m in members)
    assert member_options(dataclasses.replace(options, members=1)) == [dataclasses.replace(options, members=1)]


def test_paired_stream_yields_each_face_then_its_self_blend(tmp_path):
    from cnn_detector.training.seam import example_stream

    rng = np.random.default_rng(0)
    pairs = []
    for k in range(3):  # three distinct synthetic faces
        face = np.full((120, 110, 3), 40 + 60 * k, np.uint8)
        face[25:95, 25:85] = rng.integers(100, 220, 3)
        ys, xs = np.mgrid[30:90:6, 30:80:5]
        landmarks = np.stack([xs.ravel(), ys.ravel(), np.zeros(xs.size)], 1).astype(np.float32)
        cv2.imwrite(str(tmp_path / f"{k}.png"), face)
        np.save(tmp_path / f"{k}.npy", np.concatenate([landmarks] * 5)[:468])
        pairs.append((tmp_path / f"{k}.png", tmp_path / f"{k}.npy"))
    options = SeamOptions(input_size=64, pretrained=None, paired=True)
    stream = example_stream(pairs, options, seed=0)
    items = [next(stream) for _ in range(8)]
    assert [float(t["image"][0]) for _, t in items] == [0.0, 1.0] * 4
    for (real, _), (fake, target) in zip(items[::2], items[1::2]):
        assert target["heatmap"].max() > 0.3
        # same face: the pair's corners (outside the blend) are closer than different faces' are
        assert abs(float(real[:8, :8].mean()) - float(fake[:8, :8].mean())) < 20
    unpaired = example_stream(pairs, dataclasses.replace(options, paired=False), seed=0)
    labels = [float(next(unpaired)[1]["image"][0]) for _ in range(40)]
    assert set(labels) == {0.0, 1.0} and labels != [0.0, 1.0] * 20  # one of the two at random


def test_set_reads_each_value_as_its_field_type():
    from cnn_detector.training.seam import with_overrides

    options = with_overrides(SeamOptions(), ["input_size=224", "processed_reals=0.5", "pool_decoder=true"])
    assert (options.input_size, options.processed_reals, options.pool_decoder) == (224, 0.5, True)
    assert with_overrides(SeamOptions(), ["pretrained=none"]).pretrained is None
    for bad in (["no_such_field=1"], ["input_size"], ["input_size=big"], ["pool_decoder=maybe"], ["input_size=100"]):
        try:
            with_overrides(SeamOptions(), bad)
        except ValueError as err:
            assert bad[0] in str(err) or "multiple of 32" in str(err)
        else:
            raise AssertionError(f"{bad} was accepted")


def test_member_settings_give_each_member_its_own_options():
    options = SeamOptions(
        pool_decoder=False, members=3, member_settings=("", "processed_reals=0.5", "seed=7,pool_decoder=true")
    )
    first, second, third = member_options(options)
    assert (first.seed, first.processed_reals, first.pool_decoder) == (0, 0.0, False)
    assert (second.seed, second.processed_reals, second.pool_decoder) == (1, 0.5, False)
    assert (third.seed, third.pool_decoder, third.name) == (7, True, "blend_seam_2")
    assert all(m.members == 1 and m.member_settings == () for m in (first, second, third))
    for bad in ({"members": 2, "member_settings": ("",)}, {"members": 1, "member_settings": ("input_size=224",)}):
        try:
            SeamOptions(**bad)
        except ValueError:
            pass
        else:
            raise AssertionError(f"{bad} was accepted")


def test_a_record_made_before_an_option_existed_counts_it_as_its_default(tmp_path):
    # what such a model trained with: batch norm frozen, no decoder pooling, no processed faces
    before = SeamOptions(
        input_size=64, pretrained=None, train_batchnorm=False, pool_decoder=False, members=1, member_settings=()
    )
    old = dataclasses.asdict(before)
    for later in ("processed_reals", "processed_outside", "pool_decoder", "train_batchnorm", "member_settings"):
        del old[later]
    old["name"] = "another_name"  # the name only labels the model in the graph
    (tmp_path / "best.weights.h5").write_bytes(b"weights")
    (tmp_path / "finished.json").write_text(json.dumps({"options": old, "history": [{"epoch": 1}]}))
    assert finished_training(tmp_path, before) == [{"epoch": 1}]
    # the same ImageNet weights file reached through another checkout's path is the same start
    old["pretrained"] = "/elsewhere/shared/weights/mobilenet_v2_0.5.h5"
    (tmp_path / "finished.json").write_text(json.dumps({"options": old, "history": [{"epoch": 1}]}))
    moved = dataclasses.replace(before, pretrained="/here/shared/weights/mobilenet_v2_0.5.h5")
    assert finished_training(tmp_path, moved) == [{"epoch": 1}]
    assert finished_training(tmp_path, dataclasses.replace(moved, pretrained="/here/other.h5")) is None
    # today's defaults train batch norm: the old record is not that training
    assert finished_training(tmp_path, dataclasses.replace(before, train_batchnorm=True)) is None
    assert finished_training(tmp_path, dataclasses.replace(before, processed_reals=0.5)) is None


def test_processed_reals_go_whole_through_the_blend_source_processing(monkeypatch):
    from cnn_detector.training.data import fakes

    face = np.full((200, 180, 3), 60, np.uint8)
    face[40:160, 40:140] = (180, 140, 120)
    ys, xs = np.mgrid[50:150:10, 50:130:8]
    landmarks = np.concatenate([np.stack([xs.ravel(), ys.ravel(), np.zeros(xs.size)], 1)] * 5)[:468].astype(np.float32)
    monkeypatch.setattr(fakes, "jittered_copy", lambda image, _landmarks, _rng: 255 - image)
    for share, expected in ((1.0, 255 - face), (0.0, face)):
        options = SeamOptions(input_size=96, processed_reals=share)
        image, target, label = make_example(face, landmarks, False, options, np.random.default_rng(0))
        assert label == 0.0 and not target.any()  # still a real face: no seam
        assert abs(float(image.mean()) - float(expected.mean())) < 8


def test_model_variants_build_and_keep_their_outputs():
    from cnn_detector.training.seam import build_seam_model

    pooled_inputs = {}
    for pool in (False, True):
        for batchnorm in (False, True):
            options = SeamOptions(input_size=64, pretrained=None, pool_decoder=pool, train_batchnorm=batchnorm)
            model, backbone = build_seam_model(options)
            outputs = model(np.zeros((2, 64, 64, 3), np.float32))
            assert outputs["image"].shape == (2, 1) and outputs["heatmap"].shape == (2, 16, 16, 1)
            norms = [layer for layer in backbone.layers if "BatchNormalization" in type(layer).__name__]
            assert norms and all(layer.trainable == batchnorm for layer in norms)
            pooled_inputs[pool] = model.get_layer("pooled").output.shape[-1]
    # decoder pooling adds the decoder's max- and mean-pooled channels to what the image logit reads
    assert pooled_inputs[True] - pooled_inputs[False] == 2 * SeamOptions().decoder_filters


def test_model_card_names_the_shared_and_each_members_own_settings():
    from cnn_detector.training.model_card import render_seam_card
    from cnn_detector.training.seam import member_options

    options = SeamOptions(
        train_batchnorm=True, members=2, member_settings=("", "processed_reals=0.5,processed_outside=0.3")
    )
    history = [{"epoch": 1, "backbone": "frozen", "image_loss": 0.7, "heatmap_loss": 0.2, "val_auc": 0.6}]
    member = {"seed": 0, "epochs": 1, "best_epoch": 1, "best_val_auc": 0.6, "seconds": 60.0, "history": history}
    training = {"members": [member, {**member, "seed": 1}], "val_auc": 0.61, "seconds": 130.0, "machine": "test"}
    summary = {"auc": 0.9, "recall_at_1pct_fpr": 0.5, "recall_at_0.1pct_fpr": 0.4, "face_size_only_auc": 0.5}
    metrics = {
        "overall": summary,
        "per_method": {"self_blend": {**summary, "own_method": True}},
        "per_real_folder": {},
        "box_ap50": {"self_blend": 0.8},
    }
    card = render_seam_card(options, member_options(options), metrics, training, {}, "python tools/train_seam.py")
    assert "with different seeds and settings" in card and "batch norm fine-tuned" in card
    assert "Model 1 of 2 (seed 0):" in card
    assert "Model 2 of 2 (seed 1; 50% of real faces passed whole" in card and "30% of blends made" in card
    assert "Which self-blends it misses" not in card  # no replayed draws: no section
    groups = [{"draw": "detail", "group": "sharpened", "fakes": 3, "auc": 0.75}]
    report = {"split": "test", "self_blends": 4, "replayed": 3, "reals": 5, "auc": 0.8, "groups": groups}
    card = render_seam_card(options, member_options(options), {**metrics, "blend_difficulty": report}, training, {}, "")
    assert "## Which self-blends it misses" in card
    assert "| blended copy blurred / sharpened / unchanged | sharpened | 3 | 0.750 |" in card


def test_blend_difficulty_replays_every_self_blend_and_groups_them(tiny_share_dir, tiny_factory, tmp_path, capsys):
    import csv

    from tools import blend_difficulty

    with open(tiny_factory / "index.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    split = max(("val", "test"), key=lambda s: sum(r["split"] == s and r["method"] == "self_blend" for r in rows))
    argv = ["--share", str(tiny_share_dir), "--factory", str(tiny_factory), "--split", split]
    assert blend_difficulty.main(argv + ["--json", str(tmp_path / "d.json")]) == 0
    report = json.loads((tmp_path / "d.json").read_text())
    assert report["self_blends"] > 0 and report["replayed"] == report["self_blends"]
    for draw in ("detail", "hue_shift", "jpeg_quality"):
        assert sum(g["fakes"] for g in report["groups"] if g["draw"] == draw) == report["replayed"]
    assert "| blended copy blurred / sharpened / unchanged |" in capsys.readouterr().out


def test_the_card_command_retrains_from_scratch():
    assert train_seam.from_scratch(["--members", "2", "--recover-from", "frozen_models/blend_seam", "-v"]) == [
        "--members",
        "2",
        "-v",
    ]
    assert train_seam.from_scratch(["--recover-from=x", "--set", "restart_epochs=40"]) == ["--set", "restart_epochs=40"]
