"""Where a scan's results go, and what ``--resume`` keeps.

With an output file, each finished file goes to the journal (`scan_journal`) as it finishes;
the verdicts file and the detections CSV are written whole from the earlier output and the
journal when the scan ends, then the journal is removed. A scan stopped by a signal writes
what it finished too, unless it started fresh over an earlier output (that complete file is
kept as it was); either way the journal stays, and ``--resume`` finishes the scan.

Earlier outputs are read defensively: a damaged row (a line cut by a crash, wrong cell count,
bad JSON) is reported with its line numbers and its file scanned again, and the damaged file is
kept beside the new one (``v.csv.damaged-<time>``) before it is replaced; a file that is not a
verdicts file at all is refused, never overwritten. Memory holds one line per verdict; the
detection rows stream from disk when the final files are written.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cnn_detector.atomic_file import atomic_writer
from cnn_detector.types import VERDICT_STATUSES, Verdict
from deepfake_scanner.output.detections_csv import DETECTION_COLUMNS, DetectionCsvWriter, csv_line, unescape_text
from deepfake_scanner.output.scan_journal import (
    JournalEntry,
    JournalHeader,
    ResumeError,
    ScanJournal,
    journal_detection_rows,
    journal_path,
    read_journal,
)
from deepfake_scanner.output.verdicts import (
    VERDICT_COLUMNS,
    AtomicResultFile,
    VerdictWriter,
    json_line,
    verdict_line,
    verdict_record,
)

_ENCODING = {"encoding": "utf-8", "errors": "surrogateescape"}  # file names of any bytes


def is_jsonl(path: Path) -> bool:
    return Path(path).suffix.lower() == ".jsonl"


def content_sha256(path: str | Path) -> str:
    """The sha256 of a file's content ("" when it cannot be read): with the path, what a verdict is
    kept under, so that --resume scans a file again when its content changed."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return ""
    return digest.hexdigest()


def is_parquet(path: Path) -> bool:
    return Path(path).suffix.lower() == ".parquet"


def parquet_cell(text: str) -> str:
    """Parquet text must be UTF-8: a file name that is not (surrogate escapes) is written with
    backslash escapes, and --resume scans such a file again."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def write_parquet_verdicts(records: list[dict], handle) -> None:
    """Verdict records (verdict_record) as one Parquet table: VERDICT_COLUMNS, detectors a list,
    provenance as JSON text (null where the media says nothing of itself)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema(
        [
            ("source", pa.string()),
            ("status", pa.string()),
            ("is_fake", pa.bool_()),
            ("fake_probability", pa.float64()),
            ("threshold", pa.float64()),
            ("likely_algorithm", pa.string()),
            ("frames_used", pa.int64()),
            ("detectors", pa.list_(pa.string())),
            ("error", pa.string()),
            ("provenance", pa.string()),
            ("sha256", pa.string()),
        ]
    )
    rows = [
        {
            **{column: record.get(column) for column in VERDICT_COLUMNS},
            "source": parquet_cell(record["source"]),
            "error": parquet_cell(record.get("error") or ""),
            "provenance": json.dumps(record["provenance"]) if record.get("provenance") else None,
            "sha256": record.get("sha256") or None,
        }
        for record in records
    ]
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), handle)


@dataclass
class EarlierResults:
    """What an earlier output holds: each source's formatted line (file order), the sources
    with a verdict other than error (not scanned again), and damaged rows found."""

    lines: dict[str, str] = field(default_factory=dict)
    done: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    sha256: dict[str, str] = field(default_factory=dict)  # JSON lines and Parquet keep it


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
        elif is_parquet(path):
            _read_parquet_verdicts(path, result)
        else:
            _read_csv_verdicts(path, result)
    except OSError as err:
        raise ResumeError(f"{path}: cannot be read for --resume ({err.strerror or err})") from None
    return result


def _keep(result: EarlierResults, source: str, status: str, line: str, sha256: object = "") -> None:
    if source in result.lines:
        return  # an earlier run's duplicate: the first row stands
    result.lines[source] = line
    if isinstance(sha256, str) and sha256:
        result.sha256[source] = sha256
    if status != "error":
        result.done.add(source)


