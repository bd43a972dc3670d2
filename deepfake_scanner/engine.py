"""The streaming engine: files -> frames -> faces -> every detector at once -> judge -> verdicts.

Threads joined by bounded queues, so memory stays flat however long the video:

    reader -> faces -> one worker per detector -> collector (in the caller's thread) -> judge

Stages pass typed messages (`DecodedFrame`, `PreparedFrame`, `FrameDetected`, `FrameFailed`,
`DetectorFailed`, `DetectorDone`); a `SourceEnd` follows each source through every queue (its
end, or its error), a sentinel ends each stage, and the `Collector` puts results back in
order. One bad file becomes an ``error`` verdict; the batch goes on.
`ScanEngine.scan_file` is the plain sequential path: one call turns a file into a result.
No printing here: the CLIs and other front ends decide what to show.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from cnn_detector.errors import MediaError
from cnn_detector.frozen_graph import FrozenGraphDetector
from cnn_detector.types import Box, Detection, FrameDetections, Verdict
from deepfake_scanner.crops import WHOLE_FRAME, crop, expand_box
from deepfake_scanner.defaults import BATCH_SIZE, FPS, MAX_FRAMES
from deepfake_scanner.defenses import apply_defense
from deepfake_scanner.frames import Sampling, read_frames
from deepfake_scanner.images import DEFAULT_MAX_PIXELS
from deepfake_scanner.video import VideoFrame

log = logging.getLogger(__name__)
# Detectors run down to this score; what is reported is cut at each detector's min_score (or
# --min-score), and the judge reads detections above each detector's min_score (for_judge).
DETECTION_FLOOR = 0.05


@dataclass(frozen=True)
class EngineOptions:
    """fps / max_frames / max_pixels: how media are read (`deepfake_scanner.frames`);
    queue_size: frames in flight per stage; min_score: reporting threshold for every detector
    (None: each detector's own); defense: the round trip the detectors' inputs go through
    (`deepfake_scanner.defenses`; faces are found on the frame as decoded)."""

    fps: float = FPS
    max_frames: int = MAX_FRAMES
    min_score: float | None = None
    max_pixels: int = DEFAULT_MAX_PIXELS
    queue_size: int = 8
    batch_size: int = BATCH_SIZE
    defense: str = "none"  # `deepfake_scanner.defenses`: what the detectors' inputs go through

    def __post_init__(self) -> None:
        from deepfake_scanner.defenses import DEFENSES

        if self.defense not in DEFENSES:
            raise ValueError(f"defense must be one of {DEFENSES}, got {self.defense!r}")

    @property
    def sampling(self) -> Sampling:
        return Sampling(self.fps, self.max_frames, self.max_pixels)


@dataclass
class SourceResult:
    """What the engine made of one file: its frames' detections and the verdict."""

    source: str
    verdict: Verdict | None  # None: no judge, and the source was read
    frames: list[FrameDetections] = field(default_factory=list)
    warning: str = ""


# ---- the messages the engine's threads pass each other ----
@dataclass
class PreparedFrame:
    """A decoded frame with its faces found and each detector's inputs cut (faces -> detectors,
    and -> collector so that it knows the frame exists)."""

    source_id: int
    index: int
    timestamp_ms: float
    size: tuple[int, int]
    faces: tuple[Box, ...]
    inputs: dict[str, tuple[list[np.ndarray], list[Box | None]]]


@dataclass(frozen=True)
class DecodedFrame:
    """A frame as read (reader -> faces)."""

    source_id: int
    frame: VideoFrame


@dataclass
class SourceEnd:
    """The reader is done with a source (its error or warning, if any); passed through every
    stage after the source's last frame."""

    source_id: int
    error: str = ""
    warning: str = ""


@dataclass(frozen=True)
class FrameDetected:
    """One detector's detections on one frame (detector -> collector)."""

    source_id: int
    index: int
    detector: str
    detections: list[Detection]


@dataclass(frozen=True)
class FrameFailed:
    """The face stage failed on one frame: it is left out, with a warning (faces -> collector)."""

    source_id: int
    message: str


@dataclass(frozen=True)
class DetectorFailed:
    """A detector raised on a batch: its sources become errors, never 'found nothing'."""

    source_id: int
    message: str


@dataclass(frozen=True)
class DetectorDone:
    """A detector has passed on every frame of a source (detector -> collector)."""

    end: SourceEnd
    detector: str


class _EndOfStream:
    """After the last source: each stage passes it on and stops."""


_SENTINEL = _EndOfStream()
Message = DecodedFrame | PreparedFrame | FrameDetected | FrameFailed | DetectorFailed | DetectorDone | _EndOfStream


def judge_score(score: float, min_score: float, typical_fake_score: float | None) -> float:
    """A detector's score on the judge's common scale: 0 at its min_score (1% of validation
    reals reach it), 0.5 at its typical fake score, 1 at and beyond twice that distance.
    Without a typical fake score: (score - min_score) / (1 - min_score)."""
    if typical_fake_score is None:
        return (score - min_score) / max(1e-6, 1.0 - min_score)
    span = max(typical_fake_score - min_score, 0.02)
    return min(1.0, 0.5 * (score - min_score) / span)


class ScanEngine:
    """Detectors (verified and loaded), a face finder (``find(image) -> boxes``, see
    deepfake_scanner.faces.FaceFinder; None: face_crop detectors see the whole frame, which suits
    portrait crops only) and a judge (``decide(source, frames, detector_names) -> Verdict``, see
    rnn_judge.judge.Judge; None when only detections are wanted)."""

    def __init__(
        self,
        detectors: Sequence[FrozenGraphDetector],
        face_finder,
        judge,
        options: EngineOptions = EngineOptions(),
    ):
        if not detectors:
            raise ValueError("the engine needs at least one detector")
        names = [d.name for d in detectors]
        if len(set(names)) != len(names):
            raise ValueError(f"detector names must be unique, got {names}")
        self.detectors = [d for d in detectors if not d.spec.manifest.is_clip]  # per frame, in threads
        self.clip_detectors = [d for d in detectors if d.spec.manifest.is_clip]  # per face clip, per video
        self.face_finder = face_finder
        self.judge = judge
        self.options = options
        self.names = tuple(d.name for d in detectors)  # every stream the judge reads, in the given order
        self._report_threshold = {
            d.name: options.min_score if options.min_score is not None else d.spec.manifest.min_score for d in detectors
        }
        # A --min-score below the judge's floor asks for those detections too.
        self._floor = min(DETECTION_FLOOR, options.min_score) if options.min_score is not None else DETECTION_FLOOR
        self._calibration = {d.name: (d.spec.manifest.min_score, d.spec.manifest.typical_fake_score) for d in detectors}

    # ---- shared steps ----
    def _prepare(self, source_id: int, frame: VideoFrame) -> PreparedFrame:
        image = frame.image
        size = (int(image.shape[0]), int(image.shape[1]))
        faces = tuple(self.face_finder.find(image)) if self.face_finder is not None else ()
        image = apply_defense(image, self.options.defense)
        inputs: dict[str, tuple[list[np.ndarray], list[Box | None]]] = {}
        for detector in self.detectors:
            manifest = detector.spec.manifest
            if manifest.input == "full_frame":
                inputs[detector.name] = ([image], [None])
            else:
                regions = [expand_box(face, manifest.face_margin, size) for face in faces]
                if self.face_finder is None:
                    regions = [WHOLE_FRAME]
                inputs[detector.name] = ([crop(image, r) for r in regions], list(regions))
        return PreparedFrame(source_id, frame.index, frame.timestamp_ms, size, faces, inputs)

    def detect_frame(self, frame: PreparedFrame) -> dict[str, list[Detection]]:
        """Every detector on one prepared frame, from the detection floor up (one thread)."""
        found = {}
        for detector in self.detectors:
            images, boxes = frame.inputs[detector.name]
            per_image = detector.detect(images, self._floor, boxes) if images else []
            found[detector.name] = [d for dets in per_image for d in dets]
        return found

    def analyse(self, source: str, frame: VideoFrame) -> FrameDetections:
        """Faces and every detector on one decoded frame, in this thread."""
        prepared = self._prepare(0, frame)
        return self._frame_detections(source, prepared, self.detect_frame(prepared))

    def reported(self, frame: FrameDetections) -> FrameDetections:
        """The frame with only the detections at or above their reporting threshold."""
        kept = tuple(d for d in frame.detections if d.score >= self._report_threshold[d.detector])
        return dataclasses.replace(frame, detections=kept)

    def for_judge(self, frame: FrameDetections) -> FrameDetections:
        """What the judge reads: each detector's detections above its own calibrated min_score
        (detector.yaml), scores put on one scale (`judge_score`).

        Detectors' raw scores live on different scales (one ships with real faces below 0.12 and
        its fakes around 0.14, another with 1% of real faces above 0.55); on the common scale a
        score means the same to the judge whichever detector gave it, and a detector added later
        needs only its min_score (and typical_fake_score)."""
        kept = []
        for det in frame.detections:
            scale = self._calibration[det.detector]
            if det.score >= scale[0]:
                kept.append(dataclasses.replace(det, score=judge_score(det.score, *scale)))
        return dataclasses.replace(frame, detections=tuple(kept))

    def _frame_detections(
        self, source: str, frame: PreparedFrame, found: dict[str, list[Detection]]
    ) -> FrameDetections:
        detections = tuple(d for name in self.names for d in found.get(name, []))
        return FrameDetections(source, frame.index, frame.timestamp_ms, frame.size, frame.faces, detections)

    def judge_frames(self, source: str, frames: list[FrameDetections]) -> Verdict:
        """The judge's verdict on a source's analysed frames (sorted here by frame index)."""
        frames = sorted(frames, key=lambda f: f.frame_index)
        return self.judge.decide(source, [self.for_judge(f) for f in frames], self.names)

    def _verdict(self, source: str, frames: list[FrameDetections], error: str) -> Verdict | None:
        """An error verdict, or the judge's (None when there is no judge: detections only).
        Clip detectors run here, once a video's frames are all in (``frames`` gets their
        detections, in place)."""
        if error:
            return Verdict(source, "error", detectors=self.names, error=error)
        if not frames:
            return Verdict(source, "error", detectors=self.names, error=f"{source}: no frames decoded")
        if self.clip_detectors:
            try:
                frames[:] = self.with_clip_detections(source, frames)
            except MediaError as err:  # the frame detectors' evidence still stands
                log.warning("%s; judged without the clip detectors", err)
            except Exception as err:  # never "found nothing": a failed detector makes the source an error
                return Verdict(source, "error", detectors=self.names, error=f"{source}: clip stage failed: {err!r}")
        if self.judge is None:
            return None
        return self.judge_frames(source, frames)

    def with_clip_detections(self, source: str, frames: list[FrameDetections]) -> list[FrameDetections]:
        """``frames`` (a video's, sorted) with every clip detector's detections added to the
        sampled frame each clip starts on: faces tracked across the frames, clips cut at the
        video's own rate (a second decoding pass), the audio of each clip's span for
        face_clip_audio detectors (silence when the video has none). Stills are left as they are."""
        from deepfake_scanner.audio import open_audio
        from deepfake_scanner.tracks import track_clips, track_faces
        from deepfake_scanner.video import VideoFrames, is_video

        path = Path(source)
        if not is_video(path):
            return frames
        tracks = track_faces(frames)
        if not tracks:
            return frames
        manifests = [d.spec.manifest for d in self.clip_detectors]
        length = max(m.clip_frames for m in manifests)
        size = max(max(m.input_size) for m in manifests)
        video = VideoFrames(path, fps=self.options.fps, max_frames=self.options.max_frames)
        defend = None if self.options.defense == "none" else partial(apply_defense, defense=self.options.defense)
        clips = list(track_clips(video, tracks, length=length, size=size, transform=defend))
        if not clips:
            return frames
        sound = open_audio(path) if any(m.input == "face_clip_audio" for m in manifests) else None
        found: dict[int, list[Detection]] = {}
        for detector in self.clip_detectors:
            manifest = detector.spec.manifest
            audio = None
            if manifest.input == "face_clip_audio" and sound is not None:
                seconds = manifest.clip_frames / max(video.native_fps, 1.0)
                audio = [_fit(sound.span(c.start_ms / 1000.0, seconds), manifest.audio_samples) for c in clips]
            per_clip = detector.detect_clips(
                [c.frames[: manifest.clip_frames] for c in clips], [c.box for c in clips], audio, self._floor
            )
            for clip, detections in zip(clips, per_clip):
                found.setdefault(clip.start_index, []).extend(detections)
        return [
            dataclasses.replace(f, detections=f.detections + tuple(found[f.frame_index]))
            if f.frame_index in found
            else f
            for f in frames
        ]

    # ---- sequential: one call, one file ----
    def scan_file(self, path: Path | str) -> SourceResult:
        """Decode, find faces, detect, judge, in this thread. Bad input becomes an error verdict."""
        source = str(path)
        frames: list[FrameDetections] = []
        warning = ""
        try:
            media = read_frames(path, self.options.sampling)
            for frame in media:
                frames.append(self.analyse(source, frame))
            warning = media.warning
        except MediaError as err:
            return SourceResult(source, self._verdict(source, [], str(err)))
        except Exception as err:  # a decoder or detector bug must not take the batch down
            return SourceResult(source, self._verdict(source, [], f"{source}: unexpected error: {err!r}"))
        return SourceResult(source, self._verdict(source, frames, ""), frames, warning)

    # ---- threaded ----
    def scan(self, paths: Iterable[Path | str], stop: threading.Event | None = None) -> Iterator[SourceResult]:
        """Results in input order, computed by the threaded pipeline. Closing the generator
        (or ``stop``) ends every thread; what was yielded stays valid."""
        stop = stop or threading.Event()
        sources = [str(p) for p in paths]
        size = self.options.queue_size
        frame_queue: queue.Queue = queue.Queue(size)
        detector_queues = [queue.Queue(size) for _ in self.detectors]
        results: queue.Queue = queue.Queue(size * (len(self.detectors) + 2))
        threads = [
            threading.Thread(target=self._read, args=(sources, frame_queue, stop), name="reader", daemon=True),
            threading.Thread(
                target=self._faces, args=(frame_queue, detector_queues, results, stop), name="faces", daemon=True
            ),
        ]
        for detector, inbox in zip(self.detectors, detector_queues):
            threads.append(
                threading.Thread(
                    target=self._detect,
                    args=(detector, inbox, results, stop),
                    name=f"detector-{detector.name}",
                    daemon=True,
                )
            )
        for thread in threads:
            thread.start()
        try:
            yield from self._collect(sources, results, stop)
        finally:
            stop.set()
            for q in [frame_queue, *detector_queues, results]:
                _drain(q)
            for thread in threads:
                thread.join(timeout=10)

    def _put(self, q: queue.Queue, item, stop: threading.Event) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _read(self, sources: list[str], out: queue.Queue, stop: threading.Event) -> None:
        for source_id, source in enumerate(sources):
            if stop.is_set():
                break
            end = SourceEnd(source_id)
            try:
                media = read_frames(source, self.options.sampling)
                for frame in media:
                    if not self._put(out, DecodedFrame(source_id, frame), stop):
                        return
                end.warning = media.warning
            except MediaError as err:
                end.error = str(err)
            except Exception as err:  # a decoder bug must not take the batch down
                end.error = f"{source}: unexpected error while decoding: {err!r}"
            if not self._put(out, end, stop):
                return
        self._put(out, _SENTINEL, stop)

    def _faces(self, inbox: queue.Queue, outboxes: list[queue.Queue], results: queue.Queue, stop) -> None:
        while not stop.is_set():
            try:
                item = inbox.get(timeout=0.1)
            except queue.Empty:
                continue
            if isinstance(item, DecodedFrame):
                try:
                    prepared = self._prepare(item.source_id, item.frame)
                except Exception as err:
                    self._put(results, FrameFailed(item.source_id, f"face stage failed: {err!r}"), stop)
                    continue
                self._put(results, prepared, stop)
                item = prepared
            for outbox in outboxes:
                self._put(outbox, item, stop)
            if item is _SENTINEL:
                self._put(results, _SENTINEL, stop)
                return

    def _detect(self, detector: FrozenGraphDetector, inbox: queue.Queue, results: queue.Queue, stop) -> None:
        pending: list[PreparedFrame] = []

        def flush():
            images, boxes, owners = [], [], []
            for frame in pending:
                frame_images, frame_boxes = frame.inputs[detector.name]
                images += frame_images
                boxes += frame_boxes
                owners += [frame] * len(frame_images)
            found: dict[int, list[Detection]] = {id(f): [] for f in pending}
            if images:
                try:
                    per_image = detector.detect(images, self._floor, boxes)
                except Exception as err:
                    # Never "found nothing": a failed detector makes its sources errors.
                    for source_id in {f.source_id for f in pending}:
                        message = f"detector {detector.name} failed: {err!r}"
                        self._put(results, DetectorFailed(source_id, message), stop)
                    per_image = [[] for _ in images]
                for owner, dets in zip(owners, per_image):
                    found[id(owner)] += dets
            for frame in pending:
                self._put(results, FrameDetected(frame.source_id, frame.index, detector.name, found[id(frame)]), stop)
            pending.clear()

        while not stop.is_set():
            try:
                item = inbox.get(timeout=0.05)
            except queue.Empty:
                if pending:
                    flush()
                continue
            if isinstance(item, PreparedFrame):
                pending.append(item)
                if sum(len(f.inputs[detector.name][0]) for f in pending) >= self.options.batch_size:
                    flush()
                continue
            if pending:
                flush()
            if item is _SENTINEL:
                return
            self._put(results, DetectorDone(item, detector.name), stop)

    def _collect(self, sources: list[str], results: queue.Queue, stop) -> Iterator[SourceResult]:
        frame_names = [d.name for d in self.detectors]
        collector = Collector(sources, frame_names, self._frame_detections, self._verdict)
        while not collector.finished and not stop.is_set():
            try:
                message = results.get(timeout=0.1)
            except queue.Empty:
                continue
            yield from collector.add(message)


class Collector:
    """Puts the detectors' messages back together, in the caller's thread: a frame is complete
    when every detector reported on it, a source when every detector passed its end and all
    its frames are complete; results come out in input order.

    ``frame_detections(source, prepared, found)`` builds a frame's FrameDetections;
    ``verdict(source, frames, error)`` judges a complete source."""

    def __init__(self, sources: Sequence[str], names: Sequence[str], frame_detections, verdict):
        self.sources = list(sources)
        self.names = tuple(names)
        self._frame_detections = frame_detections
        self._verdict = verdict
        self._frames: dict[int, dict[int, PreparedFrame]] = {}
        self._found: dict[tuple[int, int], dict[str, list[Detection]]] = {}
        self._done: dict[int, list[FrameDetections]] = {}
        self._ends: dict[int, set[str]] = {}
        self._end_info: dict[int, SourceEnd] = {}
        self._finished: dict[int, SourceResult] = {}
        self._failures: dict[int, str] = {}
        self._next = 0

    @property
    def finished(self) -> bool:
        """Every source's result has been given out."""
        return self._next >= len(self.sources)

    def add(self, message: Message) -> list[SourceResult]:
        """Take one message; the results it completes that are next in input order."""
        if isinstance(message, PreparedFrame):
            self._frames.setdefault(message.source_id, {})[message.index] = message
            self._found[(message.source_id, message.index)] = {}
        elif isinstance(message, FrameDetected):
            self._found[(message.source_id, message.index)][message.detector] = message.detections
        elif isinstance(message, FrameFailed):
            log.warning("%s: %s", self.sources[message.source_id], message.message)
        elif isinstance(message, DetectorFailed):
            self._failures.setdefault(message.source_id, message.message)
        elif isinstance(message, DetectorDone):
            self._end_info[message.end.source_id] = message.end
            self._ends.setdefault(message.end.source_id, set()).add(message.detector)
        for key in [k for k, v in self._found.items() if len(v) == len(self.names)]:
            frame = self._frames[key[0]].pop(key[1])
            done = self._frame_detections(self.sources[key[0]], frame, self._found.pop(key))
            self._done.setdefault(key[0], []).append(done)
        complete = [s for s, names in self._ends.items() if names >= set(self.names) and s not in self._finished]
        for source_id in complete:
            if any(k[0] == source_id for k in self._found):
                continue
            end = self._end_info[source_id]
            source = self.sources[source_id]
            frames = sorted(self._done.pop(source_id, []), key=lambda f: f.frame_index)
            error = end.error or (f"{source}: {self._failures[source_id]}" if source_id in self._failures else "")
            self._finished[source_id] = SourceResult(source, self._verdict(source, frames, error), frames, end.warning)
            self._ends.pop(source_id)
        ready = []
        while self._next in self._finished:
            ready.append(self._finished.pop(self._next))
            self._next += 1
        return ready


def _fit(samples: np.ndarray, length: int) -> np.ndarray:
    """A clip's audio stretched or squeezed to the ``length`` samples its detector takes."""
    if len(samples) == 0:
        return np.zeros(length, np.float32)
    if len(samples) == length:
        return samples
    positions = np.linspace(0, len(samples) - 1, length)
    return np.interp(positions, np.arange(len(samples)), samples).astype(np.float32)


def _drain(q: queue.Queue) -> None:
    while True:
        try:
            q.get_nowait()
        except queue.Empty:
            return
