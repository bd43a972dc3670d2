#!/usr/bin/env python3
"""TFLite forms against the frozen graphs, on this machine (issue 24): per detector, the model's
size and its latency per image at batch 1 (the phone's case) and the frozen graph's at the
runtime's batch; and the whole scan (faces, every frame detector, the judge) in files per second
on the bundled sample images, frozen graphs against each TFLite model folder, as ratios to the
frozen-graph path of the same run. With --footprint, the install size (MB) of
requirements-tflite.txt in a fresh venv against the full requirements' venv.

    python tools/export_tflite.py --models-only      # the model folders, once
    python bench/bench_tflite.py
    python bench/bench_tflite.py --footprint          # also builds a venv from requirements-tflite.txt
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from deepfake_scanner.cli.common import setup_logging
from deepfake_scanner.defaults import SAMPLES_DIR, WORK_DIR

ROOT = Path(__file__).resolve().parents[1]
FORMS = ("float16", "int8")


def site_packages_mb(venv: Path) -> float:
    """Installed packages of a venv, in MB (pip and setuptools, in every venv, left out)."""
    total = 0
    for site in venv.glob("lib/python*/site-packages"):
        for entry in site.iterdir():
            if entry.name.split("-")[0].lower() in ("pip", "setuptools", "_distutils_hack", "distutils"):
                continue
            files = [entry] if entry.is_file() else [p for p in entry.rglob("*") if p.is_file()]
            total += sum(p.stat().st_size for p in files if not p.is_symlink())
    return total / 1e6


def footprint() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        venv = Path(tmp) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "-r", str(ROOT / "requirements-tflite.txt")]
        subprocess.run(pip, check=True)
        light = site_packages_mb(venv)
    full = site_packages_mb(Path(sys.prefix))
    return {
        "tflite_runner_mb": round(light, 1),
        "full_requirements_mb": round(full, 1),
        "ratio": round(light / full, 3),
    }


def detector_latency(models: dict[str, Path], images: list[np.ndarray], repeats: int) -> dict:
    from cnn_detector.frozen_graph import load_detector
    from cnn_detector.registry import discover_detectors, load_detector_spec

    rows = {}
    for spec in discover_detectors(include_environment=False).select():
        if spec.manifest.is_clip:
            continue
        row = {}
        forms = {
            "frozen_graph": spec,
            **{f: load_detector_spec(m / "detectors" / spec.name) for f, m in models.items()},
        }
        for form, form_spec in forms.items():
            with load_detector(form_spec) as detector:
                inputs = [detector.prepare(image) for image in images]
                detector.detect(inputs[:2])  # warm up
                started = time.perf_counter()
                for _ in range(repeats):
                    detector.detect(inputs)
                ms = (time.perf_counter() - started) * 1000 / (repeats * len(inputs))
            row[form] = {"mb": round(form_spec.graph_path.stat().st_size / 1e6, 2), "ms_per_image": round(ms, 2)}
        for form in models:
            row[form]["speed_vs_frozen"] = round(row["frozen_graph"]["ms_per_image"] / row[form]["ms_per_image"], 2)
        rows[spec.name] = row
    return rows


def scan_rate(models: dict[str, Path], paths: list[str], repeats: int) -> dict:
    from deepfake_scanner.scanner import Scanner, ScanOptions

    names = tuple(n for n in (p.name for p in (next(iter(models.values())) / "detectors").iterdir()))
    options = ScanOptions(only=names, provenance=False, threads=False)
    openers = {"frozen_graph": lambda: Scanner.open(options=options)}
    for form, folder in models.items():
        openers[form] = lambda folder=folder: Scanner.open(
            [folder / "detectors"], judge_dir=folder / "judge", options=options, include_shipped=False
        )
    rates = {}
    for form, opener in openers.items():
        with opener() as scanner:
            scanner.scan_file(paths[0])  # warm up
            started = time.perf_counter()
            for _ in range(repeats):
                for path in paths:
                    scanner.scan_file(path)
            rates[form] = {"files_per_s": round(repeats * len(paths) / (time.perf_counter() - started), 2)}
    for form in models:
        rates[form]["ratio_vs_frozen"] = round(rates[form]["files_per_s"] / rates["frozen_graph"]["files_per_s"], 2)
    return rates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=Path, default=WORK_DIR / "tflite" / "models", help="export_tflite.py's models")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--footprint", action="store_true", help="also measure the runner's install size")
    args = parser.parse_args(argv)
    setup_logging(False)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    models = {form: args.models / form for form in FORMS if (args.models / form / "detectors").is_dir()}
    if not models:
        print(f"{args.models}: no TFLite model folders; make them with python tools/export_tflite.py --models-only")
        return 1
    import cv2

    paths = sorted(str(p) for p in SAMPLES_DIR.glob("*.jpg"))
    images = [cv2.cvtColor(cv2.imread(p), cv2.COLOR_BGR2RGB) for p in paths]
    result = {
        "cpus": os.cpu_count(),
        "detectors": detector_latency(models, images, args.repeats),
        "scan": scan_rate(models, paths, args.repeats),
    }
    if args.footprint:
        result["footprint"] = footprint()
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
