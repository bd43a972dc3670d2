"""detect_video.py's work: every frame decoded and written, every Nth analysed, the boxes
carried to the frames between, the judge re-run on the frames so far for a running bar."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2

from cnn_detector.annotate import draw_frame
from cnn_detector.atomic_file import temporary_sibling
from cnn_detector.csv_output import DetectionCsvWriter
from cnn_detector.engine import EngineOptions, ScanEngine
from cnn_detector.errors import MediaError
from cnn_detector.faces import FaceFinder
from cnn_detector.frozen_graph import FrozenGraphDetector
from cnn_detector.image_io import check_readable_file
from cnn_detector.types import FrameDetections, Verdict
from cnn_detector.verdict_output import AtomicResultFile
from cnn_detector.video import VideoFrame
from rnn_judge.features import sequence_features


@dataclass
class AnnotationReport:
    frames_written: int
    frames_analysed: int
    verdict: Verdict


def annotate_video(
    path: Path,
    output: Path,
    detectors: Sequence[FrozenGraphDetector],
    judge,
    fps: float,
    detections_csv: Path | None = None,
) -> AnnotationReport:
    check_readable_file(Path(path))
    engine = ScanEngine(detectors, FaceFinder(), judge, EngineOptions(fps=fps))
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise MediaError(f"{path}: not a readable video")
    native = capture.get(cv2.CAP_PROP_FPS)
    native = native if 0 < native < 1000 else 25.0
    step = max(1, round(native / fps))
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = temporary_sibling(output, suffix=".mp4")
    os.close(fd)
    writer = None
    csv_file = AtomicResultFile(detections_csv) if detections_csv else None
    csv_writer = DetectionCsvWriter(csv_file.stream) if csv_file else None
    analysed: list[FrameDetections] = []
    last, probability, written, index = None, None, 0, 0
    try:
        while True:
            ok, bgr = capture.read()
            if not ok:
                break
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            if index % step == 0:
                frame = engine.analyse(str(path), VideoFrame(index, index * 1000.0 / native, rgb))
                analysed.append(frame)
                last = engine.reported(frame)
                if csv_writer:
                    csv_writer.write_frame(last)
                judged = [engine.for_judge(f) for f in analysed if f.faces]
                if judged:
                    probability = judge.run(sequence_features(judged, engine.names)).probability
            annotated = cv2.cvtColor(draw_frame(rgb, last, probability, judge.threshold), cv2.COLOR_RGB2BGR)
            if writer is None:
                height, width = annotated.shape[:2]
                writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*"mp4v"), native, (width, height))
                if not writer.isOpened():
                    raise MediaError(f"{output}: OpenCV cannot write mp4 here")
            writer.write(annotated)
            written += 1
            index += 1
        if written == 0:
            raise MediaError(f"{path}: no video frames could be decoded (empty, audio-only or corrupt)")
        writer.release()
        writer = None
        check = cv2.VideoCapture(tmp)
        readable = int(check.get(cv2.CAP_PROP_FRAME_COUNT))
        check.release()
        if readable != written:
            raise MediaError(f"{output}: wrote {written} frames but reading it back finds {readable}")
        os.replace(tmp, output)
        if csv_file:
            csv_file.commit()
    finally:
        capture.release()
        if writer is not None:
            writer.release()
        if os.path.exists(tmp):
            os.unlink(tmp)
        if csv_file:
            csv_file.discard()
    verdict = judge.decide(str(path), [engine.for_judge(f) for f in analysed], engine.names)
    return AnnotationReport(written, len(analysed), verdict)
