"""Decode videos (and animated GIF / WebP) into sampled RGB frames, defensively.

Frames are sampled at ``fps`` per second of media time (default 2), at most ``max_frames``
per source, spread over the whole video when it is longer than max_frames / fps. OpenCV's
FFmpeg backend honours rotation metadata. Every failure that stops a source is a `MediaError`
naming the file and why; a stream that breaks part-way ends the iteration and sets
``VideoFrames.warning`` so the caller can judge from the frames read.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cnn_detector.errors import MediaError
from deepfake_scanner.defaults import FPS, MAX_FRAMES
from deepfake_scanner.images import check_readable_file

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".gif"})
ANIMATED_IMAGE_EXTENSIONS = frozenset({".gif", ".webp"})
DEFAULT_MAX_FRAME_PIXELS = 40_000_000  # 8K (33 MP) is decoded; larger frames are refused
PROCESSING_MAX_SIDE = 1920  # bigger frames are scaled down once, after decoding


@dataclass(frozen=True, slots=True)
class VideoFrame:
    index: int  # frame number in the source
    timestamp_ms: float
    image: np.ndarray  # RGB uint8 [H, W, 3]


@dataclass
class VideoFrames:
    """Iterator over sampled frames; ``warning`` is set when the stream broke part-way.
    `every_frame` gives every frame instead, each with whether the sampler picked it."""

    path: Path
    fps: float = FPS
    max_frames: int = MAX_FRAMES
    max_pixels: int = DEFAULT_MAX_FRAME_PIXELS
    warning: str = ""
    frames_read: int = 0
    native_fps: float = field(default=0.0)

    def __iter__(self) -> Iterator[VideoFrame]:
        """The sampled frames, scaled down for processing (`fit_for_processing`)."""
        for frame, _sampled in self._decode(every=False):
            yield VideoFrame(frame.index, frame.timestamp_ms, fit_for_processing(frame.image))

    def every_frame(self) -> Iterator[tuple[VideoFrame, bool]]:
        """Every frame as decoded (full size), with True where the sampler picks it: what the
        scan would analyse. For writing an annotated copy of the whole video."""
        return self._decode(every=True)

    def _decode(self, every: bool) -> Iterator[tuple[VideoFrame, bool]]:
        path = Path(self.path)
        check_readable_file(path)
        if path.suffix.lower() in ANIMATED_IMAGE_EXTENSIONS:
            yield from self._animated(path, every)
        else:
            yield from self._video(path, every)

    def _emit(self, frame: VideoFrame) -> tuple[VideoFrame, bool]:
        self.frames_read += 1
        return frame, True

    def _video(self, path: Path, every: bool) -> Iterator[tuple[VideoFrame, bool]]:
        import cv2

        opened, link_folder = openable_name(path)
        capture = cv2.VideoCapture(opened)
        try:
            if not capture.isOpened():
                raise MediaError(f"{path}: not a readable video (no video stream, or a format FFmpeg cannot decode)")
            width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
            height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
            if width * height > self.max_pixels:
                raise MediaError(
                    f"{path}: frames are {width}x{height}; the limit is {self.max_pixels / 1e6:.0f} megapixels"
                )
            native = capture.get(cv2.CAP_PROP_FPS)
            self.native_fps = native if 0 < native < 1000 else 25.0
            total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
            step = max(1, round(self.native_fps / self.fps)) if self.fps > 0 else 1
            if total > 0 and total / step > self.max_frames:
                # A long video: spread the frame budget over all of it, not over its first minutes.
                step = -(-total // self.max_frames)
            index = 0
            while every or self.frames_read < self.max_frames:
                ok = capture.grab()
                if not ok:
                    if total > 0 and index < total - max(2, step):
                        self.warning = f"{path}: stream ended at frame {index} of {total}; judged on the frames read"
                    break
                sampled = index % step == 0 and self.frames_read < self.max_frames
                if sampled or every:
                    ok, frame = capture.retrieve()
                    if not ok or frame is None:
                        self.warning = f"{path}: frame {index} could not be decoded; judged on the frames read"
                        break
                    if frame.shape[0] * frame.shape[1] > self.max_pixels:
                        raise MediaError(
                            f"{path}: frames are {frame.shape[1]}x{frame.shape[0]}; the limit is "
                            f"{self.max_pixels / 1e6:.0f} megapixels"
                        )
                    timestamp = index * 1000.0 / self.native_fps
                    decoded = VideoFrame(index, timestamp, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
                    yield self._emit(decoded) if sampled else (decoded, False)
                index += 1
            if self.frames_read == 0:
                raise MediaError(f"{path}: no video frames could be decoded (empty, audio-only or corrupt)")
        finally:
            capture.release()
            if link_folder is not None:
                shutil.rmtree(link_folder, ignore_errors=True)

    def _animated(self, path: Path, every: bool) -> Iterator[tuple[VideoFrame, bool]]:
        from PIL import Image, ImageSequence, UnidentifiedImageError

        try:
            with Image.open(path) as image:
                width, height = image.size
                if width * height > self.max_pixels:
                    raise MediaError(
                        f"{path}: frames are {width}x{height}; the limit is {self.max_pixels / 1e6:.0f} MP"
                    )
                elapsed = 0.0
                next_sample = 0.0
                for index, frame in enumerate(ImageSequence.Iterator(image)):
                    if self.frames_read >= self.max_frames and not every:
                        break
                    frame.load()  # WebP fills in the frame's duration only once it is decoded
                    duration = float(frame.info.get("duration", 100) or 100)
                    sampled = elapsed >= next_sample and self.frames_read < self.max_frames
                    if sampled or every:
                        decoded = VideoFrame(index, elapsed, np.asarray(frame.convert("RGB"), dtype=np.uint8))
                        yield self._emit(decoded) if sampled else (decoded, False)
                    if sampled:
                        next_sample = elapsed + (1000.0 / self.fps if self.fps > 0 else 0.0)
                    elapsed += duration
        except MediaError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
            raise MediaError(f"{path}: refused as a decompression bomb ({err})") from None
        except UnidentifiedImageError:
            raise MediaError(f"{path}: not a recognised animated image") from None
        except (OSError, ValueError, EOFError) as err:
            if self.frames_read == 0:
                raise MediaError(f"{path}: truncated or corrupt animation ({err})") from None
            self.warning = f"{path}: animation broke after {self.frames_read} frames ({err}); judged on the frames read"


def openable_name(path: Path) -> tuple[str, str | None]:
    """A name OpenCV can open ``path`` by, and the temporary folder to remove afterwards (None
    when the path is usable as is). OpenCV crashes the process on a file name that is not UTF-8
    (surrogate escapes), so such a file is opened through a symlink with a plain name."""
    text = str(path)
    try:
        text.encode("utf-8")
        return text, None
    except UnicodeEncodeError:
        folder = tempfile.mkdtemp(prefix="scanner-video-")
        suffix = path.suffix.encode("ascii", "ignore").decode("ascii")
        link = os.path.join(folder, f"video{suffix}")
        os.symlink(os.fsencode(os.path.abspath(path)), os.fsencode(link))
        return link, folder


def fit_for_processing(image: np.ndarray) -> np.ndarray:
    """Scale frames above PROCESSING_MAX_SIDE down once: faces stay findable, memory stays flat."""
    import cv2

    side = max(image.shape[:2])
    if side <= PROCESSING_MAX_SIDE:
        return image
    scale = PROCESSING_MAX_SIDE / side
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def is_video(path: Path) -> bool:
    """Videos and animations (an animated .webp is a video; a still .webp is an image)."""
    suffix = Path(path).suffix.lower()
    if suffix in VIDEO_EXTENSIONS:
        return True
    if suffix == ".webp":
        try:
            from PIL import Image

            with Image.open(path) as image:
                return bool(getattr(image, "is_animated", False))
        except Exception:  # unreadable: let the image reader report it
            return False
    return False
