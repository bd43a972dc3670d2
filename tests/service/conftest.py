"""The service under test: the real app, a real SQLite file, one real Scanner (shipped
detectors and judge) shared by the session's tests, at a threshold that flags the bundled fake
samples (a deployment setting: the calibrated one flags none of them)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import pytest

from cnn_detector.registry import PROJECT_ROOT

SAMPLES = PROJECT_ROOT / "samples"
THRESHOLD = 0.6
FAKE_IMAGE = SAMPLES / "fake_face_swap_img28_johnsnow.jpg"  # 0.689 by the shipped system
REAL_IMAGE = SAMPLES / "real_img16.jpg"  # 0.364
FAKE_VIDEO = SAMPLES / "videos" / "fake_face_swap_hamilton.mp4"  # 0.772
REAL_VIDEO = SAMPLES / "videos" / "real_hamilton.mp4"  # 0.319


class CountingScanner:
    """The real Scanner, with each scan counted per file and, while ``gate`` is clear, held
    before it starts (so a test can see a scan queued or running)."""

    def __init__(self, scanner):
        self._scanner = scanner
        self.calls: Counter[str] = Counter()
        self.gate = threading.Event()
        self.gate.set()
        self._lock = threading.Lock()

    def scan_file(self, path):
        with self._lock:
            self.calls[Path(path).name] += 1
        self.gate.wait(120)
        return self._scanner.scan_file(path)

    def __getattr__(self, name):
        return getattr(self._scanner, name)


@pytest.fixture(scope="session")
def real_scanner():
    from deepfake_scanner import Scanner, ScanOptions

    with Scanner.open(options=ScanOptions(threshold=THRESHOLD)) as scanner:
        yield scanner


@pytest.fixture
def scanner(real_scanner):
    return CountingScanner(real_scanner)


@pytest.fixture
def service(tmp_path, scanner):
    """(TestClient, app) on a fresh data folder; ``service.settings`` changes need `make_service`."""
    with make_service(tmp_path / "data", scanner) as pair:
        yield pair


@contextmanager
def make_service(data_dir: Path, scanner, **settings):
    from fastapi.testclient import TestClient

    from deepfake_scanner.service.app import ServiceSettings, create_app

    app = create_app(ServiceSettings(data_dir=data_dir, **settings), scanner)
    with TestClient(app) as client:
        yield client, app


def upload(client, path: Path, url: str = "/api/scans", name: str | None = None, **data):
    with open(path, "rb") as handle:
        return client.post(url, files={"file": (name or path.name, handle)}, data=data or None)


def wait_for(client, scan_id: str, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        scan = client.get(f"/api/scans/{scan_id}").json()
        if scan["status"] in ("done", "error"):
            return scan
        time.sleep(0.1)
    raise AssertionError(f"scan {scan_id} did not finish in {timeout} s")
