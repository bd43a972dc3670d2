"""CSV rows for detections: plain numbers, normalized coordinates, formula-safe text."""

from __future__ import annotations

import csv
from typing import TextIO

from cnn_detector.types import FrameDetections

DETECTION_COLUMNS = (
    "source",
    "frame_index",
    "timestamp_ms",
    "detector",
    "class_id",
    "label",
    "score",
    "xmin",
    "ymin",
    "xmax",
    "ymax",
    "width",
    "height",
)

# A spreadsheet runs a cell that starts with one of these as a formula (OWASP CSV injection).
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")


def escape_text(value: str) -> str:
    """Prefix a quote to text a spreadsheet would run as a formula."""
    return "'" + value if value.startswith(_FORMULA_PREFIXES) else value


def plain_number(value: float, digits: int = 6) -> str:
    """A fixed-point number without locale, exponent or trailing zeros: 0.5, 1, 0.000123."""
    text = f"{float(value):.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def detection_rows(frame: FrameDetections) -> list[list[str]]:
    """One CSV row per detection on a frame, in DETECTION_COLUMNS order."""
    height, width = frame.image_size
    source = escape_text(frame.source)
    rows = []
    for det in frame.detections:
        ymin, xmin, ymax, xmax = det.box
        rows.append(
            [
                source,
                str(frame.frame_index),
                plain_number(frame.timestamp_ms, 3),
                escape_text(det.detector),
                str(det.class_id),
                escape_text(det.label),
                plain_number(det.score),
                plain_number(xmin),
                plain_number(ymin),
                plain_number(xmax),
                plain_number(ymax),
                str(width),
                str(height),
            ]
        )
    return rows


class DetectionCsvWriter:
    """Writes the header once, then rows per frame; flushes after each frame."""

    def __init__(self, stream: TextIO):
        self._stream = stream
        self._writer = csv.writer(stream, lineterminator="\n")
        self._writer.writerow(DETECTION_COLUMNS)
        stream.flush()

    def write_rows(self, rows: list[list[str]]) -> None:
        """Rows already in DETECTION_COLUMNS form (an earlier run's, kept by --resume)."""
        self._writer.writerows(rows)
        self._stream.flush()

    def write_frame(self, frame: FrameDetections) -> int:
        rows = detection_rows(frame)
        self._writer.writerows(rows)
        self._stream.flush()
        return len(rows)
