"""main_thread.py end to end: real graphs, real videos and images, verdict files written whole."""

import csv
import io
import json

import main_thread
from cnn_detector.registry import PROJECT_ROOT
from deepfake_scanner.output.verdicts import VERDICT_COLUMNS

SAMPLES = PROJECT_ROOT / "samples"


def test_folder_to_csv_on_stdout(capsys, colour_args, tmp_path):
    code = main_thread.main(["--input", str(SAMPLES), *colour_args])
    out = capsys.readouterr().out
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0
    assert tuple(rows[0].keys()) == VERDICT_COLUMNS
    sources = {r["source"] for r in rows}
    assert str(SAMPLES / "videos" / "real_hamilton.mp4") in sources and str(SAMPLES / "real_img16.jpg") in sources
    assert all(r["status"] == "ok" and r["detectors"] == "colour" for r in rows)
    assert all(0 <= float(r["fake_probability"]) <= 1 and r["is_fake"] in ("true", "false") for r in rows)


def test_jsonl_detections_resume_and_bad_files(tmp_path, colour_args, capsys):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "empty.mp4").write_bytes(b"")
    (inputs / "notes.txt").write_text("not media")
    (inputs / "corrupt.mov").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200)
    output, detections = tmp_path / "v.jsonl", tmp_path / "d.csv"
    args = [
        "--input",
        str(SAMPLES / "real_img16.jpg"),
        str(inputs),
        str(inputs / "notes.txt"),
        "--output",
        str(output),
        "--detections",
        str(detections),
        *colour_args,
    ]
    assert main_thread.main(args) == 2
    records = [json.loads(line) for line in output.read_text().splitlines()]
    by_source = {r["source"]: r for r in records}
    assert by_source[str(SAMPLES / "real_img16.jpg")]["status"] == "ok"
    assert "file is empty" in by_source[str(inputs / "empty.mp4")]["error"]
    assert "unsupported extension" in by_source[str(inputs / "notes.txt")]["error"]
    assert by_source[str(inputs / "corrupt.mov")]["status"] == "error"
    assert detections.read_text().startswith("source,frame_index")
    assert not list(tmp_path.glob(".*.tmp")), "no temporary files are left behind"
    capsys.readouterr()
    # --resume keeps every earlier good verdict (and its detections) and judges new and failed sources
    kept_detections = detections.read_text().splitlines()[1:]
    (inputs / "again.jpg").write_bytes((SAMPLES / "real_img28.jpg").read_bytes())
    assert main_thread.main([*args, "--resume"]) == 2  # the failed files are tried again, and fail again
    again = [json.loads(line) for line in output.read_text().splitlines()]
    good = [r["source"] for r in records if r["status"] != "error"]
    assert [r["source"] for r in again[: len(good)]] == good
    retried = sorted(r["source"] for r in again[len(good) :])
    assert retried == sorted([str(inputs / "again.jpg")] + [r["source"] for r in records if r["status"] == "error"])
    assert set(kept_detections) <= set(detections.read_text().splitlines())
    assert "resuming: " in capsys.readouterr().err


def test_usage_errors(colour_args, tmp_path):
    assert main_thread.main(["--output", str(tmp_path / "v.txt"), *colour_args]) == 1
    assert main_thread.main(["--resume", *colour_args]) == 1
    assert main_thread.main(["--judge", str(tmp_path / "no_judge"), "--detectors", str(tmp_path)]) == 1
    assert main_thread.main(["--fps", "0"]) == 1


def test_sequential_flag_gives_same_verdicts(capsys, colour_args):
    main_thread.main(["--input", str(SAMPLES / "real_img16.jpg"), str(SAMPLES / "videos"), *colour_args])
    threaded = capsys.readouterr().out
    main_thread.main(
        ["--input", str(SAMPLES / "real_img16.jpg"), str(SAMPLES / "videos"), "--sequential", *colour_args]
    )
    assert capsys.readouterr().out == threaded


def test_parquet_output_holds_the_csv_verdicts_and_resumes(tmp_path, colour_args, capsys):
    import pyarrow.parquet as pq

    inputs = [str(SAMPLES / "real_img16.jpg"), str(SAMPLES / "real_img28.jpg")]
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG not really")
    assert main_thread.main(["--input", *inputs, str(broken), "--output", str(tmp_path / "v.csv"), *colour_args]) == 2
    parquet = tmp_path / "v.parquet"
    args = ["--input", *inputs, str(broken), "--output", str(parquet), *colour_args]
    assert main_thread.main(args) == 2
    expected = {r["source"]: r for r in csv.DictReader(open(tmp_path / "v.csv"))}
    rows = {r["source"]: r for r in pq.read_table(parquet).to_pylist()}
    assert rows.keys() == expected.keys()
    for source, row in rows.items():
        assert row["status"] == expected[source]["status"]
        assert row["detectors"] == expected[source]["detectors"].split(";")
        if row["status"] == "ok":
            assert abs(row["fake_probability"] - float(expected[source]["fake_probability"])) < 1e-6
    assert rows[str(broken)]["status"] == "error" and str(broken) in rows[str(broken)]["error"]
    capsys.readouterr()
    (tmp_path / "more.jpg").write_bytes((SAMPLES / "real_img41.jpg").read_bytes())
    more = ["--input", *inputs, str(broken), str(tmp_path / "more.jpg"), "--output", str(parquet), *colour_args]
    assert main_thread.main([*more, "--resume"]) == 2
    assert "resuming: 2 file(s) already judged" in capsys.readouterr().err
    again = [r["source"] for r in pq.read_table(parquet).to_pylist()]
    assert sorted(again) == sorted([*inputs, str(broken), str(tmp_path / "more.jpg")])
    parquet.write_bytes(b"not parquet at all")
    assert main_thread.main([*args, "--resume"]) == 1  # refused, not overwritten
    assert parquet.read_bytes() == b"not parquet at all"


def test_results_are_kept_by_content_and_a_changed_file_is_scanned_again(tmp_path, colour_args, capsys):
    import hashlib

    import pyarrow.parquet as pq

    media = tmp_path / "photo.jpg"
    media.write_bytes((SAMPLES / "real_img16.jpg").read_bytes())
    other = tmp_path / "other.jpg"
    other.write_bytes((SAMPLES / "real_img28.jpg").read_bytes())
    for suffix in ("jsonl", "parquet"):
        output = tmp_path / f"v.{suffix}"
        args = ["--input", str(media), str(other), "--output", str(output), *colour_args]
        assert main_thread.main(args) == 0

        def records():
            if suffix == "jsonl":
                return {r["source"]: r for r in map(json.loads, output.read_text().splitlines())}
            return {r["source"]: r for r in pq.read_table(output).to_pylist()}

        first = records()
        assert first[str(media)]["sha256"] == hashlib.sha256(media.read_bytes()).hexdigest()
        capsys.readouterr()
        assert main_thread.main([*args, "--resume"]) == 0  # nothing changed: nothing scanned
        assert "judged 0 file(s)" in capsys.readouterr().err
        media.write_bytes((SAMPLES / "real_img41.jpg").read_bytes())  # same name, other content
        assert main_thread.main([*args, "--resume"]) == 0
        err = capsys.readouterr().err
        assert f"{media}: its content changed since the earlier scan; scanned again" in err
        assert "judged 1 file(s)" in err
        again = records()
        assert again[str(media)]["sha256"] == hashlib.sha256(media.read_bytes()).hexdigest()
        assert again[str(other)] == first[str(other)]
        media.write_bytes((SAMPLES / "real_img16.jpg").read_bytes())
