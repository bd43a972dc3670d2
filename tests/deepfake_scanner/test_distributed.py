"""main_thread.py --ray (issue 25): the same verdicts as the threaded scan, on the bundled samples
and on a generated folder with a broken file among them; an actor killed mid-run is restarted by
Ray and every file still gets exactly one verdict."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from cnn_detector.registry import PROJECT_ROOT

pytestmark = pytest.mark.slow  # a local Ray runtime on 2 CPUs, a Scanner per actor

SAMPLES = PROJECT_ROOT / "samples"


def _folder(tmp_path, count: int = 12):
    """``count`` distinct stills made from the bundled ones, a bundled video, and a broken file."""
    import cv2

    folder = tmp_path / "media"
    folder.mkdir()
    images = sorted(SAMPLES.glob("*.jpg"))
    for k in range(count):
        image = cv2.imread(str(images[k % len(images)]))
        image[k % 7, 0] = (k, 255 - k, 9)
        cv2.imwrite(str(folder / f"still_{k:02d}.png"), image)
    (folder / "clip.mp4").write_bytes((SAMPLES / "videos" / "fake_face_swap_hamilton.mp4").read_bytes())
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    return folder


def _main(argv):
    from deepfake_scanner.cli import main_thread

    return main_thread.main([*argv, "--no-provenance", "--no-progress"])


def test_ray_gives_the_threaded_scans_verdicts_and_detections(tmp_path):
    folder = _folder(tmp_path)
    inputs = ["--input", str(SAMPLES), str(folder)]
    threaded = [*inputs, "--output", str(tmp_path / "t.csv"), "--detections", str(tmp_path / "t_det.csv")]
    on_ray = [*inputs, "--output", str(tmp_path / "r.csv"), "--detections", str(tmp_path / "r_det.csv")]
    assert _main(threaded) == 2  # the broken file fails, the rest is judged
    assert _main([*on_ray, "--ray", "--workers", "2"]) == 2
    expected = (tmp_path / "t.csv").read_text()
    assert (tmp_path / "r.csv").read_text() == expected
    assert (tmp_path / "r_det.csv").read_text() == (tmp_path / "t_det.csv").read_text()
    assert expected.count("\n") == 1 + 9 + 12 + 2 and "broken.jpg,error" in expected


def _kill_one_actor() -> int:
    found = subprocess.run(["pgrep", "-f", "MapWorker"], capture_output=True, text=True).stdout.split()
    pids = [int(p) for p in found if int(p) != os.getpid()]
    if pids:
        os.kill(pids[0], signal.SIGKILL)
    return len(pids)


def test_an_actor_killed_mid_run_still_leaves_one_verdict_per_file(tmp_path):
    from deepfake_scanner.distributed import RayScanner
    from deepfake_scanner.scanner import Scanner, ScanOptions

    folder = _folder(tmp_path, count=10)
    paths = sorted(str(p) for p in folder.iterdir())
    options = ScanOptions(provenance=False)
    with Scanner.open(options=options) as scanner:
        expected = {r.source: r.verdict for r in scanner.scan_many(paths)}
    killed = []
    with RayScanner(options=options, workers=2) as ray_scanner:
        got = []
        for result in ray_scanner.scan_many(paths):
            got.append(result)
            if len(got) == 2 and not killed:  # both actors are loaded and busy: kill one mid-file
                killed.append(_kill_one_actor())
        sha = dict(ray_scanner.sha256)
    assert killed and killed[0] >= 1
    assert sorted(r.source for r in got) == sorted(paths)  # one verdict each, none twice
    for result in got:
        assert result.verdict == expected[result.source], result.source
    assert len(sha[str(folder / "clip.mp4")]) == 64
