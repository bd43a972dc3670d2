"""Jobs survive the service: `serve.py` killed (SIGKILL) with one scan running and one queued,
then started again on the same database, finishes both, each exactly once."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time

import cv2
import httpx2
import pytest

from cnn_detector.registry import PROJECT_ROOT
from tests.service.conftest import REAL_IMAGE, REAL_VIDEO, THRESHOLD


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _long_video(path, seconds: float = 40.0):
    capture = cv2.VideoCapture(str(REAL_VIDEO))
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    for k in range(int(seconds * fps)):
        writer.write(frames[k % len(frames)])
    writer.release()
    return path


class Server:
    def __init__(self, data_dir, log_path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "serve.py", "--port", str(self.port), "--data-dir", str(data_dir)]
        command += ["--workers", "1", "--threshold", str(THRESHOLD)]
        self.log = open(log_path, "ab")
        self.process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"serve.py exited with {self.process.returncode}; see {log_path}")
            try:
                if httpx2.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx2.HTTPError:
                time.sleep(0.5)
        raise AssertionError(f"serve.py did not answer in 180 s; see {log_path}")

    def stop(self, sig=signal.SIGINT):
        self.process.send_signal(sig)
        try:
            self.process.wait(60)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            self.log.close()


def _rows(database):
    with sqlite3.connect(database) as connection:
        return {r[0]: r[1:] for r in connection.execute("SELECT filename, status, attempts, result FROM scans")}


@pytest.mark.timeout(600)
def test_a_killed_service_finishes_its_running_and_queued_scans_once_on_restart(tmp_path):
    data = tmp_path / "data"
    video = _long_video(tmp_path / "long.mp4")
    server = Server(data, tmp_path / "serve.log")
    try:
        with open(video, "rb") as handle:
            running = httpx2.post(server.url + "/api/scans", files={"file": ("long.mp4", handle)}, timeout=60).json()
        with open(REAL_IMAGE, "rb") as handle:
            queued = httpx2.post(server.url + "/api/scans", files={"file": ("still.jpg", handle)}, timeout=60).json()
        deadline = time.monotonic() + 60
        while httpx2.get(f"{server.url}/api/scans/{running['id']}").json()["status"] != "running":
            assert time.monotonic() < deadline, "the video scan never started"
            time.sleep(0.05)
    finally:
        server.stop(signal.SIGKILL)  # no chance to clean up: as a crash or power cut leaves it
    rows = _rows(data / "service.sqlite3")
    assert rows["long.mp4"][:2] == ("running", 1) and rows["still.jpg"][:2] == ("queued", 0)
    assert rows["long.mp4"][2] is None and rows["still.jpg"][2] is None

    server = Server(data, tmp_path / "serve.log")
    try:
        deadline = time.monotonic() + 300
        while True:
            scans = [httpx2.get(f"{server.url}/api/scans/{s['id']}").json() for s in (running, queued)]
            if all(s["status"] in ("done", "error") for s in scans):
                break
            assert time.monotonic() < deadline, f"not finished after the restart: {[s['status'] for s in scans]}"
            time.sleep(0.2)
    finally:
        server.stop()
    assert [s["status"] for s in scans] == ["done", "done"]
    assert [s["attempts"] for s in scans] == [2, 1]  # the interrupted scan ran again; the queued one once
    assert scans[0]["result"]["verdict"]["status"] == "ok" and scans[1]["result"]["verdict"]["status"] == "ok"
    assert "requeued 1 scan(s)" in (tmp_path / "serve.log").read_text()
