#!/usr/bin/env python3
"""A bounded load on the HTTP service over loopback: CLIENTS threads send REQUESTS uploads in all
(distinct images made from the bundled samples, one byte apart so none is a cached result, and
every tenth a bundled video), each client following its scan to the end before its next upload.
Prints uploads per second against a baseline measured in the same run (the library's
scan_file on the same kinds of files, one after another, no HTTP), the latency of the upload
request and of the whole scan (p50, p95, p99), the 429s answered (and retried after
Retry-After), and whether any accepted job was lost.
The service is the real app (uvicorn in this process, one Scanner shared by --workers threads,
SQLite in a temporary folder).

    python bench/bench_service.py                  # 4 clients, 200 uploads
    python bench/bench_service.py --clients 8 --requests 100 --workers 2
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from deepfake_scanner.cli.common import setup_logging
from deepfake_scanner.defaults import SAMPLES_DIR

IMAGES = sorted(SAMPLES_DIR.glob("*.jpg"))
VIDEOS = sorted((SAMPLES_DIR / "videos").glob("*.mp4"))


def upload_body(k: int) -> tuple[str, bytes]:
    """Upload ``k``: a video every tenth (the bundled ones, so repeats reuse their scan), else a
    bundled image with one pixel changed (new bytes: a scan of its own)."""
    if k % 10 == 9:
        path = VIDEOS[(k // 10) % len(VIDEOS)]
        return path.name, path.read_bytes()
    image = cv2.imread(str(IMAGES[k % len(IMAGES)]))
    image[0, 0] = (k % 256, (k // 256) % 256, 7)
    ok, data = cv2.imencode(".png", image)  # lossless: the changed pixel survives
    return f"upload_{k}.png", data.tobytes()


def direct_rate(scanner, folder: Path, count: int) -> float:
    """Files per second of ``scanner.scan_file`` on uploads 20_000.. (the same kinds of files as
    the load: distinct images, every tenth a video), one after another in this thread, each
    distinct file scanned once as the service does: the baseline of the run."""
    folder.mkdir(parents=True)
    paths = {}
    for k in range(20_000, 20_000 + count):
        name, body = upload_body(k)
        path = folder / name
        path.write_bytes(body)
        paths.setdefault(body, path)
    scanner.scan_file(next(iter(paths.values())))  # warm-up
    started = time.perf_counter()
    for path in paths.values():
        scanner.scan_file(path)
    return count / (time.perf_counter() - started)


def client(url: str, jobs: list[int], out: dict, lock: threading.Lock) -> None:
    import httpx2

    with httpx2.Client(base_url=url, timeout=300) as http:
        for k in jobs:
            name, body = upload_body(k)
            started = time.perf_counter()
            while True:
                response = http.post("/api/scans", files={"file": (name, body)})
                if response.status_code != 429:
                    break
                with lock:
                    out["refused_429"] += 1
                time.sleep(float(response.headers.get("retry-after", "1")))
            posted = time.perf_counter()
            if response.status_code not in (200, 202):
                with lock:
                    out["failed"].append((name, response.status_code, response.text[:200]))
                continue
            scan_id = response.json()["id"]
            while (status := http.get(f"/api/scans/{scan_id}").json()["status"]) in ("queued", "running"):
                time.sleep(0.05)
            with lock:
                out["upload_ms"].append((posted - started) * 1000)
                out["scan_ms"].append((time.perf_counter() - started) * 1000)
                out["ids"].add(scan_id)
                out["statuses"][status] = out["statuses"].get(status, 0) + 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2, help="the service's scan workers")
    parser.add_argument("--queue", type=int, default=32, help="the service's pending-scan limit")
    args = parser.parse_args()
    setup_logging(False)
    from sqlalchemy import func, select

    from deepfake_scanner import Scanner
    from deepfake_scanner.service.app import ServiceSettings, create_app, serving
    from deepfake_scanner.service.models import Scan

    out = {"upload_ms": [], "scan_ms": [], "ids": set(), "statuses": {}, "refused_429": 0, "failed": []}
    lock = threading.Lock()
    with Scanner.open() as scanner, tempfile.TemporaryDirectory() as tmp:
        baseline = direct_rate(scanner, Path(tmp) / "direct", min(40, args.requests))
        app = create_app(ServiceSettings(Path(tmp), workers=args.workers, max_pending=args.queue), scanner)
        with serving(app) as url:
            warm = threading.Thread(target=client, args=(url, [10_000], {**out, "ids": set()}, lock))  # traces graphs
            warm.start()
            warm.join()
            out.update(upload_ms=[], scan_ms=[], statuses={})
            jobs = [list(range(c, args.requests, args.clients)) for c in range(args.clients)]
            started = time.perf_counter()
            threads = [threading.Thread(target=client, args=(url, j, out, lock)) for j in jobs]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - started
            with app.state.sessions() as session:
                pending = session.scalar(select(func.count()).where(Scan.status.in_(("queued", "running"))))
                rows = dict(session.execute(select(Scan.status, func.count()).group_by(Scan.status)).all())
    done = len(out["scan_ms"])
    print(f"{args.clients} clients, {args.requests} uploads ({args.requests // 10} videos), {args.workers} workers")
    print("| measure | value |")
    print("|---|---|")
    print(f"| uploads answered and followed to the end | {done} of {args.requests} in {wall:.1f} s |")
    print(f"| throughput | {done / wall:.2f} uploads/s |")
    print(
        f"| baseline: the library's scan_file on the same kinds of files, one after another | {baseline:.2f} files/s |"
    )
    print(f"| service throughput / baseline | {done / wall / baseline:.2f}x |")
    for key, label in (("upload_ms", "upload request"), ("scan_ms", "upload to finished scan")):
        p50, p95, p99 = np.percentile(out[key], [50, 95, 99])
        print(f"| {label} latency p50 / p95 / p99 | {p50:.0f} / {p95:.0f} / {p99:.0f} ms |")
    print(f"| 429 answers (retried after Retry-After) | {out['refused_429']} |")
    print(f"| scans in the database by status | {rows} |")
    lost = args.requests - done + pending + len(out["failed"])
    print(f"| jobs lost (not finished, or refused other than 429) | {lost} |")
    return 0 if lost == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
