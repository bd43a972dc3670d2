"""A careless or hostile user of the scanning CLIs: output options that name inputs or each
other, file names of any bytes, scans stopped by signals and resumed, damaged earlier
outputs, a wrong judge, and the modes of the files written. Nothing already written is lost."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import detect_image
import detect_video
import main_thread
from cnn_detector.registry import PROJECT_ROOT
from deepfake_scanner.output.verdicts import VERDICT_COLUMNS
from tests.conftest import red_square_image

SAMPLES = PROJECT_ROOT / "samples"
SAMPLE_VIDEO = SAMPLES / "videos" / "real_hamilton.mp4"
ODD_NAME = os.fsdecode(b"face_\xff\xfe_latin1_caf\xe9.jpg")  # not UTF-8: carried as surrogate escapes


def image_folder(folder: Path, count: int, names=None) -> list[Path]:
    """``count`` small distinct PNG images (or the given names) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    names = names or [f"img_{i:04d}.png" for i in range(count)]
    paths = []
    for i, name in enumerate(names):
        pixels = np.full((40, 48, 3), (i * 7) % 256, np.uint8)
        path = folder / name
        Image.fromarray(pixels).save(path, format="PNG" if name.endswith(".png") else "JPEG")
        paths.append(path)
    return paths


def read_csv_sources(path: Path) -> list[str]:
    text = path.read_bytes().decode("utf-8", "surrogateescape")
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == VERDICT_COLUMNS, rows[0]
    return [row[0] for row in rows[1:]]


def unescaped(cell: str) -> str:
    return cell[1:] if cell.startswith("'") else cell


# --- outputs checked before the scan -------------------------------------------------------


def test_detections_pointing_at_an_input_is_refused_and_the_input_kept(tmp_path, colour_args, capsys):
    picture = tmp_path / "in" / "face.jpg"
    picture.parent.mkdir()
    shutil.copy(SAMPLES / "real_img16.jpg", picture)
    before = picture.read_bytes()
    code = main_thread.main(["--input", str(picture.parent), "--detections", str(picture), *colour_args])
    err = capsys.readouterr().err
    assert code == 1
    assert picture.read_bytes() == before
    assert "--detections" in err and "input" in err and "Traceback" not in err


@pytest.mark.parametrize("detections", ["v.csv.journal", "/dev/null"])
def test_detections_on_the_journal_or_a_device_is_refused(tmp_path, colour_args, capsys, detections):
    output = tmp_path / "v.csv"
    target = detections if detections.startswith("/") else str(tmp_path / detections)
    args = ["--input", str(SAMPLES / "real_img16.jpg"), "--output", str(output), "--detections", target]
    assert main_thread.main([*args, *colour_args]) == 1
    err = capsys.readouterr().err
    assert ("journal" in err or "regular file" in err) and not output.exists()


def test_detections_equal_to_output_is_refused(tmp_path, colour_args, capsys):
    output = tmp_path / "v.csv"
    output.write_text("earlier verdicts\n")
    code = main_thread.main(
        ["--input", str(SAMPLES / "real_img16.jpg"), "--output", str(output), "--detections", str(output), *colour_args]
    )
    assert code == 1
    assert output.read_text() == "earlier verdicts\n"
    assert "same file" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["folder", "under_a_file"])
def test_bad_output_is_found_before_the_scan(tmp_path, colour_args, capsys, kind):
    if kind == "folder":
        output = tmp_path / "out.csv"
        output.mkdir()
    else:
        (tmp_path / "plain").write_text("x")
        output = tmp_path / "plain" / "v.csv"
    code = main_thread.main(["--input", str(SAMPLES), "--output", str(output), *colour_args])
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err and "judged" not in err, "refused before anything was scanned"
    assert str(output) in err
    assert not list(tmp_path.rglob(".*.tmp"))


