"""The library: one object that owns the detectors' TensorFlow sessions, the face finder and
the judge, and turns files, images and frames into results.

    from deepfake_scanner import Scanner

    with Scanner.open() as scanner:
        result = scanner.scan_file("samples/real_img16.jpg")
        print(result.verdict.is_fake, result.verdict.fake_probability)

No argument parsing, printing or environment variables here: a front end (the CLIs, an HTTP
service, a batch job) reads its own settings and passes them in. Problems that leave a
detector out are collected in ``Scanner.problems`` for the caller to show.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnn_detector.errors import DeepfakeScannerError
from cnn_detector.frozen_graph import FrozenGraphDetector, LoadOptions, load_usable_detectors
from cnn_detector.registry import discover_detectors
from cnn_detector.types import FrameDetections, Verdict
from deepfake_scanner.defaults import BATCH_SIZE, FPS, JUDGE_DIR, MAX_FRAMES
from deepfake_scanner.engine import EngineOptions, ScanEngine, SourceResult
from deepfake_scanner.images import DEFAULT_MAX_PIXELS
from deepfake_scanner.people import PersonVerdict, judge_people
from deepfake_scanner.video import VideoFrame, fit_for_processing
from rnn_judge.features import sequence_features


@dataclass(frozen=True)
class ScanOptions:
    """How a Scanner reads media and which detectors it runs.

    fps, max_frames: frames sampled per second of video, and at most this many per video.
    threshold: the judge's fake threshold (None: the one it was calibrated with).
    min_score: report detections at or above this score (None: each detector's own min_score;
        the judge always reads each detector from its own min_score up).
    only, skip: detector names to use only / to leave out.
    faces: find faces (False: face_crop detectors see the whole frame, which suits portrait
        crops only, and the judge, which reads only frames with a face, says ``no_face``).
    threads: scan_many through the threaded pipeline (False: one file after another).
    batch_size: images per TensorFlow call.
    defense: ``none``, ``resize``, ``jpeg`` or ``both``: a lossy round trip the detectors'
        inputs go through against adversarial perturbations (`deepfake_scanner.defenses`).
    provenance: read each file's C2PA credentials and known invisible watermarks into
        ``verdict.provenance`` (`deepfake_scanner.provenance`); never changes the judgement.
    """

    fps: float = FPS
    max_frames: int = MAX_FRAMES
    threshold: float | None = None
    min_score: float | None = None
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    faces: bool = True
    threads: bool = True
    batch_size: int = BATCH_SIZE
    max_pixels: int = DEFAULT_MAX_PIXELS
    queue_size: int = 8
    provenance: bool = True
    defense: str = "none"

    def __post_init__(self) -> None:
        if not self.fps > 0 or self.max_frames < 1:
            raise ValueError(f"fps must be > 0 and max_frames >= 1, got {self.fps} and {self.max_frames}")
        for name in ("threshold", "min_score"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        from deepfake_scanner.defenses import DEFENSES

        if self.defense not in DEFENSES:
            raise ValueError(f"defense must be one of {DEFENSES}, got {self.defense!r}")

    @property
    def engine(self) -> EngineOptions:
        return EngineOptions(
            fps=self.fps,
            max_frames=self.max_frames,
            min_score=self.min_score,
            max_pixels=self.max_pixels,
            queue_size=self.queue_size,
            batch_size=self.batch_size,
            defense=self.defense,
        )


@dataclass(frozen=True)
class ScanResult:
    """What a Scanner made of one file or in-memory source.

    verdict: the judge's decision (its ``status`` says ok / no_face / error); None when the
        Scanner has no judge and the source was read.
    frames: every analysed frame with the detections at or above their reporting threshold.
    error: why the source could not be scanned ("" when it was).
    warning: e.g. a stream that broke part-way (judged on the frames read).
    people: one verdict per person (face track) when the source was judged, most likely fake
        first (`deepfake_scanner.people`): who drove the verdict, and when they are seen.
    """

    source: str
    verdict: Verdict | None
    frames: tuple[FrameDetections, ...] = ()
    error: str = ""
    warning: str = ""
    people: tuple[PersonVerdict, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.error


class ScannerError(DeepfakeScannerError):
    """The Scanner cannot be opened (no usable detector, a missing detectors folder, ...);
    ``problems`` says what left each detector out, when that is why."""

    def __init__(self, message: str, problems: Sequence[str] = ()):
        super().__init__(message)
        self.problems = list(problems)


class Scanner:
    """Detectors, face finder and judge, loaded once. Thread-safe for scanning; use as a context
    manager (or call `close`) so the TensorFlow sessions are released."""

    def __init__(self, detectors: Sequence[FrozenGraphDetector], judge=None, options: ScanOptions = ScanOptions()):
        self.detectors = list(detectors)
        self.judge = judge
        self.options = options
        self.problems: list[str] = []
        face_finder = None
        if options.faces and (judge is not None or any(d.spec.manifest.input != "full_frame" for d in detectors)):
            from deepfake_scanner.faces import FaceFinder

            face_finder = FaceFinder()
        self.engine = ScanEngine(self.detectors, face_finder, judge, options.engine)
        self._closed = False

    @classmethod
    def open(
        cls,
        detector_dirs: Iterable[Path | str] = (),
        judge_dir: Path | str | None = JUDGE_DIR,
        options: ScanOptions = ScanOptions(),
        *,
        include_shipped: bool = True,
    ) -> Scanner:
        """Check and load the detectors of ``frozen_models/`` (unless ``include_shipped`` is
        False) and of every folder in ``detector_dirs`` (each holding detector directories),
        and the judge of ``judge_dir`` (None: no judge, results carry detections only).

        A detector directory or graph that fails a check is left out and described in
        ``problems``; ScannerError when none is usable, JudgeError when the judge is not."""
        judge = None
        if judge_dir is not None:
            from rnn_judge.judge import Judge

            judge = Judge.load(Path(judge_dir), options.threshold)
        try:
            found = discover_detectors(list(detector_dirs), include_default=include_shipped, include_environment=False)
        except DeepfakeScannerError as err:
            raise ScannerError(str(err)) from None
        problems = [str(p) for p in found.problems]
        try:
            specs = found.select(options.only, options.skip)
        except DeepfakeScannerError as err:
            raise ScannerError(str(err), problems) from None

        def skipped(name: str, err: DeepfakeScannerError) -> None:
            problems.append(f"skipped detector {name}: {err}")

        try:
            detectors = load_usable_detectors(specs, LoadOptions(batch_size=options.batch_size), skipped)
        except DeepfakeScannerError as err:
            raise ScannerError(str(err), problems) from None
        try:
            scanner = cls(detectors, judge, options)
        except BaseException:
            for detector in detectors:
                detector.close()
            raise
        scanner.problems = problems
        return scanner

    # ---- what it holds ----
    @property
    def detector_names(self) -> tuple[str, ...]:
        return self.engine.names

    # ---- scanning ----
    def scan_file(self, path: Path | str) -> ScanResult:
        """Decode, find faces, detect and judge one image or video, in this thread. Bad input
        (unreadable, corrupt, too large) gives a result with ``error`` set, never an exception."""
        return self._result(self.engine.scan_file(path))

    def scan_many(self, paths: Iterable[Path | str], stop: threading.Event | None = None) -> Iterator[ScanResult]:
        """One result per path, in input order, as each is finished. With ``options.threads``
        the files stream through the threaded pipeline (decoding, faces and every detector at
        once); closing the iterator or setting ``stop`` ends it."""
        if not self.options.threads:
            for path in paths:
                if stop is not None and stop.is_set():
                    return
                yield self.scan_file(path)
            return
        results = self.engine.scan(paths, stop)
        try:
            for result in results:
                yield self._result(result)
        finally:
            results.close()

    def scan_image(self, image: np.ndarray, source: str = "<image>") -> ScanResult:
        """One RGB uint8 image [H, W, 3] already in memory, judged as a still."""
        return self.scan_frames(source, [image])

    def scan_frames(self, source: str, frames: Iterable[np.ndarray | VideoFrame]) -> ScanResult:
        """Frames already in memory (RGB uint8 arrays, or VideoFrames with their own index and
        time), judged as one source. Arrays are numbered 0, 1, ... at ``options.fps``."""
        analysed = []
        try:
            for position, frame in enumerate(frames):
                if not isinstance(frame, VideoFrame):
                    frame = VideoFrame(position, position * 1000.0 / self.options.fps, frame)
                image = fit_for_processing(_rgb(frame.image, source, position))
                analysed.append(self.engine.analyse(source, VideoFrame(frame.index, frame.timestamp_ms, image)))
        except ValueError as err:
            return ScanResult(source, self._error_verdict(source, str(err)), error=str(err))
        except Exception as err:  # a detector or face-finder bug: this source fails, the caller goes on
            error = f"{source}: unexpected error: {err!r}"
            return ScanResult(source, self._error_verdict(source, error), error=error)
        if not analysed:
            error = f"{source}: no frames given"
            return ScanResult(source, self._error_verdict(source, error), error=error)
        verdict = self.engine.judge_frames(source, analysed) if self.judge is not None else None
        judged = verdict is not None and verdict.status == "ok"
        people = judge_people(source, analysed, self.engine.judge_frames) if judged else ()
        return ScanResult(source, verdict, tuple(self.engine.reported(f) for f in analysed), people=people)

    # ---- lower level, for front ends that show frames as they go (detect_video) ----
    def analyse_frame(self, source: str, frame: VideoFrame) -> FrameDetections:
        """Faces and every detector on one frame, every detection from the engine's floor up."""
        return self.engine.analyse(source, frame)

    def reported(self, frame: FrameDetections) -> FrameDetections:
        """The frame with only the detections at or above their reporting threshold."""
        return self.engine.reported(frame)

    def judge_frames(self, source: str, frames: Sequence[FrameDetections]) -> Verdict:
        """The judge's verdict on analysed frames (as `analyse_frame` gives them)."""
        if self.judge is None:
            raise ScannerError("this Scanner has no judge (opened with judge_dir=None)")
        return self.engine.judge_frames(source, list(frames))

    def fake_probability(self, frames: Sequence[FrameDetections]) -> float | None:
        """The judge's probability on the frames so far (None before a face was seen): for a
        running display; the verdict comes from `judge_frames`."""
        if self.judge is None:
            raise ScannerError("this Scanner has no judge (opened with judge_dir=None)")
        judged = [self.engine.for_judge(f) for f in frames if f.faces]
        if not judged:
            return None
        return self.judge.run(sequence_features(judged, self.detector_names)).probability

    # ---- lifetime ----
    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for detector in self.detectors:
            detector.close()

    def __enter__(self) -> Scanner:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- helpers ----
    def _error_verdict(self, source: str, error: str) -> Verdict | None:
        if self.judge is None:
            return None
        return Verdict(source, "error", detectors=self.detector_names, error=error)

    def _result(self, result: SourceResult) -> ScanResult:
        verdict = result.verdict
        error = verdict.error if verdict is not None and verdict.status == "error" else ""
        if self.judge is None:
            verdict = None
        if verdict is not None and self.options.provenance and verdict.status != "error":
            from deepfake_scanner.provenance import read_provenance

            if Path(result.source).is_file():
                verdict = dataclasses.replace(verdict, provenance=read_provenance(result.source))
        frames = tuple(self.engine.reported(f) for f in result.frames)
        people = ()
        if verdict is not None and verdict.status == "ok":
            people = judge_people(result.source, result.frames, self.engine.judge_frames)
        return ScanResult(result.source, verdict, frames, error, result.warning, people)


def _rgb(image: np.ndarray, source: str, position: int) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 1:
        raise ValueError(
            f"{source}: frame {position} must be an RGB uint8 array [H, W, 3], got {image.dtype} {image.shape}"
        )
    return image


__all__ = ["ScanOptions", "ScanResult", "Scanner", "ScannerError"]
