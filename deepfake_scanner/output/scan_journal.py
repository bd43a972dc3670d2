"""The journal of a scan: durable progress, one fsync'd line per finished file.

A scan with an output file (``v.csv``) appends each finished file's verdict and detection rows
to ``v.csv.journal`` before it moves on, so a signal, a crash or SIGKILL loses at most the
files in flight. The first line is a header that says how the scan started: ``fresh`` (without
--resume: the earlier output is to be replaced, never merged) and which detections file it
writes, so that a resumed scan finishes what the stopped one began. Lines are ASCII JSON (file
names that are not UTF-8 as ``\\udcXX`` escapes). While a scan runs, it holds an exclusive lock
on the journal: a second scan into the same output is refused, not interleaved.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cnn_detector.atomic_file import sync_folder
from cnn_detector.errors import DeepfakeScannerError
from cnn_detector.types import Verdict
from deepfake_scanner.output.detections_csv import DETECTION_COLUMNS
from deepfake_scanner.output.verdicts import verdict_from_record, verdict_record

JOURNAL_SUFFIX = ".journal"
JOURNAL_FORMAT = 1


class ResumeError(DeepfakeScannerError):
    """An earlier output or journal cannot be used: the message names the file and why."""


def journal_path(output: Path) -> Path:
    return Path(output).with_name(Path(output).name + JOURNAL_SUFFIX)


@dataclass(frozen=True)
class JournalHeader:
    """fresh: the scan started without --resume (its results replace the earlier output);
    detections: the detections CSV it writes (resolved path), or None."""

    fresh: bool
    detections: str | None

    def record(self) -> dict:
        return {"journal": JOURNAL_FORMAT, "fresh": self.fresh, "detections": self.detections}


@dataclass(frozen=True)
class JournalEntry:
    """A finished file: its verdict, and the journal line that holds it (and its detections)."""

    verdict: Verdict
    line: int
    sha256: str = ""  # of the file's content when it was scanned ("" when not known)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class ScanJournal:
    """Append-only and exclusively locked while open; `append` returns once the line is on disk."""

    def __init__(self, path: Path, header: JournalHeader):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)  # mode from the umask
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            raise ResumeError(f"{self.path}: another scan is writing to this output now") from None
        self.lines = _count_lines(self._fd)
        if os.fstat(self._fd).st_size == 0:
            self._append_line(header.record())
            sync_folder(self.path)
        elif _last_byte(self._fd) != b"\n":
            _write_all(self._fd, b"\n")  # a line cut by SIGKILL stays a damaged line of its own
            self.lines += 1

    def _append_line(self, record: dict) -> int:
        _write_all(self._fd, (json.dumps(record) + "\n").encode("ascii"))  # ASCII: names as \u escapes
        os.fsync(self._fd)
        self.lines += 1
        return self.lines

    def append(self, verdict: Verdict, detections: list[list[str]], sha256: str = "") -> int:
        """Journal one finished file (with its content's sha256 when known); returns its line number."""
        record = {"verdict": verdict_record(verdict), "detections": detections}
        if sha256:
            record["sha256"] = sha256
        return self._append_line(record)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # releases the lock
            self._fd = -1


def _count_lines(fd: int) -> int:
    count, offset = 0, 0
    while chunk := os.pread(fd, 1 << 20, offset):
        count += chunk.count(b"\n")
        offset += len(chunk)
    return count


def _last_byte(fd: int) -> bytes:
    return os.pread(fd, 1, os.fstat(fd).st_size - 1)


def _records(path: Path) -> Iterator[tuple[int, str]]:
    with open(path, encoding="ascii", errors="replace", newline="\n") as handle:
        yield from enumerate(handle, start=1)


def read_journal(path: Path) -> tuple[JournalHeader | None, dict[str, JournalEntry], list[str]]:
    """The header (None if the journal has none), entries by source (a source journaled
    twice keeps its last entry, in the order of those entries) and damaged lines found."""
    header, entries, problems = None, {}, []
    for number, line in _records(path):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if number == 1 and "journal" in record:
                header = JournalHeader(bool(record["fresh"]), record.get("detections"))
                continue
            verdict = verdict_from_record(record["verdict"])
            _detection_cells(record.get("detections"))
            sha256 = record.get("sha256") or ""
            if not isinstance(sha256, str):
                raise TypeError("sha256 must be text")
        except (ValueError, KeyError, TypeError) as err:
            problems.append(f"{path}:{number}: damaged journal line ({err})")
            continue
        entries.pop(verdict.source, None)
        entries[verdict.source] = JournalEntry(verdict, number, sha256)
    return header, entries, problems


def journal_detection_rows(path: Path, lines: set[int]) -> Iterator[list[str]]:
    """The detection rows journaled on ``lines`` (read again from disk, one line at a time,
    so that memory does not grow with the number of detections)."""
    if not lines:
        return
    for number, line in _records(path):
        if number in lines:
            yield from _detection_cells(json.loads(line).get("detections"))


def _detection_cells(rows) -> list[list[str]]:
    rows = rows or []
    if not all(isinstance(r, list) and len(r) == len(DETECTION_COLUMNS) for r in rows):
        raise TypeError("detections must be rows of detection cells")
    return [[str(cell) for cell in row] for row in rows]
