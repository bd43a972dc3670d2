"""Shared fixtures: real OD-API graphs built once per session, detector directories per test."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from cnn_detector.detector_dir import write_detector_directory  # noqa: E402
from cnn_detector.registry import DETECTORS_ENV  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
RED = (255, 0, 0)
BLUE = (0, 0, 255)


def pytest_collection_modifyitems(config, items):
    """Longest tests first, dealt alternately into the two halves that pytest-xdist's worksteal
    hands its two workers at the start (./run.sh test): each worker begins with its share of the
    heavy and slow tests instead of one worker ending the run alone with two of them. Stable,
    so every worker collects the same order."""

    def weight(item) -> int:
        return 2 if item.get_closest_marker("heavy") else 1 if item.get_closest_marker("slow") else 0

    ranked = sorted(items, key=weight, reverse=True)
    halves: tuple[list, list] = ([], [])
    for position, item in enumerate(i for i in ranked if weight(i)):
        halves[position % 2].append(item)
    fast = [i for i in ranked if not weight(i)]
    room = max(0, (len(items) + 1) // 2 - len(halves[0]))
    items[:] = halves[0] + fast[:room] + halves[1] + fast[room:]


@pytest.fixture(autouse=True)
def _no_environment_detectors(monkeypatch):
    """Tests see only the detectors they ask for, whatever the developer's environment says."""
    monkeypatch.delenv(DETECTORS_ENV, raising=False)


@pytest.fixture(scope="session")
def tf1_graph() -> bytes:
    from tests.graphs import build_tf1_colour_graph

    return build_tf1_colour_graph(colours=(RED, BLUE))


@pytest.fixture(scope="session")
def tf2_graph() -> bytes:
    from tests.graphs import build_tf2_colour_graph

    return build_tf2_colour_graph(colours=(RED, BLUE))


COLOUR_CLASSES = [(1, "red_patch", "Red patch"), (2, "blue_patch", "Blue patch")]


@pytest.fixture
def make_detector(tmp_path):
    """make_detector(dirname, graph, root=None, **manifest_fields) -> detector directory."""

    def make(dirname: str, graph: bytes, root: Path | None = None, classes=COLOUR_CLASSES, **fields) -> Path:
        return write_detector_directory((root or tmp_path / "detectors") / dirname, graph, classes, **fields)

    return make


def red_square_image(height: int = 120, width: int = 160, box=(30, 40, 90, 100)) -> np.ndarray:
    """A grey RGB image with a red square at pixel box (y0, x0, y1, x1)."""
    image = np.full((height, width, 3), 128, np.uint8)
    y0, x0, y1, x1 = box
    image[y0:y1, x0:x1] = RED
    return image


@pytest.fixture(scope="session")
def random_judge_dir(tmp_path_factory):
    """A judge directory with untrained weights: for the mechanics of the pipeline, not its numbers."""
    from rnn_judge.features import NUM_FEATURES
    from rnn_judge.judge import Judge
    from rnn_judge.model import JudgeConfig

    directory = tmp_path_factory.mktemp("judge")
    Judge(JudgeConfig(num_features=NUM_FEATURES), threshold=0.5).save(directory)
    return directory


@pytest.fixture
def colour_detector_args(tmp_path, make_detector, tf1_graph, random_judge_dir) -> list[str]:
    """Command-line options for one TF1 colour-patch detector and the untrained judge."""
    make_detector("colour", tf1_graph, min_score=0.3)
    return ["--detectors", str(tmp_path / "detectors"), "--only-detectors", "colour", "--judge", str(random_judge_dir)]


@pytest.fixture
def colour_args(colour_detector_args) -> list[str]:
    """main_thread.py options: the colour detector, no progress bar, short videos."""
    return [*colour_detector_args, "--no-progress", "--max-frames", "4"]


@pytest.fixture(scope="session")
def tflite_models(tmp_path_factory) -> Path:
    """A float16 TFLite model folder of the shipped frame detectors and judge, as
    tools/export_tflite.py --models-only writes it (detectors/, judge/)."""
    from tools.export_tflite import write_models

    return write_models(tmp_path_factory.mktemp("tflite") / "float16", "float16", factory=Path("unused"))


FRAME_DETECTORS = ("blend_boundary", "blend_seam", "diffusion_face", "gan_face", "upsampling")
