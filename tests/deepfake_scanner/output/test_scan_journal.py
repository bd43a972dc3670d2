"""Durable results: file names of any bytes survive the journal, the final files and --resume,
with no row lost or duplicated, whether the scan finished, was stopped or crashed."""

from __future__ import annotations

import csv
import os
import signal
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnn_detector.types import Verdict
from deepfake_scanner.cli.stop_signals import StopSignals
from deepfake_scanner.output.detections_csv import escape_text, unescape_text
from deepfake_scanner.output.scan_journal import ResumeError, journal_path
from deepfake_scanner.output.scan_results import ScanRecorder

# Any bytes a POSIX file name may hold: everything but '/' and NUL.
name_bytes = st.binary(min_size=1, max_size=60).filter(lambda b: b"/" not in b and b"\0" not in b)
names = st.lists(name_bytes, min_size=1, max_size=12, unique=True)


def verdicts_for(folder: Path, raw_names: list[bytes]) -> list[Verdict]:
    verdicts = []
    for i, raw in enumerate(raw_names):
        source = os.fsdecode(os.fsencode(str(folder)) + b"/" + raw)
        if i % 3 == 2:
            verdicts.append(Verdict(source, "error", error=f"{source}: unreadable"))
        else:
            verdicts.append(Verdict(source, "ok", is_fake=bool(i % 2), fake_probability=0.25, threshold=0.5))
    return verdicts


@given(st.text(max_size=40))
def test_escape_round_trips_any_text(text):
    assert unescape_text(escape_text(text)) == text


@settings(max_examples=40, deadline=None)
@given(raw_names=names, suffix=st.sampled_from([".csv", ".jsonl"]), crash=st.booleans())
def test_any_file_name_is_found_again_by_resume(raw_names, suffix, crash):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        output, detections = folder / f"v{suffix}", folder / "d.csv"
        verdicts = verdicts_for(folder / "in", raw_names)
        recorder = ScanRecorder(output, detections, resume=False)
        recorder.start(None)
        for verdict in verdicts:
            cells = [escape_text(verdict.source), "0", "0", "det", "1", "x", "0.9", "0", "0", "1", "1", "8", "8"]
            recorder.record(verdict, [cells])
        if crash:
            recorder.abandon()  # SIGKILL or a crash: only the journal is on disk
            assert journal_path(output).exists() and not output.exists()
        else:
            recorder.finish()
            assert not journal_path(output).exists()
        resumed = ScanRecorder(output, detections, resume=True)
        assert resumed.problems == []
        assert resumed.done == {v.source for v in verdicts if v.status != "error"}
        resumed.finish()
        again = ScanRecorder(output, detections, resume=True)
        assert list(again.earlier.lines) == [v.source for v in verdicts], "one row per file, none lost"
        with open(detections, newline="", encoding="utf-8", errors="surrogateescape") as handle:
            rows = list(csv.reader(handle))[1:]
        assert sorted(unescape_text(row[0]) for row in rows) == sorted(v.source for v in verdicts)


def test_journal_line_cut_by_a_crash_is_reported_and_its_source_scanned_again(tmp_path):
    output = tmp_path / "v.csv"
    verdicts = verdicts_for(tmp_path, [b"a.jpg", b"b.jpg"])
    recorder = ScanRecorder(output, None, resume=False)
    recorder.start(None)
    for verdict in verdicts:
        recorder.record(verdict, [])
    recorder.abandon()
    journal = journal_path(output)
    journal.write_bytes(journal.read_bytes()[:-25])  # SIGKILL in the middle of the last line
    resumed = ScanRecorder(output, None, resume=True)
    assert [p.split(": ")[0] for p in resumed.problems] == [f"{journal}:3"]  # line 1 is the header
    assert resumed.done == {verdicts[0].source}
    resumed.start(None)
    resumed.record(verdicts[1], [])  # appended after the cut line, not glued to it
    resumed.finish()
    assert list(ScanRecorder(output, None, resume=True).earlier.lines) == [v.source for v in verdicts]


def finished_scan(output: Path, verdicts: list[Verdict], detections: Path | None = None) -> None:
    recorder = ScanRecorder(output, detections, resume=False)
    recorder.start(None)
    for verdict in verdicts:
        recorder.record(verdict, [])
    recorder.finish()


