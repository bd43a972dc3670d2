#!/usr/bin/env python3
"""The scan on Ray Data against the threaded single-process scan, on one machine, and a cost
model that predicts files per second on a cluster (issue 25).

Measured here, on one generated folder (distinct stills made from the bundled samples, every
tenth file a bundled video):
- the threaded scan (one process, `Scanner.scan_many`), the baseline of the run;
- `RayScanner` with 1 and 2 actors (a local Ray runtime), wall time from the first result to the
  last (the steady rate) and in all (with Ray's start and each actor loading its models);
- per file, one after another in this process: reading and sampling frames, and the whole scan,
  so models = whole - reading; the file's bytes; and what the driver spends on one result
  (unpickling the ScanResult and journaling it, fsync included).

The model: each one-CPU actor scans at half the steady rate of 2 actors on this 2-core machine, so
W actors give W times it, capped by
(a) the driver, which journals every result (1 / driver files per second), (b) the network that
brings the files to the actors (bandwidth / bytes per file) and (c) Ray Data's scheduling of one
task per file (assumed 2 ms of driver time per task, Ray's documented order of magnitude for small
tasks). The bandwidth is an assumption (--network-mb-s, 1250 MB/s: 10 GbE), not a measurement.

    python bench/bench_ray.py                     # 40 files
    python bench/bench_ray.py --files 80 --network-mb-s 125
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import tempfile
import time
from pathlib import Path

import cv2

from deepfake_scanner.cli.common import setup_logging
from deepfake_scanner.defaults import SAMPLES_DIR

SCHEDULING_S = 0.002  # Ray Data driver time per task (assumption)
WORKERS = (8, 64, 512)


def make_folder(folder: Path, count: int) -> list[str]:
    images = sorted(SAMPLES_DIR.glob("*.jpg"))
    videos = sorted((SAMPLES_DIR / "videos").glob("*.mp4"))
    paths = []
    for k in range(count):
        if k % 10 == 9:
            target = folder / f"video_{k:03d}.mp4"
            target.write_bytes(videos[(k // 10) % len(videos)].read_bytes())
        else:
            image = cv2.imread(str(images[k % len(images)]))
            image[0, 0] = (k % 256, (k // 256) % 256, 7)
            target = folder / f"still_{k:03d}.png"
            cv2.imwrite(str(target), image)
        paths.append(str(target))
    return paths


def rate(results, count: int, started: float) -> dict:
    first = None
    for _ in results:
        first = first or time.perf_counter()
    end = time.perf_counter()
    steady = (count - 1) / (end - first) if count > 1 and end > first else float("nan")
    return {"files_per_s_steady": round(steady, 2), "seconds_in_all": round(end - started, 1)}


def per_file_costs(paths: list[str], options) -> dict:
    from deepfake_scanner.cli.common import text_stdout
    from deepfake_scanner.frames import Sampling, read_frames
    from deepfake_scanner.output.scan_results import ScanRecorder
    from deepfake_scanner.scanner import Scanner

    started = time.perf_counter()
    for path in paths:
        list(read_frames(path, Sampling(fps=options.fps, max_frames=options.max_frames)))
    reading = (time.perf_counter() - started) / len(paths)
    with Scanner.open(options=options) as scanner:
        scanner.scan_file(paths[0])
        started = time.perf_counter()
        results = [scanner.scan_file(path) for path in paths]
        whole = (time.perf_counter() - started) / len(paths)
    blobs = [pickle.dumps(r) for r in results]
    with tempfile.TemporaryDirectory() as tmp:
        recorder = ScanRecorder(Path(tmp) / "v.csv", None, resume=False)
        recorder.start(text_stdout())
        started = time.perf_counter()
        for blob in blobs:
            recorder.record(pickle.loads(blob).verdict, [])
        driver = (time.perf_counter() - started) / len(blobs)
        recorder.finish(True)
    return {
        "reading_s": round(reading, 4),
        "whole_scan_s": round(whole, 4),
        "models_s": round(whole - reading, 4),
        "driver_s": round(driver, 5),
        "mean_file_mb": round(sum(os.path.getsize(p) for p in paths) / len(paths) / 1e6, 3),
        "result_kb": round(sum(len(b) for b in blobs) / len(blobs) / 1e3, 1),
    }


def model(costs: dict, per_actor: float, network_mb_s: float) -> dict:
    caps = {
        "driver": 1 / (costs["driver_s"] + SCHEDULING_S),
        "network": network_mb_s / max(costs["mean_file_mb"], 1e-9),
    }
    predicted = {}
    for workers in WORKERS:
        compute = workers * per_actor
        limit = min(caps.values())
        predicted[workers] = {
            "files_per_s": round(min(compute, limit), 1),
            "bound": "actors" if compute <= limit else min(caps, key=caps.get),
        }
    return {"caps_files_per_s": {k: round(v, 1) for k, v in caps.items()}, "predicted": predicted}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--network-mb-s", type=float, default=1250.0, help="assumed cluster bandwidth to the actors")
    args = parser.parse_args(argv)
    setup_logging(False)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from deepfake_scanner.distributed import RayScanner
    from deepfake_scanner.scanner import Scanner, ScanOptions

    options = ScanOptions(provenance=False)
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_folder(Path(tmp), args.files)
        result = {"files": len(paths), "cpus": os.cpu_count()}
        started = time.perf_counter()
        with Scanner.open(options=options) as scanner:
            result["threaded"] = rate(scanner.scan_many(paths), len(paths), started)
        for workers in (1, 2):
            started = time.perf_counter()
            with RayScanner(options=options, workers=workers) as ray_scanner:
                result[f"ray_{workers}"] = rate(ray_scanner.scan_many(paths), len(paths), started)
        base = result["threaded"]["files_per_s_steady"]
        for workers in (1, 2):
            row = result[f"ray_{workers}"]
            row["vs_threaded"] = round(row["files_per_s_steady"] / base, 2)
        result["costs"] = per_file_costs(paths, options)
    per_actor = result["ray_2"]["files_per_s_steady"] / 2  # two one-CPU actors side by side on 2 cores
    result["model"] = model(result["costs"], per_actor, args.network_mb_s)
    result["model"]["assumptions"] = {
        "network_mb_s": args.network_mb_s,
        "scheduling_s_per_file": SCHEDULING_S,
        "actor": "each actor (one CPU) scans at half the 2-actor steady rate measured here on 2 cores "
        "(Ray's overheads and the actors' contention included)",
    }
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
