"""Spike (issue 22, part 4): does mouth opening follow the audio on real speech, and less so when
the audio is shifted? And where do wild/'s talking heads sit? No training, no fakes.

Per video (first 10 s): every frame decoded, the face found every 5th frame, the face mesh's
inner-lip gap (points 13-14) over the face height (10-152) on every frame; the audio's RMS per
frame (16 kHz mono); sync = the best Pearson correlation of the two over offsets of -5..5 frames.
Control: the same video with its audio rolled by 2 s (out of sync, same statistics).

    python docs/experiments/av_sync_spike/sync.py > docs/experiments/av_sync_spike/results.csv
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

from deepfake_evaluation.metrics import roc_auc
from deepfake_scanner.audio import open_audio
from deepfake_scanner.defaults import SHARE_DIR
from deepfake_scanner.faces import FaceFinder, FaceMesh
from deepfake_scanner.video import VideoFrames

SECONDS = 10.0
OFFSETS = range(-5, 6)


def mouth_series(path: Path, finder: FaceFinder, mesh: FaceMesh) -> tuple[np.ndarray, float]:
    video = VideoFrames(path, fps=5.0, max_frames=10_000)
    gaps, box = [], None
    for frame, _ in video.every_frame():
        if frame.timestamp_ms > SECONDS * 1000:
            break
        if box is None or frame.index % 5 == 0:
            faces = finder.find(frame.image)
            box = faces[0] if faces else box
        if box is None:
            gaps.append(np.nan)
            continue
        points, presence = mesh.landmarks(frame.image, box)
        height = np.linalg.norm(points[10, :2] - points[152, :2])
        gaps.append(np.linalg.norm(points[13, :2] - points[14, :2]) / height if presence > 0.5 and height > 0 else np.nan)
    return np.array(gaps, np.float64), video.native_fps


def audio_series(path: Path, frames: int, fps: float, roll_s: float = 0.0) -> np.ndarray | None:
    track = open_audio(path)
    if track is None:
        return None
    samples = track.span(0.0, min(SECONDS, frames / fps) + 0.5)
    if roll_s:
        samples = np.roll(samples, int(roll_s * 16_000))
    hop = 16_000 / fps
    return np.array(
        [np.sqrt(np.mean(samples[int(i * hop) : int((i + 1) * hop)] ** 2) + 1e-8) for i in range(frames)]
    )


def best_sync(mouth: np.ndarray, sound: np.ndarray) -> tuple[float, int]:
    best = (-1.0, 0)
    for offset in OFFSETS:
        a = mouth[max(0, offset) : len(mouth) + min(0, offset)]
        b = sound[max(0, -offset) : len(sound) + min(0, -offset)]
        keep = ~np.isnan(a) & ~np.isnan(b)
        if keep.sum() < 20 or a[keep].std() == 0 or b[keep].std() == 0:
            continue
        r = float(np.corrcoef(a[keep], np.log(b[keep]))[0, 1])
        best = max(best, (r, offset))
    return best


def main() -> int:
    finder, mesh = FaceFinder(), FaceMesh()
    groups = {
        "share real": sorted((SHARE_DIR / "videos" / "real").rglob("*.mp4")),
        "wild real": sorted((SHARE_DIR / "wild" / "videos" / "real").rglob("*.mp4")),
        "wild talking head": sorted((SHARE_DIR / "wild" / "videos" / "fake").rglob("*.mp4")),
    }
    out = csv.writer(sys.stdout)
    out.writerow(["group", "video", "frames", "sync", "offset", "shifted_sync"])
    rows = []
    for group, paths in groups.items():
        for path in paths:
            mouth, fps = mouth_series(path, finder, mesh)
            sound = audio_series(path, len(mouth), fps)
            if sound is None:
                continue  # no audio: nothing to compare the mouth with
            shifted = audio_series(path, len(mouth), fps, roll_s=2.0)
            sync, offset = best_sync(mouth, sound)
            control, _ = best_sync(mouth, shifted)
            rows.append((group, sync, control))
            out.writerow([group, path.name, len(mouth), f"{sync:.3f}", offset, f"{control:.3f}"])
    real = [r for r in rows if r[0] == "share real"]
    print(
        f"# share real, in sync vs shifted: AUC {roc_auc([1] * len(real) + [0] * len(real), [r[1] for r in real] + [r[2] for r in real]):.3f}",
        file=sys.stderr,
    )
    wild_real = [r[1] for r in rows if r[0] == "wild real"]
    heads = [r[1] for r in rows if r[0] == "wild talking head"]
    if wild_real and heads:
        auc = roc_auc([0] * len(wild_real) + [1] * len(heads), [-s for s in wild_real + heads])
        print(f"# wild: talking heads scored by lower sync: AUC {auc:.3f} ({len(heads)} vs {len(wild_real)})", file=sys.stderr)
    for group in groups:
        values = [r[1] for r in rows if r[0] == group]
        if values:
            print(f"# {group}: sync median {np.median(values):.3f} (n={len(values)})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
