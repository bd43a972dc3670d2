"""Verdict rows (CSV or JSON lines) and result files that appear whole or not at all.

`AtomicResultFile` writes to a temporary file beside the target and renames it over the
target on `commit` (also on Ctrl-C, with what was finished), so a reader never sees half a
file and an earlier complete file is never lost to a crash.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path
from typing import TextIO

from cnn_detector.csv_output import escape_text, plain_number
from cnn_detector.types import Verdict

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
    }


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


class AtomicResultFile:
    """A text file written through a temporary sibling; `commit` renames it into place."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, self._tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        os.chmod(self._tmp, 0o644)
        self.stream: TextIO = os.fdopen(fd, "w", encoding="utf-8", newline="")

    def commit(self) -> None:
        if self.stream.closed:
            return
        self.stream.flush()
        os.fsync(self.stream.fileno())
        self.stream.close()
        os.replace(self._tmp, self.path)

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
        self._csv = None if jsonl else csv.writer(stream, lineterminator="\n")
        if self._csv is not None:
            self._csv.writerow(VERDICT_COLUMNS)

    def write(self, verdict: Verdict) -> None:
        if self.jsonl:
            self.stream.write(json.dumps(verdict_record(verdict), ensure_ascii=False) + "\n")
        else:
            self._csv.writerow(verdict_row(verdict))
        self.stream.flush()

    def write_raw(self, line: str) -> None:
        """An already formatted row from an earlier run (--resume keeps them verbatim)."""
        self.stream.write(line if line.endswith("\n") else line + "\n")


def previous_results(path: Path) -> tuple[list[str], set[str]]:
    """Rows (raw lines, without a CSV header) and sources of an earlier output, for --resume.
    Error rows are left out, so that --resume tries those files again."""
    path = Path(path)
    if not path.is_file():
        return [], set()
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".jsonl":
        records = [(line, json.loads(line)) for line in text.splitlines() if line.strip()]
        kept = [(line, r) for line, r in records if r.get("status") != "error"]
        return [line for line, _ in kept], {r["source"] for _, r in kept}
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or tuple(rows[0]) != VERDICT_COLUMNS:
        return [], set()
    lines, sources = [], set()
    for row in rows[1:]:
        if len(row) != len(VERDICT_COLUMNS) or row[1] == "error":
            continue
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerow(row)
        lines.append(out.getvalue())
        sources.add(row[0][1:] if row[0].startswith("'") else row[0])
    return lines, sources


def previous_detection_rows(path: Path, keep_sources: set[str]) -> list[list[str]]:
    """Detection CSV rows of an earlier run whose source is kept by --resume."""
    path = Path(path)
    if not path.is_file():
        return []
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    return [r for r in rows[1:] if r and (r[0][1:] if r[0].startswith("'") else r[0]) in keep_sources]