def test_a_stopped_fresh_scan_keeps_the_complete_earlier_output(tmp_path):
    output = tmp_path / "v.csv"
    old = verdicts_for(tmp_path, [b"a.jpg", b"b.jpg", b"c.jpg"])
    finished_scan(output, old)
    before = output.read_bytes()
    rerun = ScanRecorder(output, None, resume=False)  # the same command again, then Ctrl-C
    rerun.start(None)
    rerun.record(old[0], [])
    notes = rerun.finish(complete=False)
    assert output.read_bytes() == before and journal_path(output).exists()
    assert any("left as it was" in note for note in notes)
    # --resume finishes the fresh scan: the earlier file's verdicts are not merged back in.
    resumed = ScanRecorder(output, None, resume=True)
    assert resumed.done == {old[0].source}


def test_resume_must_name_the_detections_file_the_stopped_scan_wrote(tmp_path):
    output, detections = tmp_path / "v.csv", tmp_path / "d.csv"
    recorder = ScanRecorder(output, detections, resume=False)
    recorder.start(None)
    recorder.record(verdicts_for(tmp_path, [b"a.jpg"])[0], [])
    recorder.abandon()
    with pytest.raises(ResumeError, match=f"--detections {detections}"):
        ScanRecorder(output, None, resume=True)
    with pytest.raises(ResumeError, match="another scan"):
        first = ScanRecorder(output, detections, resume=True)
        first.start(None)  # holds the journal's lock
        ScanRecorder(output, detections, resume=True).start(None)


def test_a_damaged_earlier_output_is_kept_aside_before_it_is_replaced(tmp_path):
    output = tmp_path / "v.csv"
    verdicts = verdicts_for(tmp_path, [b"a.jpg", b"b.jpg", b"c.jpg", b"d.jpg"])
    finished_scan(output, verdicts)
    lines = output.read_text().splitlines(keepends=True)
    damaged = lines[0] + lines[1] + '"' + lines[2] + lines[3] + lines[4]  # a stray quote swallows the rest
    output.write_text(damaged)
    resumed = ScanRecorder(output, None, resume=True)
    assert resumed.problems and resumed.problems[0].startswith(f"{output}:3-5:")
    resumed.start(None)
    notes = resumed.finish()
    copies = list(tmp_path.glob("v.csv.damaged-*"))
    assert len(copies) == 1 and copies[0].read_text() == damaged and str(copies[0]) in notes[0]


def test_ignored_signals_stay_ignored():
    """nohup, or `scan &` from a script: the scan must not stop when the terminal goes."""
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with StopSignals():
            os.kill(os.getpid(), signal.SIGHUP)
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, previous)


def test_a_signal_inside_native_code_is_kept_until_the_file_is_recorded():
    """A stop signal that arrives while C2PA's reader calls back into Python must not raise
    there (ctypes prints and drops the exception, and the scan went on to the end): it waits,
    and is raised when the next file has been recorded."""
    import pytest

    from deepfake_scanner.cli.stop_signals import ScanInterrupted
    from deepfake_scanner.interrupts import native_section

    recorded = []
    with StopSignals() as signals:
        with native_section():
            os.kill(os.getpid(), signal.SIGTERM)  # no exception here
            recorded.append("still running")
        with pytest.raises(ScanInterrupted) as stopped:
            with signals.protected():
                recorded.append("file recorded")
    assert recorded == ["still running", "file recorded"] and stopped.value.exit_code == 143


def test_a_signal_whose_exception_native_code_dropped_is_raised_again():
    import ctypes

    import pytest

    from deepfake_scanner.cli.stop_signals import ScanInterrupted

    callback_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)

    @callback_type
    def callback(value):  # a signal inside a ctypes callback: its exception is printed and dropped
        os.kill(os.getpid(), signal.SIGTERM)
        return value

    qsort_like = ctypes.CFUNCTYPE(ctypes.c_int, callback_type, ctypes.c_int)(lambda f, v: f(v))
    with StopSignals() as signals:
        qsort_like(callback, 1)
        with pytest.raises(ScanInterrupted):
            with signals.protected():
                pass
