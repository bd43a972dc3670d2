#!/usr/bin/env python3
"""Throughput of one detector graph: images per second at batch 1 and batched, and the
one-time cost of checking + loading it. Ratios are against batch 1 in the same run.

    python bench/bench_detect_image.py                     # every shipped detector
    python bench/bench_detect_image.py --detector gan_face --batch 16 --seconds 10
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from cnn_detector.frozen_graph import LoadOptions, load_detector
from cnn_detector.registry import discover_detectors
from deepfake_scanner.cli.common import setup_logging


def images_per_second(detector, batch: np.ndarray, seconds: float) -> float:
    detector.run(batch)  # warm-up: first call builds kernels
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        detector.run(batch)
        done += len(batch)
    return done / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--detector", action="append", default=[], help="detector name (default: all shipped)")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0, help="measuring time per setting")
    args = parser.parse_args(argv)
    setup_logging()
    scan = discover_detectors()
    specs = scan.select(args.detector)
    rng = np.random.default_rng(0)
    print(f"| detector | input | graph MB | check+load s | batch 1 img/s | batch {args.batch} img/s | ratio |")
    print("|---|---|---|---|---|---|---|")
    for spec in specs:
        started = time.perf_counter()
        detector = load_detector(spec, LoadOptions(batch_size=args.batch))
        load_seconds = time.perf_counter() - started
        height, width = spec.manifest.input_size
        one = rng.integers(0, 255, (1, height, width, 3), dtype=np.uint8)
        many = rng.integers(0, 255, (args.batch, height, width, 3), dtype=np.uint8)
        single = images_per_second(detector, one, args.seconds)
        batched = images_per_second(detector, many, args.seconds)
        size = spec.graph_path.stat().st_size / 1e6
        print(
            f"| {spec.name} | {height}x{width} | {size:.1f} | {load_seconds:.2f} | {single:.1f} | {batched:.1f} "
            f"| {batched / single:.2f}x |"
        )
        detector.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
