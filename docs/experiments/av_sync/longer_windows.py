"""av_sync's cue on longer windows (issue 22; README here): the face mesh's mouth openings of
the clips `tools/train_av_sync.py` caches, against the speech-band (300-3000 Hz) log loudness,
both smoothed; windows of WINDOW frames every 15 frames, each with its own audio (0) and with
audio shifted by 18-90 frames (1); leave-one-video-out AUC of a logistic on the features and of
the zero-offset correlation alone.

    python docs/experiments/av_sync/longer_windows.py WINDOW SMOOTH     # e.g. 64 5
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import scipy.signal

from cnn_detector.training.av_sync.data import load
from cnn_detector.training.av_sync.model import Logistic
from deepfake_evaluation.metrics import roc_auc

CLIPS = Path("work_data/av_sync/clips")


def smooth(x: np.ndarray, width: int) -> np.ndarray:
    return np.convolve(x, np.ones(width) / width, "same") if width > 1 else x


def standard(x: np.ndarray) -> np.ndarray:
    x = x - x.mean()
    return x / (x.std() + 1e-6)


def series(video) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame mouth opening (from the overlapping clips) and speech-band log loudness."""
    starts = np.round(video.starts_s * video.fps).astype(int)
    opening = np.full(starts.max() + video.mouth.shape[1], np.nan)
    for start, values in zip(starts, video.mouth):
        span = opening[start : start + len(values)]
        opening[start : start + len(values)] = np.where(np.isnan(span), values, span)
    b, a = scipy.signal.butter(4, [300 / 8000, 3000 / 8000], "band")
    audio = scipy.signal.filtfilt(b, a, video.audio)
    per_frame = 16000 / video.fps
    frames = int(len(audio) / per_frame)
    chunks = [audio[int(i * per_frame) : int((i + 1) * per_frame)] for i in range(frames)]
    loudness = np.log(np.sqrt([np.mean(c**2) for c in chunks]) + 1e-4)
    return np.nan_to_num(opening, nan=np.nanmean(opening)), loudness


def features(opening: np.ndarray, loudness: np.ndarray, width: int) -> list[float]:
    opening, loudness = smooth(opening, width), smooth(loudness, width)
    by_offset = []
    for k in range(-6, 7):
        a, b = (opening[: len(opening) - k], loudness[k:]) if k >= 0 else (opening[-k:], loudness[: len(loudness) + k])
        by_offset.append(float(np.mean(standard(a) * standard(b))))
    return [
        by_offset[6],
        max(by_offset),
        float(np.mean(by_offset)),
        np.log(opening.std() + 1e-3),
        loudness.std(),
        loudness.max(),
    ]


def main(window: int, width: int) -> None:
    rng = np.random.default_rng(0)
    rows = []
    for path in sorted(CLIPS.glob("*.npz")):
        video = load(path)
        if not video.has_speech or len(video.clips) < 3:
            continue
        opening, loudness = series(video)
        for start in range(0, min(len(opening), len(loudness)) - window, 15):
            rows.append(
                (video.name, 0, features(opening[start : start + window], loudness[start : start + window], width))
            )
            moved = (start + rng.integers(18, 90) * rng.choice([-1, 1])) % (len(loudness) - window)
            rows.append(
                (video.name, 1, features(opening[start : start + window], loudness[moved : moved + window], width))
            )
    x = np.array([r[2] for r in rows])
    y = np.array([r[1] for r in rows])
    names = np.array([r[0] for r in rows])
    held = np.zeros(len(y))
    for name in sorted(set(names)):
        mask = names == name
        held[mask] = Logistic.fit(x[~mask], y[~mask]).predict(x[mask])
    sync = roc_auc(y, -x[:, 0])
    print(f"window {window}, smoothing {width}: logistic {roc_auc(y, held):.3f}, zero-offset sync {sync:.3f}")


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
