"""CSV rows for detections: plain numbers, normalized coordinates, formula-safe text."""

from __future__ import annotations

import csv
import io
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
_ESCAPE = "'"


def escape_text(value: str) -> str:
    """Prefix a quote to text a spreadsheet would run as a formula, and to text that starts
    with a quote itself, so that `unescape_text` tells the two apart (a spreadsheet shows
    ``''name`` as ``'name``)."""
    return _ESCAPE + value if value.startswith((*_FORMULA_PREFIXES, _ESCAPE)) else value


def unescape_text(cell: str) -> str:
    """The text `escape_text` was given."""
    return cell[1:] if cell.startswith(_ESCAPE) else cell


def csv_line(cells: list[str]) -> str:
    """One CSV row ending in "\\n". The csv module leaves a lone "\\r" unquoted when the line
    ends in "\\n" only, and a reader then splits the row there; such a row (a file name may
    hold a carriage return) has every cell quoted instead."""
    out = io.StringIO()
    quoting = csv.QUOTE_ALL if any("\r" in cell for cell in cells) else csv.QUOTE_MINIMAL
    csv.writer(out, lineterminator="\n", quoting=quoting).writerow(cells)
    return out.getvalue()


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
        self.write_rows([list(DETECTION_COLUMNS)])

    def write_rows(self, rows: list[list[str]]) -> None:
        """Rows already in DETECTION_COLUMNS form (an earlier run's, kept by --resume)."""
        self._stream.write("".join(map(csv_line, rows)))
        self._stream.flush()

    def write_frame(self, frame: FrameDetections) -> int:
        rows = detection_rows(frame)
        self.write_rows(rows)
        return len(rows)
