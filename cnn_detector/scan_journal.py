"""Durable scan progress, and what ``--resume`` keeps.

Each finished file's verdict and detection rows are appended to a journal beside the
verdicts file (``v.csv`` -> ``v.csv.journal``), one JSON line each, fsync'd before the scan
moves on. A scan stopped by a signal, a crash or SIGKILL so loses at most the files in
flight. The verdicts file (and the detections CSV) are written whole, from the earlier
output and the journal, when the scan ends or is interrupted; then the journal is removed.
``--resume`` reads the earlier output and any journal left behind, and skips every source
that already has a verdict other than ``error``.

Earlier outputs are read defensively: a damaged row (a line cut by a crash, wrong cell count,
bad JSON) is reported with its line number and its source is scanned again; a file that is
not a verdicts file at all is refused, never overwritten.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cnn_detector.atomic_file import atomic_writer
from cnn_detector.csv_output import DETECTION_COLUMNS, DetectionCsvWriter, csv_line, unescape_text
from cnn_detector.errors import DeepfakeScannerError
from cnn_detector.types import VERDICT_STATUSES, Verdict
from cnn_detector.verdict_output import (
    VERDICT_COLUMNS,
    AtomicResultFile,
    VerdictWriter,
    verdict_from_record,
    verdict_line,
    verdict_record,
)

JOURNAL_SUFFIX = ".journal"
_ENCODING = {"encoding": "utf-8", "errors": "surrogateescape"}  # file names of any bytes


class ResumeError(DeepfakeScannerError):
    """An earlier output or journal cannot be used: the message names the file and why."""


def journal_path(output: Path) -> Path:
    return Path(output).with_name(Path(output).name + JOURNAL_SUFFIX)


def is_jsonl(path: Path) -> bool:
    return Path(path).suffix.lower() == ".jsonl"


@dataclass
class JournalEntry:
    verdict: Verdict
    detections: list[list[str]] = field(default_factory=list)  # rows in DETECTION_COLUMNS order


class ScanJournal:
    """Append-only journal; `append` returns once the entry is on disk."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)  # mode from the umask
        size = os.fstat(self._fd).st_size
        if size and _last_byte(self.path, size) != b"\n":
            os.write(self._fd, b"\n")  # a line cut by SIGKILL stays a damaged line of its own

    def append(self, entry: JournalEntry) -> None:
        record = {"verdict": verdict_record(entry.verdict), "detections": entry.detections}
        os.write(self._fd, (json.dumps(record) + "\n").encode("ascii"))  # ASCII: surrogates as \u escapes
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _last_byte(path: Path, size: int) -> bytes:
    with open(path, "rb") as handle:
        handle.seek(size - 1)
        return handle.read(1)


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with open(path, newline="", **_ENCODING) as handle:
        yield from enumerate(handle, start=1)


def read_journal(path: Path) -> tuple[dict[str, JournalEntry], list[str]]:
    """Entries by source (a source journaled twice keeps its last entry) and problems found."""
    entries: dict[str, JournalEntry] = {}
    problems = []
    if not Path(path).is_file():
        return entries, problems
    for number, line in _lines(path):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            entry = JournalEntry(verdict_from_record(record["verdict"]), _detection_cells(record.get("detections")))
        except (ValueError, KeyError, TypeError) as err:
            problems.append(f"{path}:{number}: damaged journal line ({err}); skipped")
            continue
        entries.pop(entry.verdict.source, None)
        entries[entry.verdict.source] = entry
    return entries, problems


def _detection_cells(rows) -> list[list[str]]:
    rows = rows or []
    if not all(isinstance(r, list) and len(r) == len(DETECTION_COLUMNS) for r in rows):
        raise TypeError("detections must be rows of detection cells")
    return [[str(cell) for cell in row] for row in rows]


@dataclass
class EarlierResults:
    """What an earlier output holds: each source's formatted line (file order), the sources
    with a verdict other than error (not scanned again), and damaged rows found."""

    lines: dict[str, str] = field(default_factory=dict)
    done: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)


