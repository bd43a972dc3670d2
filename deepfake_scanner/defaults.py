"""Every default the scanner's entry points share, in one place: the CLIs, the library, the
trainers, the evaluation and the benches read them from here.

Paths are those of a checkout (or an editable install): the shipped detectors and judge sit
beside the packages, the training share beside the project (``../shared``). A non-editable
install passes its own folders (``Scanner.open(detector_dirs=..., judge_dir=...)``).
"""

from __future__ import annotations

from cnn_detector.registry import DEFAULT_DETECTORS_ROOT, DETECTORS_ENV, PROJECT_ROOT
from rnn_judge.judge import DEFAULT_JUDGE_DIR

# Frame sampling of videos: frames per second of media time, and at most this many per video
# (a longer video has its budget spread over all of it).
FPS = 2.0
MAX_FRAMES = 120
# tools/evaluate.py reads at most this many frames per video: half the scan's budget, for
# time (a video's verdict moves little past 60 frames); the README's results were measured so.
EVALUATION_MAX_FRAMES = 60
# detect_video.py writes every frame and analyses this many per second, at most
# ANNOTATION_MAX_FRAMES of them (spread over a longer video).
ANNOTATION_FPS = 5.0
ANNOTATION_MAX_FRAMES = 600
# Images per TensorFlow call.
BATCH_SIZE = 8

DETECTORS_DIR = DEFAULT_DETECTORS_ROOT
JUDGE_DIR = DEFAULT_JUDGE_DIR
SAMPLES_DIR = PROJECT_ROOT / "samples"
SAMPLE_VIDEO = SAMPLES_DIR / "videos" / "fake_face_swap_hamilton.mp4"
SHARE_DIR = PROJECT_ROOT.parent / "shared" / "data"
WILD_DIR = SHARE_DIR / "wild"
WEIGHTS_DIR = PROJECT_ROOT.parent / "shared" / "weights"
# What the tools make (factory data, training runs, reports): never committed.
WORK_DIR = PROJECT_ROOT / "work_data"

__all__ = [
    "ANNOTATION_FPS",
    "ANNOTATION_MAX_FRAMES",
    "BATCH_SIZE",
    "DETECTORS_DIR",
    "DETECTORS_ENV",
    "EVALUATION_MAX_FRAMES",
    "FPS",
    "JUDGE_DIR",
    "MAX_FRAMES",
    "PROJECT_ROOT",
    "SAMPLES_DIR",
    "SAMPLE_VIDEO",
    "SHARE_DIR",
    "WEIGHTS_DIR",
    "WILD_DIR",
    "WORK_DIR",
]