def test_detect_video_output_equal_to_input_is_refused(tmp_path, colour_detector_args, capsys):
    video = tmp_path / "clip.mp4"
    shutil.copy(SAMPLE_VIDEO, video)
    before = video.read_bytes()
    common = colour_detector_args
    assert detect_video.main(["--input", str(video), "--output", str(video), *common]) == 1
    assert video.read_bytes() == before
    assert detect_video.main(["--input", str(video), "--detections", str(video), *common]) == 1
    assert video.read_bytes() == before
    out = tmp_path / "annotated.mp4"
    assert detect_video.main(["--input", str(video), "--output", str(out), "--detections", str(out), *common]) == 1
    assert "Traceback" not in capsys.readouterr().err


# --- file names of any bytes ----------------------------------------------------------------


def test_non_utf8_file_name_keeps_the_batch_and_resumes(tmp_path, colour_args, capfdbinary):
    folder = tmp_path / "in"
    paths = image_folder(folder, 3, names=["a.png", ODD_NAME, "z.png"])
    # CSV on stdout: a strict UTF-8 stream, as under a UTF-8 locale; the name's own bytes come out.
    assert main_thread.main(["--input", str(folder), *colour_args]) == 0
    out = capfdbinary.readouterr().out
    assert len(out.splitlines()) == 4, out
    assert os.fsencode(str(folder / ODD_NAME)) in out
    for suffix in (".csv", ".jsonl"):
        output = tmp_path / f"v{suffix}"
        assert main_thread.main(["--input", str(folder), "--output", str(output), *colour_args]) == 0
        if suffix == ".csv":
            sources = [unescaped(s) for s in read_csv_sources(output)]
        else:
            sources = [json.loads(line)["source"] for line in output.read_text(encoding="utf-8").splitlines()]
        assert sorted(sources) == sorted(str(p) for p in paths)
        assert os.fsencode(str(folder / ODD_NAME)) in [os.fsencode(s) for s in sources]
        # --resume matches the odd name again: nothing rescanned, nothing duplicated.
        before = output.read_bytes()
        capfdbinary.readouterr()
        assert main_thread.main(["--input", str(folder), "--output", str(output), "--resume", *colour_args]) == 0
        assert b"judged 0 file(s)" in capfdbinary.readouterr().err
        assert output.read_bytes() == before


def test_detect_image_non_utf8_name(tmp_path, make_detector, tf1_graph, capfdbinary):
    make_detector("colour", tf1_graph, min_score=0.3)
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(red_square_image()).save(folder / ODD_NAME, format="JPEG")
    code = detect_image.main(["--input", str(folder), "--detectors", str(tmp_path / "detectors"), "--faces", "none"])
    captured = capfdbinary.readouterr()
    assert code == 0, captured.err
    rows = list(csv.reader(io.StringIO(captured.out.decode("utf-8", "surrogateescape"), newline="")))
    assert rows[1:] and {os.fsencode(row[0]) for row in rows[1:]} == {os.fsencode(str(folder / ODD_NAME))}


def test_names_starting_with_a_quote_are_not_duplicated_on_resume(tmp_path, colour_args, capsys, monkeypatch):
    """The formula escape (a leading quote) is told apart from a real leading quote."""
    folder = tmp_path / "in"
    names = ["'quoted.png", "''two.png", "=formula.png", "plain.png"]
    image_folder(folder, len(names), names=names)
    monkeypatch.chdir(folder)  # sources are the names as given, so they start with the quote
    output = tmp_path / "v.csv"
    assert main_thread.main(["--input", *names, "--output", str(output), *colour_args]) == 0
    capsys.readouterr()
    assert main_thread.main(["--input", *names, "--output", str(output), "--resume", *colour_args]) == 0
    assert "judged 0 file(s)" in capsys.readouterr().err
    assert sorted(unescaped(s) for s in read_csv_sources(output)) == sorted(names)


# --- durable progress: signals, crashes, resume ---------------------------------------------


def scan_command(folder: Path, output: Path, colour_args: list[str], *extra: str) -> list[str]:
    return [sys.executable, str(PROJECT_ROOT / "main_thread.py"), "--input", str(folder), "--output", str(output),
            *colour_args, *extra]  # fmt: skip