def read_earlier_verdicts(path: Path) -> EarlierResults:
    """An earlier verdicts file (CSV or JSON lines, by suffix) for --resume; raises
    ResumeError if it cannot be read or is not a verdicts file."""
    path = Path(path)
    result = EarlierResults()
    if not path.exists():
        return result
    try:
        if is_jsonl(path):
            _read_jsonl_verdicts(path, result)
        else:
            _read_csv_verdicts(path, result)
    except OSError as err:
        raise ResumeError(f"{path}: cannot be read for --resume ({err.strerror or err})") from None
    return result


def _keep(result: EarlierResults, source: str, status: str, line: str) -> None:
    if source in result.lines:
        return  # an earlier run's duplicate: the first row stands
    result.lines[source] = line
    if status != "error":
        result.done.add(source)


def _read_jsonl_verdicts(path: Path, result: EarlierResults) -> None:
    lines = 0
    for number, line in _lines(path):
        if not line.strip():
            continue
        lines += 1
        try:
            record = json.loads(line)
            source, status = record["source"], record["status"]
            if not isinstance(source, str) or status not in VERDICT_STATUSES:
                raise ValueError("source must be text and status one of " + ", ".join(VERDICT_STATUSES))
        except (ValueError, KeyError, TypeError) as err:
            result.problems.append(f"{path}:{number}: damaged row ({err}); that source is scanned again")
            continue
        _keep(result, source, status, line if line.endswith("\n") else line + "\n")
    if lines and not result.lines:
        raise ResumeError(f"{path}: no line is a verdict (source, status); not overwriting it with --resume")


def _read_csv_verdicts(path: Path, result: EarlierResults) -> None:
    with open(path, newline="", **_ENCODING) as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
            if header is None:
                return
            if tuple(header) != VERDICT_COLUMNS:
                raise ResumeError(
                    f"{path}: not a verdicts file (header {','.join(header)[:80]!r}, expected "
                    f"{','.join(VERDICT_COLUMNS)!r}); --resume will not overwrite it"
                )
            for row in reader:
                if len(row) != len(VERDICT_COLUMNS) or row[1] not in VERDICT_STATUSES:
                    if any(row):
                        result.problems.append(
                            f"{path}:{reader.line_num}: damaged row ({len(row)} cells); that source is scanned again"
                        )
                    continue
                _keep(result, unescape_text(row[0]), row[1], csv_line(row))
        except csv.Error as err:
            result.problems.append(f"{path}:{reader.line_num}: unreadable CSV ({err}); the rest is scanned again")


def read_earlier_detections(path: Path, sources: set[str]) -> tuple[dict[str, list[list[str]]], list[str]]:
    """Rows of an earlier detections CSV by source, for ``sources``; and problems found."""
    path = Path(path)
    rows: dict[str, list[list[str]]] = {}
    problems: list[str] = []
    if not path.exists():
        return rows, problems
    try:
        with open(path, newline="", **_ENCODING) as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is not None and tuple(header) != DETECTION_COLUMNS:
                raise ResumeError(
                    f"{path}: not a detections file (header {','.join(header)[:80]!r}); --resume will not overwrite it"
                )
            for row in reader:
                if len(row) != len(DETECTION_COLUMNS):
                    if any(row):
                        problems.append(f"{path}:{reader.line_num}: damaged row ({len(row)} cells); dropped")
                    continue
                source = unescape_text(row[0])
                if source in sources:
                    rows.setdefault(source, []).append(row)
    except (OSError, csv.Error) as err:
        raise ResumeError(f"{path}: cannot be read for --resume ({err})") from None
    return rows, problems


