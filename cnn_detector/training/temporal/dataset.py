"""Clips for the temporal detector, cut as the scan cuts them.

Every training video, real or fake, is made the same way: a window of a share video's frames
(real, or turned into one of `clip_fakes.KINDS`), flipped and sped up at random, scaled to a
random size and encoded with H.264 at a random quality (PyAV), then read back by the engine's
own path (`VideoFrames`, BlazeFace at the scan's 2 fps, `track_faces`, `track_clips`). Reals
and fakes share every step but the manipulation, so size, codec and frame rate tell nothing.

Splits follow the share's (by video; pictures by their own group): fakes made from a video's
frames inherit its split, and a picture animates only drivers of its own split.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from cnn_detector.atomic_file import atomic_write_text, atomic_writer
from cnn_detector.types import FrameDetections
from deepfake_scanner.crops import box_area
from deepfake_scanner.faces import FaceFinder, FaceMesh
from deepfake_scanner.share import ShareItem

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

WINDOW_SECONDS = 3.0
MAX_SIDE = 512  # frames are read at most this big (the generated videos are smaller still)
OUTPUT_SIDES = (224, 640)  # every encoded video's longest side is drawn from this range
CRF = (18, 36)
CLIP_LENGTH = 16
CLIP_SIZE = 112


@dataclass(frozen=True)
class ClipSet:
    """The clips of one encoded video: uint8 [N, T, S, S, 3], with where they came from."""

    clips: np.ndarray
    label: int  # 1 fake
    kind: str  # "real" or a clip_fakes kind
    source: str  # the share video (and picture) it was made from
    split: str
    video: Path | None = None  # the encoded video, where it was kept


def read_video(path: Path, max_side: int = MAX_SIDE) -> tuple[list[np.ndarray], float]:
    """Every frame (RGB, longest side at most ``max_side``) and the frame rate."""
    capture = cv2.VideoCapture(str(path))
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        scale = max_side / max(frame.shape[:2])
        if scale < 1.0:
            frame = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    capture.release()
    return frames, float(fps)


def mesh_track(frames: list[np.ndarray], finder: FaceFinder, mesh: FaceMesh, every: int = 5) -> np.ndarray | None:
    """[T, 468, 3] face-mesh points of the largest face on every frame (found again every
    ``every`` frames, else followed from the last mesh), lightly smoothed over time; None when
    a frame loses the face."""
    points, box = [], None
    height, width = frames[0].shape[:2]
    for t, frame in enumerate(frames):
        if box is None or t % every == 0:
            faces = finder.find(frame)
            if faces:
                box = max(faces, key=box_area)
        if box is None:
            return None
        pts, presence = mesh.landmarks(frame, box)
        if presence < 0.5:
            return None
        points.append(pts)
        x0, y0 = pts[:, :2].min(0)
        x1, y1 = pts[:, :2].max(0)
        box = (max(0.0, y0 / height), max(0.0, x0 / width), min(1.0, y1 / height), min(1.0, x1 / width))
    track = np.stack(points)
    smooth = track.copy()
    smooth[1:-1] = (track[:-2] + 2 * track[1:-1] + track[2:]) / 4
    return smooth


def picture_points(image: np.ndarray, finder: FaceFinder, mesh: FaceMesh) -> np.ndarray | None:
    faces = finder.find(image)
    if not faces:
        return None
    pts, presence = mesh.landmarks(image, max(faces, key=box_area))
    return pts if presence >= 0.5 else None


def load_picture(item: ShareItem, finder: FaceFinder, mesh: FaceMesh, max_side: int = MAX_SIDE):
    image = cv2.imread(str(item.path), cv2.IMREAD_COLOR)
    if image is None or min(image.shape[:2]) < 96:
        return None
    scale = max_side / max(image.shape[:2])
    if scale < 1.0:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    points = picture_points(image, finder, mesh)
    return None if points is None else (image, points)


def augment_timing(frames: list[np.ndarray], fps: float, rng: np.random.Generator) -> tuple[list[np.ndarray], float]:
    """Class-blind changes of the window: a horizontal flip, and a speed change (every other
    frame kept at the same rate, or the rate itself changed) at random."""
    if rng.random() < 0.5:
        frames = [np.ascontiguousarray(f[:, ::-1]) for f in frames]
    draw = rng.random()
    if draw < 0.2:
        frames = frames[::2]
    elif draw < 0.4:
        fps = float(rng.choice([24.0, 25.0, 30.0]))
    return frames, fps


def encode(frames: list[np.ndarray], fps: float, path: Path, rng: np.random.Generator) -> None:
    """H.264 (yuv420p) at a random size and CRF, as sharing sites re-encode."""
    height, width = frames[0].shape[:2]
    side = int(rng.integers(*OUTPUT_SIDES))
    scale = min(1.0, side / max(height, width))
    w, h = max(16, int(width * scale) // 2 * 2), max(16, int(height * scale) // 2 * 2)
    resized = (cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA) for image in frames)
    write_h264(resized, str(path), (w, h), fps, int(rng.integers(*CRF)))


def write_h264(
    frames, target, size: tuple[int, int], fps: float, crf: int, container_format: str | None = None
) -> None:
    """RGB uint8 ``frames`` of ``size`` (width, height) as H.264 (yuv420p, x264 veryfast) at
    ``crf`` into ``target`` (a path, or a file object with ``container_format``)."""
    import av

    with av.open(target, "w", format=container_format) as container:
        stream = container.add_stream("libx264", rate=Fraction(round(fps * 1000), 1000))
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.options = {"crf": str(crf), "preset": "veryfast"}
        for image in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def main_track(tracks: list) -> object:
    """The person the fakes change: the largest face (mesh_track's) over the whole video, by box
    area summed over the track, so a long track beats a large face seen once."""
    return max(tracks, key=lambda t: sum(box_area(f.box) for f in t.faces))


def main_face_clips(
    path: Path, finder: FaceFinder, length: int = CLIP_LENGTH, main_face_only: bool = True
) -> tuple[list, float]:
    """The clips (`deepfake_scanner.tracks.Clip`) the engine's clip stage cuts from ``path``, of
    the main (largest) face's track only with ``main_face_only``, and the video's frame rate."""
    from deepfake_scanner.defaults import FPS, MAX_FRAMES
    from deepfake_scanner.tracks import track_clips, track_faces
    from deepfake_scanner.video import VideoFrames

    sampled = []
    for frame in VideoFrames(path, fps=FPS, max_frames=MAX_FRAMES):
        height, width = frame.image.shape[:2]
        sampled.append(
            FrameDetections(
                str(path), frame.index, frame.timestamp_ms, (height, width), tuple(finder.find(frame.image)), ()
            )
        )
    tracks = track_faces(sampled)
    if main_face_only and tracks:
        tracks = [main_track(tracks)]
    video = VideoFrames(path, fps=FPS, max_frames=MAX_FRAMES)
    clips = list(track_clips(video, tracks, length, CLIP_SIZE))
    return clips, video.native_fps


def scan_clips(path: Path, finder: FaceFinder, main_face_only: bool) -> np.ndarray:
    """The clips the engine's clip stage cuts from ``path`` (uint8 [N, T, S, S, 3])."""
    clips = [c.frames for c in main_face_clips(path, finder, CLIP_LENGTH, main_face_only)[0]]
    return np.stack(clips) if clips else np.zeros((0, CLIP_LENGTH, CLIP_SIZE, CLIP_SIZE, 3), np.uint8)


def encoded_clips(frames, fps, rng, finder, keep: Path | None = None) -> np.ndarray:
    """The clips of ``frames`` once timing-augmented and encoded (`augment_timing`, `encode`),
    of the main (largest) face only, for reals and fakes alike; with ``keep``, the encoded video
    is kept there (held-out videos, for tools/evaluate.py)."""
    frames, fps = augment_timing(frames, fps, rng)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.mp4"
        encode(frames, fps, path, rng)
        clips = scan_clips(path, finder, main_face_only=True)
        if keep is not None:
            keep.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(path, keep)
        return clips


def _window_starts(count: int, fps: float, stride_seconds: float) -> list[int]:
    length = int(WINDOW_SECONDS * fps)
    if count < length:
        return [0] if count >= CLIP_LENGTH * 2 else []
    return list(range(0, count - length + 1, max(1, int(stride_seconds * fps))))


def video_clip_sets(
    item: ShareItem,
    pictures: list,
    seed: int,
    stride_seconds: float = 1.0,
    reals_per_window: int = 2,
    fakes_per_window: int = 2,
    keep_videos: Path | None = None,
):
    """ClipSets of one share video: per window (WINDOW_SECONDS, every ``stride_seconds``),
    ``reals_per_window`` encodings of the real frames and ``fakes_per_window`` fakes of kinds
    drawn in turn; ``pictures`` ((image, points) of the video's split) feed animated and
    swapped faces. With ``keep_videos``, each encoded video is kept in that folder, named by
    the video, window, kind and a count (``ClipSet.video``)."""
    from cnn_detector.training.data.factory import item_rng
    from cnn_detector.training.temporal.clip_fakes import KINDS, MAKERS

    finder, mesh = FaceFinder(), FaceMesh()
    frames, fps = read_video(item.path)
    length = int(WINDOW_SECONDS * fps)
    rng = item_rng(seed, item.relative)
    turn = int(rng.integers(len(KINDS)))
    stem = file_stem(item)
    made = 0

    def kept(kind: str) -> Path | None:
        nonlocal made
        made += 1
        return None if keep_videos is None else keep_videos / f"{stem}_{made:03d}_{kind}.mp4"

    for w, start in enumerate(_window_starts(len(frames), fps, stride_seconds)):
        window = frames[start : start + length]
        for _ in range(reals_per_window):
            video = kept("real")
            clips = encoded_clips(window, fps, rng, finder, keep=video)
            if len(clips):
                yield ClipSet(clips, 0, "real", f"{item.relative}#{start}", item.split, video)
        points = mesh_track(window, finder, mesh)
        if points is None:
            log.info("%s: window at frame %d loses the face; no fakes from it", item.relative, start)
            continue
        for _ in range(fakes_per_window):
            kind = KINDS[turn % len(KINDS)]
            turn += 1
            picture, picture_pts, source = None, None, item.relative
            if kind == "flicker_swap" and not pictures:
                continue  # no donor face in this split
            if pictures and (kind == "flicker_swap" or (kind == "animated" and rng.random() < 0.5)):
                picture, picture_pts, name = pictures[int(rng.integers(len(pictures)))]
                source = f"{item.relative}+{name}"
            try:
                fake = MAKERS[kind](window, points, rng, picture=picture, picture_points=picture_pts)
            except ValueError as err:
                log.info("%s: %s failed: %s", item.relative, kind, err)
                continue
            video = kept(kind)
            clips = encoded_clips(fake, fps, rng, finder, keep=video)
            if len(clips):
                yield ClipSet(clips, 1, kind, f"{source}#{start}", item.split, video)
        log.info("%s: window %d done", item.relative, w)


def split_pictures(items: list[ShareItem], split: str, limit: int, seed: int) -> list:
    """Up to ``limit`` real photos of ``split`` with a face the mesh reads: (image, points, name)."""
    finder, mesh = FaceFinder(), FaceMesh()
    rng = np.random.default_rng(seed)
    candidates = [
        i for i in items if i.label == "real" and not i.is_video and i.split == split and "att_orl" not in i.folder
    ]
    chosen = []
    for k in rng.permutation(len(candidates)):
        loaded = load_picture(candidates[k], finder, mesh)
        if loaded is not None:
            chosen.append((*loaded, candidates[k].relative))
        if len(chosen) >= limit:
            break
    return chosen


def file_stem(item: ShareItem) -> str:
    """The share path as one file name (videos/real/d3.mp4 -> videos_real_d3)."""
    return item.relative.replace("/", "_").rsplit(".", 1)[0]


def save_clips(path: Path, clips: np.ndarray) -> None:
    """``clips`` as ``path`` (.npz), whole or not at all (a cut-off write must not be read later)."""
    with atomic_writer(path, "wb", encoding=None) as handle:
        np.savez(handle, clips=clips)


def _video_job(args) -> list[dict]:
    item, out_dir, seed, picture_limit = args
    keep = Path(out_dir) / "videos" / item.split if item.split != "train" else None
    from deepfake_scanner.share import load_share

    items = load_share(item.path.parents[len(Path(item.relative).parts) - 1])
    pictures = split_pictures(items, item.split, picture_limit, seed)
    rows = []
    stem = file_stem(item)
    for k, clip_set in enumerate(video_clip_sets(item, pictures, seed, keep_videos=keep)):
        path = Path(out_dir) / clip_set.split / f"{stem}_{k:03d}_{clip_set.kind}.npz"
        path.parent.mkdir(parents=True, exist_ok=True)
        save_clips(path, clip_set.clips)
        rows.append(
            dict(
                path=str(path.relative_to(out_dir)),
                label=clip_set.label,
                kind=clip_set.kind,
                source=clip_set.source,
                split=clip_set.split,
                video=item.relative,
                clips=len(clip_set.clips),
                encoded=str(clip_set.video.relative_to(out_dir)) if clip_set.video else "",
            )
        )
    return rows


def build_clips(
    items: list[ShareItem], out_dir: Path, seed: int = 0, workers: int = 2, picture_limit: int = 150
) -> pd.DataFrame:
    """Every share video's ClipSets written to ``out_dir``/SPLIT/*.npz, with ``index.csv``; the
    held-out splits' encoded videos kept in ``out_dir``/videos/SPLIT with ``videos.csv``, a
    tools/evaluate.py manifest (path,label,method,source_folder)."""
    import multiprocessing

    import pandas as pd

    videos = sorted((i for i in items if i.is_video and i.label == "real"), key=lambda i: -i.path.stat().st_size)
    jobs = [(item, str(out_dir), seed, picture_limit) for item in videos]
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        rows = [row for result in pool.imap_unordered(_video_job, jobs) for row in result]
    index = pd.DataFrame(rows).sort_values("path")
    atomic_write_text(Path(out_dir) / "index.csv", index.to_csv(index=False))
    held = index[index.encoded != ""]
    manifest = pd.DataFrame(
        {
            "path": [str((Path(out_dir) / e).resolve()) for e in held.encoded],
            "label": ["fake" if label else "real" for label in held.label],
            "method": held.kind,
            "source_folder": [f"temporal_factory/{v}" for v in held.video],
        }
    )
    atomic_write_text(Path(out_dir) / "videos.csv", manifest.to_csv(index=False))
    return index


def reencode_clip(clip: np.ndarray, rng: np.random.Generator, crf: tuple[int, int] = (20, 48)) -> np.ndarray:
    """A clip (uint8 [T, S, S, 3]) scaled down and up at random and passed through H.264 again
    at a CRF drawn from ``crf``: the heavy re-encoding of shared copies, for reals and fakes alike."""
    import io

    import av

    size = clip.shape[1]
    small = int(size * rng.uniform(0.5, 1.0)) // 2 * 2
    frames = [cv2.resize(cv2.resize(f, (small, small), interpolation=cv2.INTER_AREA), (size, size)) for f in clip]
    buffer = io.BytesIO()
    write_h264(frames, buffer, (size, size), 25.0, int(rng.integers(*crf)), container_format="mp4")
    buffer.seek(0)
    with av.open(buffer, "r") as container:
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    if len(decoded) < len(clip):
        raise ValueError(f"re-encoding a {len(clip)}-frame clip gave back {len(decoded)} frames")
    return np.stack(decoded[: len(clip)])