def _read_parquet_verdicts(path: Path, result: EarlierResults) -> None:
    """Each row kept as its JSON line (the final file is written from records again)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        rows = pq.read_table(path).to_pylist()
    except (pa.ArrowException, ValueError) as err:
        raise ResumeError(f"{path}: not a Parquet verdicts file ({err}); --resume will not overwrite it") from None
    for number, record in enumerate(rows, start=1):
        source, status = record.get("source"), record.get("status")
        if not isinstance(source, str) or status not in VERDICT_STATUSES:
            result.problems.append(f"{path}: row {number}: damaged row (source, status)")
            continue
        if record.get("provenance"):
            record["provenance"] = json.loads(record["provenance"])
        else:
            record.pop("provenance", None)
        if not record.get("sha256"):
            record.pop("sha256", None)
        _keep(result, source, status, json_line(record), record.get("sha256"))
    if rows and not result.lines:
        raise ResumeError(f"{path}: no row is a verdict (source, status); --resume will not overwrite it")


def _read_jsonl_verdicts(path: Path, result: EarlierResults) -> None:
    lines = 0
    with open(path, newline="\n", **_ENCODING) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            lines += 1
            try:
                record = json.loads(line)
                source, status = record["source"], record["status"]
                if not isinstance(source, str) or status not in VERDICT_STATUSES:
                    raise ValueError("source must be text and status one of " + ", ".join(VERDICT_STATUSES))
            except (ValueError, KeyError, TypeError) as err:
                result.problems.append(f"{path}:{number}: damaged row ({err})")
                continue
            _keep(result, source, status, line if line.endswith("\n") else line + "\n", record.get("sha256"))
    if lines and not result.lines:
        raise ResumeError(f"{path}: no line is a verdict (source, status); --resume will not overwrite it")


def _span(first: int, last: int) -> str:
    return f"{first}" if first >= last else f"{first}-{last}"


def _csv_rows(path: Path, columns: tuple[str, ...], what: str, problems: list[str]) -> Iterator[list[str]]:
    """Rows of a CSV whose header must be ``columns``; damaged rows go to ``problems`` with
    their physical line numbers (a stray quote can swallow many lines: the span says so)."""
    with open(path, newline="", **_ENCODING) as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
            if header is None:
                return
            if tuple(header) != tuple(columns):
                shown = ",".join(header)[:80]
                raise ResumeError(
                    f"{path}: not a {what} file (header {shown!r}, expected {','.join(columns)!r}); "
                    "--resume will not overwrite it"
                )
            while True:
                first = reader.line_num + 1
                row = next(reader, None)
                if row is None:
                    return
                if len(row) == len(columns):
                    yield row
                elif any(row):
                    problems.append(f"{path}:{_span(first, reader.line_num)}: damaged row ({len(row)} cells)")
        except csv.Error as err:
            problems.append(f"{path}:{reader.line_num}: unreadable CSV from here on ({err})")


def _read_csv_verdicts(path: Path, result: EarlierResults) -> None:
    for row in _csv_rows(path, VERDICT_COLUMNS, "verdicts", result.problems):
        if row[1] in VERDICT_STATUSES:
            _keep(result, unescape_text(row[0]), row[1], csv_line(row))
        else:
            result.problems.append(f"{path}: a row of {row[0]!r} has status {row[1]!r}")


def check_detections_file(path: Path) -> None:
    """ResumeError unless ``path`` is absent, empty or a detections CSV (checked by its header)."""
    if Path(path).exists():
        rows = _csv_rows(Path(path), DETECTION_COLUMNS, "detections", [])
        next(rows, None)


def _earlier_detection_rows(path: Path, sources: set[str], problems: list[str]) -> Iterator[list[str]]:
    if Path(path).exists():
        for row in _csv_rows(Path(path), DETECTION_COLUMNS, "detections", problems):
            if unescape_text(row[0]) in sources:
                yield row


def keep_damaged_copy(path: Path) -> Path:
    """Copy an earlier output that had damaged rows aside before it is replaced."""
    copy = Path(path).with_name(f"{Path(path).name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    shutil.copy2(path, copy)
    return copy


class ScanRecorder:
    """Where one scan's results go (see the module docstring).

    Constructing reads what --resume keeps and creates no file; a journal left by a stopped
    scan is refused without --resume, and a resumed scan must name the detections file the
    stopped one wrote. Without an output file, verdict rows go to ``stream`` as each file
    finishes and the detections CSV through a temporary file."""

    def __init__(self, output: Path | None, detections: Path | None, resume: bool):
        self.output = Path(output) if output else None
        self.detections = Path(detections) if detections else None
        self.earlier = EarlierResults()
        self.entries: dict[str, JournalEntry] = {}
        self.problems: list[str] = []
        self._journal: ScanJournal | None = None
        self._writer = self._detections_file = self._detection_writer = None
        if self.output is None:
            return
        wanted = str(self.detections.resolve()) if self.detections else None
        self.header = JournalHeader(fresh=not resume, detections=wanted)
        journal = journal_path(self.output)
        if journal.exists():
            if not resume:
                raise ResumeError(
                    f"{journal}: an earlier scan into {self.output} stopped before it finished; "
                    "pass --resume to finish it, or delete the journal to start over"
                )
            header, self.entries, self.problems = read_journal(journal)
            if header is not None and header.detections != wanted:
                asked = f"--detections {header.detections}" if header.detections else "no --detections"
                raise ResumeError(f"{journal}: the stopped scan wrote its detections elsewhere; resume it with {asked}")
            self.header = header or JournalHeader(fresh=False, detections=wanted)
        if not self.header.fresh:
            self.earlier = read_earlier_verdicts(self.output)
            self.problems = self.earlier.problems + self.problems
            if self.detections is not None:
                check_detections_file(self.detections)

    @property
    def done(self) -> set[str]:
        """Sources that already have a verdict other than error."""
        journaled = {source for source, entry in self.entries.items() if entry.verdict.status != "error"}
        return self.earlier.done | journaled

    def recorded_sha256(self, source: str) -> str:
        """The content sha256 recorded for a done source ("" when the earlier output has none)."""
        entry = self.entries.get(source)
        return (entry.sha256 if entry is not None else "") or self.earlier.sha256.get(source, "")

    def start(self, stream) -> None:
        """Begin writing: open (and lock) the journal, or write the header on ``stream``."""
        if self.output is not None:
            self._journal = ScanJournal(journal_path(self.output), self.header)
            return
        self._writer = VerdictWriter(stream, jsonl=False)
        if self.detections is not None:
            self._detections_file = AtomicResultFile(self.detections)
            self._detection_writer = DetectionCsvWriter(self._detections_file.stream)

    def record(self, verdict: Verdict, detections: list[list[str]], sha256: str = "") -> None:
        """One finished file; on disk (journal) or on the stream when this returns. ``sha256``:
        of the file's content, kept in the journal, JSON lines and Parquet (not in CSV's columns)."""
        rows = detections if self.detections is not None else []
        if self.output is None:
            self._writer.write(verdict)
            if self._detection_writer is not None:
                self._detection_writer.write_rows(rows)
            return
        line = self._journal.append(verdict, rows, sha256)
        self.entries.pop(verdict.source, None)
        self.entries[verdict.source] = JournalEntry(verdict, line, sha256)

    def finish(self, complete: bool = True) -> list[str]:
        """Write the final files; remove the journal if the scan is ``complete``. Returns what
        the user should be told (files kept aside or left as they were)."""
        if self.output is None:
            if self._detections_file is not None:
                self._detections_file.commit()
            return []
        if self._journal is not None:
            self._journal.close()
        journal = journal_path(self.output)
        notes = []
        if complete or not self.header.fresh or not self.output.exists():
            if self.earlier.problems and self.output.exists():
                notes.append(f"the earlier {self.output} had damaged rows; kept as {keep_damaged_copy(self.output)}")
            notes += self._write_final()
        else:
            notes.append(f"{self.output} is left as it was (the complete earlier results)")
        if complete:
            journal.unlink(missing_ok=True)
        else:
            notes.append(f"the {len(self.entries)} verdict(s) finished are in {journal}; --resume continues the scan")
        return notes

    def _write_final(self) -> list[str]:
        """The verdicts file (and detections CSV) whole: the earlier rows whose file was not
        judged again, then the journal's entries."""
        jsonl = is_jsonl(self.output)
        kept = [source for source in self.earlier.lines if source not in self.entries]
        if is_parquet(self.output):
            records = [json.loads(self.earlier.lines[source]) for source in kept]
            records += [self._record(entry) for entry in self.entries.values()]
            with atomic_writer(self.output, "wb", encoding=None) as handle:
                write_parquet_verdicts(records, handle)
        else:
            self._write_text(jsonl, kept)
        return self._write_detections(kept)

    def _write_text(self, jsonl: bool, kept: list[str]) -> None:
        with atomic_writer(self.output, "w", newline="", **_ENCODING) as handle:
            if not jsonl:
                handle.write(csv_line(list(VERDICT_COLUMNS)))
            handle.writelines(self.earlier.lines[source] for source in kept)
            if jsonl:
                handle.writelines(json_line(self._record(entry)) for entry in self.entries.values())
            else:
                handle.writelines(verdict_line(entry.verdict, jsonl) for entry in self.entries.values())

    @staticmethod
    def _record(entry: JournalEntry) -> dict:
        """A verdict record for JSON lines and Parquet, with the content's sha256 when known."""
        return {**verdict_record(entry.verdict), **({"sha256": entry.sha256} if entry.sha256 else {})}

    def _write_detections(self, kept: list[str]) -> list[str]:
        if self.detections is None:
            return []
        problems: list[str] = []
        lines = {entry.line for entry in self.entries.values()}
        with atomic_writer(self.detections, "w", newline="", **_ENCODING) as handle:
            handle.write(csv_line(list(DETECTION_COLUMNS)))
            if not self.header.fresh:
                for row in _earlier_detection_rows(self.detections, set(kept), problems):
                    handle.write(csv_line(row))
            for row in journal_detection_rows(journal_path(self.output), lines):
                handle.write(csv_line(row))
        return [f"{problem}; dropped" for problem in problems]

    def abandon(self) -> None:
        """After a crash: the journal stays for --resume; earlier complete files stay as they were."""
        if self._journal is not None:
            self._journal.close()
        if self._detections_file is not None:
            self._detections_file.discard()