def journal_lines(output: Path) -> int:
    journal = output.with_name(output.name + ".journal")
    return len(journal.read_bytes().splitlines()) if journal.exists() else 0


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_scan_killed_midway_then_resumed_gives_one_verdict_per_file(tmp_path, colour_args, how):
    """A few hundred files; the scan is killed once some verdicts are journaled; --resume
    finishes it with exactly one verdict per file."""
    folder = tmp_path / "in"
    paths = image_folder(folder, 240)
    output = tmp_path / "v.csv"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(PROJECT_ROOT)}
    process = subprocess.Popen(scan_command(folder, output, colour_args), env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while journal_lines(output) < 20 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, "the scan finished before it could be stopped; make it longer"
    process.send_signal(how)
    _, err = process.communicate(timeout=120)
    err = err.decode(errors="replace")
    assert "Traceback" not in err, err
    if how == signal.SIGTERM:
        assert process.returncode == 128 + signal.SIGTERM, err
        partial = read_csv_sources(output)
        assert 20 <= len(partial) < len(paths) and len(set(partial)) == len(partial)
    else:
        assert journal_lines(output) >= 20, "the journal survives SIGKILL"
    assert not list(tmp_path.glob(".*.tmp")), "no temporary files left behind"
    resumed = subprocess.run(scan_command(folder, output, colour_args, "--resume"), env=env, capture_output=True)
    assert resumed.returncode == 0, resumed.stderr.decode(errors="replace")
    sources = read_csv_sources(output)
    assert sorted(sources) == sorted(str(p) for p in paths), "exactly one verdict per file"
    assert not output.with_name(output.name + ".journal").exists()


def test_leftover_journal_without_resume_is_not_overwritten(tmp_path, colour_args, capsys):
    output = tmp_path / "v.csv"
    journal = output.with_name(output.name + ".journal")
    journal.write_text('{"verdict": {"source": "x.jpg", "status": "no_face"}}\n')
    code = main_thread.main(["--input", str(SAMPLES / "real_img16.jpg"), "--output", str(output), *colour_args])
    assert code == 1
    assert "--resume" in capsys.readouterr().err
    assert journal.read_text().startswith('{"verdict"')


# --- damaged earlier outputs ----------------------------------------------------------------


def test_resume_on_a_truncated_jsonl_rescans_only_the_damaged_row(tmp_path, colour_args, capsys):
    folder = tmp_path / "in"
    paths = image_folder(folder, 4)
    output = tmp_path / "v.jsonl"
    assert main_thread.main(["--input", str(folder), "--output", str(output), *colour_args]) == 0
    lines = output.read_text().splitlines()
    output.write_text("\n".join(lines[:3]) + "\n" + lines[3][: len(lines[3]) // 2])  # a crash mid-line
    capsys.readouterr()
    assert main_thread.main(["--input", str(folder), "--output", str(output), "--resume", *colour_args]) == 0
    err = capsys.readouterr().err
    assert f"{output}:4" in err and "Traceback" not in err
    assert "judged 1 file(s)" in err
    records = [json.loads(line) for line in output.read_text().splitlines()]
    assert sorted(r["source"] for r in records) == sorted(str(p) for p in paths)


def test_resume_on_a_csv_with_bad_utf8_keeps_its_rows(tmp_path, colour_args, capsys):
    folder = tmp_path / "in"
    image_folder(folder, 2)
    output = tmp_path / "v.csv"
    assert main_thread.main(["--input", str(folder), "--output", str(output), *colour_args]) == 0
    damaged = output.read_bytes() + b"\xff\xfe/elsewhere/old.jpg,no_face,,,,,0,colour,\n"
    output.write_bytes(damaged)
    capsys.readouterr()
    assert main_thread.main(["--input", str(folder), "--output", str(output), "--resume", *colour_args]) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and "judged 0 file(s)" in err
    assert output.read_bytes() == damaged, "every earlier row kept, byte for byte"


def test_resume_refuses_a_file_that_is_not_a_verdicts_file(tmp_path, colour_args, capsys):
    output = tmp_path / "budget.csv"
    output.write_text("year,amount\n2025,100\n")
    code = main_thread.main(
        ["--input", str(SAMPLES / "real_img16.jpg"), "--output", str(output), "--resume", *colour_args]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert output.read_text() == "year,amount\n2025,100\n"
    assert str(output) in err and "header" in err and "Traceback" not in err


# --- a wrong judge --------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["a_file", "corrupt_weights", "bad_units", "text_units", "settings_a_folder"])
def test_wrong_judge_is_a_one_line_error(tmp_path, colour_args, random_judge_dir, capsys, damage):
    judge = tmp_path / "judge"
    if damage == "a_file":
        judge.write_text("not a folder")
    else:
        shutil.copytree(random_judge_dir, judge)
        if damage == "settings_a_folder":
            (judge / "judge.yaml").unlink()
            (judge / "judge.yaml").mkdir()
        elif damage == "corrupt_weights":
            (judge / "judge.weights.h5").write_bytes(b"\x89HDF\r\n" + b"garbage" * 50)
        else:
            settings = (judge / "judge.yaml").read_text()
            value = "-4" if damage == "bad_units" else "lots"
            (judge / "judge.yaml").write_text(settings.replace("encoder_units: 32", f"encoder_units: {value}"))
    args = [a for a in colour_args]
    args[args.index("--judge") + 1] = str(judge)
    code = main_thread.main(["--input", str(SAMPLES / "real_img16.jpg"), *args])
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err and str(judge) in err
    assert len([line for line in err.splitlines() if line.startswith("ERROR")]) == 1


# --- modes follow the user's umask ------------------------------------------------------------


def test_output_files_follow_the_umask(tmp_path, colour_args, colour_detector_args):
    old = os.umask(0o002)
    try:
        output, detections = tmp_path / "v.jsonl", tmp_path / "d.csv"
        assert main_thread.main(
            ["--input", str(SAMPLES / "real_img16.jpg"), "--output", str(output), "--detections", str(detections),
             *colour_args]
        ) == 0  # fmt: skip
        video_out = tmp_path / "clip_annotated.mp4"
        video_args = ["--input", str(SAMPLE_VIDEO), "--output", str(video_out), "--fps", "1"]
        assert detect_video.main([*video_args, *colour_detector_args]) == 0
    finally:
        os.umask(old)
    for path in (output, detections, video_out):
        assert path.stat().st_mode & 0o777 == 0o664, (path, oct(path.stat().st_mode))


def test_detect_video_stopped_by_sigterm_leaves_no_temporary_file(tmp_path, colour_detector_args):
    out = tmp_path / "out"
    out.mkdir()
    command = [sys.executable, str(PROJECT_ROOT / "detect_video.py"), "--input", str(SAMPLE_VIDEO)]
    command += ["--output", str(out / "clip.mp4"), "--detections", str(out / "d.csv"), "--fps", "25"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(PROJECT_ROOT)}
    process = subprocess.Popen([*command, *colour_detector_args], env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not list(out.glob(".clip.*.mp4")) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert process.poll() is None, "the video was written before it could be stopped"
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, err.decode(errors="replace")
    assert list(out.iterdir()) == [], "no temporary or partial file left"


def test_a_video_with_a_non_utf8_name_is_scanned_not_a_crash(tmp_path, colour_args, capfdbinary):
    import shutil

    from cnn_detector.registry import PROJECT_ROOT

    folder = tmp_path / "in"
    folder.mkdir()
    odd = folder / os.fsdecode(b"clip_\xff\xfe.mp4")  # OpenCV itself crashes the process on this name
    shutil.copy(PROJECT_ROOT / "samples" / "videos" / "real_hamilton.mp4", odd)
    output = tmp_path / "v.jsonl"
    assert main_thread.main(["--input", str(folder), "--output", str(output), *colour_args]) == 0
    (line,) = output.read_text(encoding="utf-8").splitlines()
    record = json.loads(line)
    assert record["source"] == str(odd) and record["status"] in ("ok", "no_face") and record["frames_used"] >= 0
    assert not list(tmp_path.glob("scanner-video-*"))
