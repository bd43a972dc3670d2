"""The per-person verdicts file of a scan (main_thread.py --people): one row per person of
every judged file, CSV (PERSON_COLUMNS) or JSON lines by the suffix, written through a
temporary sibling and put in place whole when the scan ends."""

from __future__ import annotations

from pathlib import Path

from deepfake_scanner.output.detections_csv import csv_line, escape_text, plain_number
from deepfake_scanner.output.verdicts import AtomicResultFile, json_line

PERSON_COLUMNS = (
    "source",
    "person",
    "start_s",
    "end_s",
    "frames_used",
    "is_fake",
    "fake_probability",
    "threshold",
    "likely_algorithm",
)


def person_record(source: str, person) -> dict[str, object]:
    """Plain values of a `deepfake_scanner.people.PersonVerdict` (times in seconds)."""
    return {
        "source": source,
        "person": person.person,
        "start_s": round(person.start_ms / 1000.0, 3),
        "end_s": round(person.end_ms / 1000.0, 3),
        "frames_used": person.frames_used,
        "is_fake": person.is_fake,
        "fake_probability": person.fake_probability,
        "threshold": person.threshold,
        "likely_algorithm": person.likely_algorithm,
    }


def person_row(source: str, person) -> list[str]:
    record = person_record(source, person)
    cells = []
    for column in PERSON_COLUMNS:
        value = record[column]
        if isinstance(value, bool):
            cells.append(str(value).lower())
        elif isinstance(value, float):
            cells.append(plain_number(value))
        elif isinstance(value, str):
            cells.append(escape_text(value))
        else:
            cells.append(str(value))
    return cells


class PeopleWriter:
    def __init__(self, path: Path):
        self.jsonl = Path(path).suffix.lower() == ".jsonl"
        self.file = AtomicResultFile(path)
        if not self.jsonl:
            self.file.stream.write(csv_line(list(PERSON_COLUMNS)))

    def write(self, source: str, people: tuple) -> None:
        for person in people:
            line = json_line(person_record(source, person)) if self.jsonl else csv_line(person_row(source, person))
            self.file.stream.write(line)

    def commit(self) -> None:
        self.file.commit()

    def discard(self) -> None:
        self.file.discard()
