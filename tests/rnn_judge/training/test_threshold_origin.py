"""The judge's card and the README say where its threshold came from: its validation split at
training, or calibrate_judge.py --write on thousands of real inputs (judge.yaml records which)."""

from rnn_judge.training.run import threshold_origin


def test_a_trained_threshold_names_the_validation_split():
    text = threshold_origin({"target_fpr": 0.01})
    assert "judge validation split" in text and "1.0%" in text


def test_a_calibrated_threshold_names_its_command_and_real_inputs():
    calibration = {
        "command": "python tools/calibrate_judge.py --write",
        "reals": {"crop": 334, "old_photo": 519, "photos": 295},
        "target_fpr": 0.01,
    }
    text = threshold_origin({"target_fpr": 0.01, "threshold_calibration": calibration})
    assert "1,148 real inputs" in text and "`python tools/calibrate_judge.py --write`" in text
    assert "519 old photo" in text and "validation split" not in text
