"""The on-device reference runner, tools/tflite_scan.py, in a venv of requirements-tflite.txt
alone (no TensorFlow): the verdict columns of main_thread.py, and its probabilities within 0.02
of the frozen-graph path on the bundled samples, images and videos."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cnn_detector.registry import PROJECT_ROOT
from tests.conftest import FRAME_DETECTORS

pytestmark = pytest.mark.slow  # builds a venv (pip, from the package registry)


@pytest.fixture(scope="module")
def light_python(tmp_path_factory) -> Path:
    venv = tmp_path_factory.mktemp("tflite_venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = [str(python), "-m", "pip", "install", "-q", "-r", str(PROJECT_ROOT / "requirements-tflite.txt")]
    subprocess.run(install, check=True, timeout=900)
    return python


def _rows(text: str) -> dict[str, dict]:
    return {row["source"]: row for row in csv.DictReader(io.StringIO(text))}


def test_the_runner_needs_no_tensorflow_and_gives_the_frozen_paths_verdicts(light_python, tflite_models, capsys):
    check = subprocess.run([str(light_python), "-c", "import tensorflow"], capture_output=True, text=True)
    assert check.returncode != 0 and "No module named 'tensorflow'" in check.stderr
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    run = subprocess.run(
        [
            str(light_python),
            "tools/tflite_scan.py",
            "--models",
            str(tflite_models),
            "--input",
            "samples",
            "--no-progress",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    got = _rows(run.stdout)

    from deepfake_scanner.cli import main_thread

    only = ",".join(FRAME_DETECTORS)
    arguments = ["--input", "samples", "--only-detectors", only, "--no-provenance", "--no-progress"]
    old = os.getcwd()
    os.chdir(PROJECT_ROOT)
    try:
        assert main_thread.main(arguments) == 0
    finally:
        os.chdir(old)
    expected = _rows(capsys.readouterr().out)
    assert len(got) == 9 and got.keys() == expected.keys()
    assert list(next(iter(got.values()))) == list(next(iter(expected.values())))  # the same columns
    for source, row in got.items():
        assert row["status"] == expected[source]["status"] == "ok", source
        assert abs(float(row["fake_probability"]) - float(expected[source]["fake_probability"])) <= 0.02, source
        assert row["is_fake"] == expected[source]["is_fake"] and row["detectors"] == expected[source]["detectors"]


def test_the_runner_names_a_missing_model_folder(light_python, tmp_path):
    run = subprocess.run(
        [str(light_python), "tools/tflite_scan.py", "--models", str(tmp_path / "nothing"), "--input", "samples"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1
    assert "nothing: not a TFLite model folder" in run.stderr and "export_tflite.py --models-only" in run.stderr
