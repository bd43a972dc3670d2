"""Verdict rows (CSV or JSON lines) and result files that appear whole or not at all.

`AtomicResultFile` writes to a temporary file beside the target and renames it over the
target on `commit`, so a reader never sees half a file and an earlier complete file is never
lost to a crash. What --resume reads back is in `scan_journal`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TextIO

from cnn_detector.atomic_file import sync_folder, temporary_sibling
from cnn_detector.types import Provenance, Verdict
from deepfake_scanner.output.detections_csv import csv_line, escape_text, plain_number

VERDICT_COLUMNS = (
    "source",
    "status",
    "is_fake",
    "fake_probability",
    "threshold",
    "likely_algorithm",
    "frames_used",
    "detectors",
    "error",
)


def verdict_record(verdict: Verdict) -> dict[str, object]:
    """Plain values for JSON lines (null where undecided)."""
    return {
        "source": verdict.source,
        "status": verdict.status,
        "is_fake": verdict.is_fake,
        "fake_probability": verdict.fake_probability,
        "threshold": verdict.threshold,
        "likely_algorithm": verdict.likely_algorithm,
        "frames_used": verdict.frames_used,
        "detectors": list(verdict.detectors),
        "error": verdict.error,
        # Evidence beside the judgement, in JSON only (the CSV keeps DESIGN's columns); absent
        # when the media says nothing of itself.
        **({"provenance": provenance_record(verdict.provenance)} if has_provenance(verdict) else {}),
    }


def has_provenance(verdict: Verdict) -> bool:
    return verdict.provenance is not None and verdict.provenance.found


def provenance_record(provenance: Provenance) -> dict[str, object]:
    return {
        "watermarks": list(provenance.watermarks),
        "c2pa_ai": provenance.c2pa_ai,
        "c2pa_claim_generator": provenance.c2pa_claim_generator,
        "c2pa_validation": provenance.c2pa_validation,
        "error": provenance.error,
    }


def provenance_from_record(record: dict | None) -> Provenance | None:
    if not record:
        return None
    return Provenance(
        tuple(record.get("watermarks") or ()),
        record.get("c2pa_ai") or "",
        record.get("c2pa_claim_generator") or "",
        record.get("c2pa_validation") or "",
        record.get("error") or "",
    )


def verdict_row(verdict: Verdict) -> list[str]:
    """CSV cells in VERDICT_COLUMNS order: plain numbers, formula-safe text, ';'-joined detectors."""

    def number(value):
        return "" if value is None else plain_number(value)

    return [
        escape_text(verdict.source),
        verdict.status,
        "" if verdict.is_fake is None else str(verdict.is_fake).lower(),
        number(verdict.fake_probability),
        number(verdict.threshold),
        escape_text(verdict.likely_algorithm),
        str(verdict.frames_used),
        escape_text(";".join(verdict.detectors)),
        escape_text(verdict.error),
    ]


def verdict_from_record(record: dict) -> Verdict:
    """The Verdict of a `verdict_record` (raises KeyError, TypeError or ValueError if malformed)."""
    return Verdict(
        source=record["source"],
        status=record["status"],
        is_fake=record.get("is_fake"),
        fake_probability=record.get("fake_probability"),
        threshold=record.get("threshold"),
        likely_algorithm=record.get("likely_algorithm") or "",
        frames_used=int(record.get("frames_used") or 0),
        detectors=tuple(record.get("detectors") or ()),
        error=record.get("error") or "",
        provenance=provenance_from_record(record.get("provenance")),
    )


def json_line(record: dict) -> str:
    """One JSON line, UTF-8 text as is; a file name that is not UTF-8 (surrogate escapes) is
    written as JSON \\u escapes, which json.loads turns back into the same name."""
    text = json.dumps(record, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(record)
    return text + "\n"


def verdict_line(verdict: Verdict, jsonl: bool) -> str:
    """The verdict as one line of a JSON-lines or CSV verdicts file."""
    return json_line(verdict_record(verdict)) if jsonl else csv_line(verdict_row(verdict))


class AtomicResultFile:
    """A text file written through a temporary sibling; `commit` renames it into place.
    File names that are not UTF-8 are written with their own bytes (surrogateescape)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, self._tmp = temporary_sibling(self.path)
        self.stream: TextIO = os.fdopen(fd, "w", encoding="utf-8", newline="", errors="surrogateescape")

    def commit(self) -> None:
        if self.stream.closed:
            return
        self.stream.flush()
        os.fsync(self.stream.fileno())
        self.stream.close()
        os.replace(self._tmp, self.path)
        sync_folder(self.path)

    def discard(self) -> None:
        if not self.stream.closed:
            self.stream.close()
        if os.path.exists(self._tmp):
            os.unlink(self._tmp)


class VerdictWriter:
    """Writes verdicts as CSV (header first) or JSON lines, chosen by the file suffix."""

    def __init__(self, stream: TextIO, jsonl: bool):
        self.stream = stream
        self.jsonl = jsonl
        if not jsonl:
            self.write_raw(csv_line(list(VERDICT_COLUMNS)))

    def write(self, verdict: Verdict) -> None:
        self.write_raw(verdict_line(verdict, self.jsonl))
        self.stream.flush()

    def write_raw(self, line: str) -> None:
        """An already formatted row (an earlier run's, kept by --resume)."""
        self.stream.write(line if line.endswith("\n") else line + "\n")