def write_final_outputs(
    output: Path,
    earlier: EarlierResults,
    entries: dict[str, JournalEntry],
    detections: Path | None = None,
    earlier_detections: dict[str, list[list[str]]] | None = None,
) -> None:
    """Write the verdicts file (and the detections CSV) whole: the earlier rows whose source
    was not judged again, then the journal's entries."""
    jsonl = is_jsonl(output)
    kept = [source for source in earlier.lines if source not in entries]
    with atomic_writer(output, "w", newline="", **_ENCODING) as handle:
        if not jsonl:
            handle.write(csv_line(list(VERDICT_COLUMNS)))
        for source in kept:
            handle.write(earlier.lines[source])
        for entry in entries.values():
            handle.write(verdict_line(entry.verdict, jsonl))
    if detections is None:
        return
    earlier_detections = earlier_detections or {}
    with atomic_writer(detections, "w", newline="", **_ENCODING) as handle:
        handle.write(csv_line(list(DETECTION_COLUMNS)))
        for source in kept:
            handle.write("".join(map(csv_line, earlier_detections.get(source, []))))
        for entry in entries.values():
            handle.write("".join(map(csv_line, entry.detections)))


class ScanRecorder:
    """Where one scan's results go.

    With an output file: each finished file's entry goes to the journal during the scan, and
    `finish` writes the verdicts file (and detections CSV) whole, then removes the journal.
    Without one: verdict rows go to ``stream`` as each file finishes, and the detections CSV
    through a temporary file committed by `finish`. Constructing reads what --resume keeps
    and creates no file; a journal left by a stopped scan is refused without --resume."""

    def __init__(self, output: Path | None, detections: Path | None, resume: bool):
        self.output = Path(output) if output else None
        self.detections = Path(detections) if detections else None
        self.earlier = EarlierResults()
        self.entries: dict[str, JournalEntry] = {}
        self.problems: list[str] = []
        self._earlier_detections: dict[str, list[list[str]]] = {}
        self._journal: ScanJournal | None = None
        self._writer = self._detections_file = self._detection_writer = None
        if self.output is None:
            return
        journal = journal_path(self.output)
        if journal.exists() and not resume:
            raise ResumeError(
                f"{journal}: an earlier scan into {self.output} stopped before it finished; "
                "pass --resume to finish it, or delete the journal to start over"
            )
        if resume:
            self.earlier = read_earlier_verdicts(self.output)
            self.entries, problems = read_journal(journal)
            self.problems = self.earlier.problems + problems
            if self.detections is not None:
                self._earlier_detections, problems = read_earlier_detections(self.detections, set(self.earlier.lines))
                self.problems += problems

    @property
    def done(self) -> set[str]:
        """Sources that already have a verdict other than error."""
        journaled = {source for source, entry in self.entries.items() if entry.verdict.status != "error"}
        return self.earlier.done | journaled

    def start(self, stream) -> None:
        """Begin writing (the header on ``stream`` when there is no output file)."""
        if self.output is None:
            self._writer = VerdictWriter(stream, jsonl=False)
            if self.detections is not None:
                self._detections_file = AtomicResultFile(self.detections)
                self._detection_writer = DetectionCsvWriter(self._detections_file.stream)

    def record(self, verdict: Verdict, detections: list[list[str]]) -> None:
        """One finished file; on disk (journal) or on the stream when this returns."""
        entry = JournalEntry(verdict, detections if self.detections is not None else [])
        if self.output is None:
            self._writer.write(verdict)
            if self._detection_writer is not None:
                self._detection_writer.write_rows(entry.detections)
            return
        if self._journal is None:
            self._journal = ScanJournal(journal_path(self.output))
        self._journal.append(entry)
        self.entries.pop(verdict.source, None)
        self.entries[verdict.source] = entry

    def finish(self) -> None:
        """Write the final files from everything recorded; the journal is then removed."""
        if self.output is None:
            if self._detections_file is not None:
                self._detections_file.commit()
            return
        if self._journal is not None:
            self._journal.close()
        write_final_outputs(self.output, self.earlier, self.entries, self.detections, self._earlier_detections)
        journal = journal_path(self.output)
        if journal.exists():
            journal.unlink()

    def abandon(self) -> None:
        """After a crash: the journal stays for --resume; earlier complete files stay as they were."""
        if self._journal is not None:
            self._journal.close()
        if self._detections_file is not None:
            self._detections_file.discard()
