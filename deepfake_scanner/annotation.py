"""detect_video.py's work: every frame decoded and written, every Nth analysed, the boxes
carried to the frames between, the judge re-run on the frames so far for a running bar."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2

from cnn_detector.atomic_file import temporary_sibling
from cnn_detector.errors import MediaError
from cnn_detector.types import FrameDetections, Verdict
from deepfake_scanner.output.annotate import draw_frame
from deepfake_scanner.output.detections_csv import DetectionCsvWriter
from deepfake_scanner.output.verdicts import AtomicResultFile
from deepfake_scanner.video import VideoFrame, VideoFrames, fit_for_processing

GIF_FPS = 10.0  # frame rate of the annotated copy of an animation (GIF frames last 100 ms by default)


@dataclass
class AnnotationReport:
    frames_written: int
    frames_analysed: int
    verdict: Verdict
    warning: str = ""  # e.g. the stream broke part-way: written and judged up to there


def annotate_video(path: Path, output: Path, scanner, detections_csv: Path | None = None) -> AnnotationReport:
    """Write an annotated copy of the video at ``path`` to ``output`` (.mp4, atomically, read
    back to check), analysing the frames the Scanner's sampling picks (``scanner.options``:
    fps and max_frames) and carrying their boxes to the frames between."""
    if scanner.judge is None:
        raise ValueError("annotate_video needs a Scanner with a judge (for the running fake probability)")
    video = VideoFrames(Path(path), fps=scanner.options.fps, max_frames=scanner.options.max_frames)
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = temporary_sibling(output, suffix=".mp4")
    os.close(fd)
    writer = None
    csv_file = AtomicResultFile(detections_csv) if detections_csv else None
    csv_writer = DetectionCsvWriter(csv_file.stream) if csv_file else None
    analysed: list[FrameDetections] = []
    last, probability, written = None, None, 0
    source = str(path)
    try:
        for frame, sampled in video.every_frame():
            if sampled:
                fitted = VideoFrame(frame.index, frame.timestamp_ms, fit_for_processing(frame.image))
                found = scanner.analyse_frame(source, fitted)
                analysed.append(found)
                last = scanner.reported(found)
                if csv_writer:
                    csv_writer.write_frame(last)
                probability = scanner.fake_probability(analysed)
            drawn = draw_frame(frame.image, last, probability, scanner.judge.threshold)
            annotated = cv2.cvtColor(drawn, cv2.COLOR_RGB2BGR)
            if writer is None:
                height, width = annotated.shape[:2]
                rate = video.native_fps or GIF_FPS
                writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*"mp4v"), rate, (width, height))
                if not writer.isOpened():
                    raise MediaError(f"{output}: OpenCV cannot write mp4 here")
            writer.write(annotated)
            written += 1
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
        if writer is not None:
            writer.release()
        if os.path.exists(tmp):
            os.unlink(tmp)
        if csv_file:
            csv_file.discard()
    verdict = scanner.judge_frames(source, analysed)
    return AnnotationReport(written, len(analysed), verdict, video.warning)
