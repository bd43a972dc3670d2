"""What the av_sync detector learns from: the share's real videos, cut as the scan cuts them.

Per video (`video_clips`): the main face's clips (`CLIP_FRAMES` frames, 112 px, the engine's
tracker and clip cutter), the whole audio track at 16 kHz mono, and per clip frame the mouth
opening that MediaPipe's face mesh measures on the crop itself (inner-lip gap over face height):
the label of the small mouth net, so the frozen graph needs no mesh. No fakes: the sync
classifier's positives are the same clips with their audio taken from elsewhere (`offered_audio`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnn_detector.atomic_file import atomic_writer
from deepfake_scanner.share import ShareItem

log = logging.getLogger(__name__)

CLIP_FRAMES = 32  # about 1.1-1.3 s: room for an offset search inside one clip
SAMPLES_PER_FRAME = 640  # the clip's audio, stretched to 25 fps worth of 16 kHz samples per frame
AUDIO_SAMPLES = CLIP_FRAMES * SAMPLES_PER_FRAME
UPPER_LIP, LOWER_LIP, BROW, CHIN = 13, 14, 10, 152  # face-mesh points
# Where the face box sits in a clip crop (the engine expands it by CLIP_MARGIN on each side).
FACE_IN_CROP = 0.15 / 1.3


@dataclass
class VideoClips:
    name: str
    split: str
    fps: float
    starts_s: np.ndarray  # [N] where each clip starts in the video
    clips: np.ndarray  # uint8 [N, T, 112, 112, 3]
    mouth: np.ndarray  # float32 [N, T] mouth opening, NaN where the mesh lost the face
    audio: np.ndarray  # float32 [samples] the whole track at 16 kHz (empty without one)

    @property
    def has_speech(self) -> bool:
        return len(self.audio) > 0 and float(np.std(self.audio)) > 1e-3


def mouth_opening(crop: np.ndarray, mesh) -> float:
    """The inner-lip gap over the brow-to-chin height, by the face mesh on a clip crop; NaN
    when the mesh does not find the face."""
    inner = (FACE_IN_CROP, FACE_IN_CROP, 1 - FACE_IN_CROP, 1 - FACE_IN_CROP)
    points, presence = mesh.landmarks(crop, inner)
    if presence < 0.5:
        return float("nan")
    height = np.linalg.norm(points[BROW, :2] - points[CHIN, :2])
    return float(np.linalg.norm(points[UPPER_LIP, :2] - points[LOWER_LIP, :2]) / max(height, 1e-6))


def clip_audio(audio: np.ndarray, start_s: float, fps: float, frames: int = CLIP_FRAMES) -> np.ndarray:
    """The audio of a clip starting at ``start_s``, fitted to ``frames`` x SAMPLES_PER_FRAME
    samples as the engine fits it (zeros past the end of the track)."""
    from deepfake_scanner.audio import AUDIO_RATE
    from deepfake_scanner.engine import _fit

    first = int(round(start_s * AUDIO_RATE))
    span = audio[first : first + int(round(frames / fps * AUDIO_RATE))]
    return _fit(span, frames * SAMPLES_PER_FRAME)


def video_clips(item: ShareItem, finder, mesh) -> VideoClips:
    from cnn_detector.training.temporal.dataset import main_face_clips
    from deepfake_scanner.audio import open_audio

    clips, fps = main_face_clips(item.path, finder, CLIP_FRAMES)
    track = open_audio(item.path)
    audio = track.span(0.0, min(track.duration_s or 600.0, 600.0)) if track else np.zeros(0, np.float32)
    frames = np.stack([c.frames for c in clips]) if clips else np.zeros((0, CLIP_FRAMES, 112, 112, 3), np.uint8)
    mouth = np.array([[mouth_opening(f, mesh) for f in c.frames] for c in clips], np.float32).reshape(-1, CLIP_FRAMES)
    starts = np.array([c.start_ms / 1000.0 for c in clips], np.float32)
    return VideoClips(item.path.name, item.split, fps, starts, frames, mouth, audio)


def save(path: Path, video: VideoClips) -> None:
    with atomic_writer(path, "wb", encoding=None) as handle:
        np.savez(handle, **{k: np.asarray(v) for k, v in video.__dict__.items()})


def load(path: Path) -> VideoClips:
    with np.load(path) as data:
        values = {k: data[k] for k in data.files}
    return VideoClips(str(values.pop("name")), str(values.pop("split")), float(values.pop("fps")), **values)


def build(items: list[ShareItem], out_dir: Path) -> list[VideoClips]:
    """Every real share video's `VideoClips`, cached in ``out_dir`` (made once: about a minute)."""
    from deepfake_scanner.faces import FaceFinder, FaceMesh

    out_dir.mkdir(parents=True, exist_ok=True)
    finder = mesh = None
    videos = []
    for item in sorted((i for i in items if i.is_video and i.label == "real"), key=lambda i: i.relative):
        path = out_dir / f"{item.relative.replace('/', '_')}.npz"
        if not path.is_file():
            finder, mesh = finder or FaceFinder(), mesh or FaceMesh()
            save(path, video_clips(item, finder, mesh))
            log.info("%s: clips cached", item.relative)
        videos.append(load(path))
    return videos


def offered_audio(
    videos: list[VideoClips], rng: np.random.Generator, min_shift_s: float = 0.6, max_shift_s: float = 3.0
) -> tuple[list[np.ndarray], list[np.ndarray], list[str]]:
    """For every clip of ``videos`` with speech: its own audio (label 0), and audio it was not
    filmed with (label 1): the same track shifted by ``min_shift_s``..``max_shift_s`` seconds, or
    another video's track. Returns (audio [N, S], labels, how) per video."""
    from deepfake_scanner.audio import AUDIO_RATE

    speaking = [v for v in videos if v.has_speech]
    audios, labels, hows = [], [], []
    for video in speaking:
        rows, ys, how = [], [], []
        duration = len(video.audio) / AUDIO_RATE
        for start in video.starts_s:
            rows.append(clip_audio(video.audio, start, video.fps))
            ys.append(0)
            how.append("in sync")
            shift = rng.uniform(min_shift_s, max_shift_s) * rng.choice([-1, 1])
            moved = (start + shift) % max(duration - CLIP_FRAMES / video.fps, 1e-3)
            rows.append(clip_audio(video.audio, moved, video.fps))
            ys.append(1)
            how.append("shifted")
            others = [v for v in speaking if v is not video]
            if others:
                other = others[rng.integers(len(others))]
                span = max(len(other.audio) / AUDIO_RATE - CLIP_FRAMES / video.fps, 1e-3)
                rows.append(clip_audio(other.audio, rng.uniform(0, span), video.fps))
                ys.append(1)
                how.append("swapped")
        audios.append(np.stack(rows) if rows else np.zeros((0, AUDIO_SAMPLES), np.float32))
        labels.append(np.array(ys, np.int32))
        hows.append(np.array(how))
    return audios, labels, hows
