#!/usr/bin/env python3
"""Check (and with --write, set) the judge's threshold on thousands of real inputs: every real
face crop of the factory's validation split, as it is and through --copies draws of each kind
of real photo that gets flagged (up-scaled small photos, old scanned prints, beauty-filtered
selfies, tight crops, the shared degradation chain: the inputs tools/calibrate_detector.py
sets min_scores on), and every real photo and video of the share's validation split as the
scanner sees them. Prints the false-positive rate the current threshold gives on
them, the threshold that gives --target-fpr, and what each threshold gives on wild/'s reals
(from `tools/evaluate.py --wild`'s verdicts, when there)."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from deepfake_scanner.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    ScannerArgumentParser,
    add_detector_arguments,
    factory_missing,
    log,
    parse_arguments,
)
from deepfake_scanner.defaults import FPS, JUDGE_DIR, SHARE_DIR, WORK_DIR

EXAMPLES = """examples:
  python tools/calibrate_judge.py                       # measure only: report.json in work_data/judge_calibration
  python tools/calibrate_judge.py --write               # set judge.yaml's threshold for 1% FPR on these reals
"""


def real_probabilities(
    engine, judge, factory: Path, share: Path, copies: int
) -> tuple[dict[str, list[float]], dict[str, dict[str, int]]]:
    """Judge probabilities of real inputs by kind (crops, each kind of real, photos, videos), and
    per kind how many of them each detector fired on at its min_score; inputs with no face
    are left out."""
    from collections import Counter, defaultdict

    from cnn_detector.training.calibration import real_calibration_images
    from deepfake_scanner.share import load_share
    from deepfake_scanner.video import VideoFrame

    found: dict[str, list[float]] = defaultdict(list)
    fired: dict[str, Counter] = defaultdict(Counter)

    def judged(name: str, image, kind: str) -> float | None:
        frame = engine.for_judge(engine.analyse(name, VideoFrame(0, 0.0, image)))
        verdict = judge.decide(name, [frame], engine.names)
        if verdict.status != "ok":
            return None
        fired[kind].update({d.detector for d in frame.detections})
        return verdict.fake_probability

    for kind, name, image in real_calibration_images(factory, copies):
        probability = judged(name, image, kind)
        if probability is not None:
            found[kind].append(probability)
    for item in load_share(share):
        if item.label == "real" and item.split == "val":
            result = engine.scan_file(item.path)
            if result.verdict.status == "ok":
                kind = "videos" if item.is_video else "photos"
                found[kind].append(result.verdict.fake_probability)
                calibrated = [engine.for_judge(f) for f in result.frames]
                fired[kind].update({d.detector for f in calibrated for d in f.detections})
    return dict(found), {kind: dict(counts) for kind, counts in fired.items()}


def wild_real_scores(wild_out: Path) -> list[float]:
    scores = []
    for kind in ("images", "videos"):
        path = wild_out / kind / "system" / "verdicts.csv"
        if path.is_file():
            with open(path, newline="", encoding="utf-8") as handle:
                rows = csv.DictReader(handle)
                scores += [float(r["fake_probability"]) for r in rows if r["label"] == "real" and r["status"] == "ok"]
    return scores


def main(argv: list[str] | None = None) -> int:
    parser = ScannerArgumentParser(prog="calibrate_judge.py", description=__doc__, epilog=EXAMPLES)
    parser.add_argument("--factory", type=Path, default=WORK_DIR / "factory")
    parser.add_argument("--share", type=Path, default=SHARE_DIR)
    parser.add_argument("--judge", type=Path, default=JUDGE_DIR)
    parser.add_argument("--copies", type=int, default=2, help="draws of each kind of real per crop (default 2)")
    parser.add_argument("--target-fpr", type=float, default=0.01)
    parser.add_argument("--wild-results", type=Path, default=WORK_DIR / "wild")
    parser.add_argument("--out", type=Path, default=WORK_DIR / "judge_calibration")
    parser.add_argument("--write", action="store_true", help="write the new threshold into the judge's judge.yaml")
    add_detector_arguments(parser)
    args = parse_arguments(parser, argv)
    if isinstance(args, int):
        return args
    if factory_missing(args.factory):
        return EXIT_USAGE
    import numpy as np
    import yaml

    from cnn_detector.atomic_file import atomic_write_text
    from deepfake_evaluation.metrics import bootstrap, threshold_at_fpr
    from deepfake_scanner.engine import EngineOptions, ScanEngine
    from deepfake_scanner.faces import FaceFinder
    from rnn_judge.judge import SETTINGS_NAME

    args.threshold = None  # judge_and_detectors reads it: the judge keeps its own threshold here
    from deepfake_scanner.cli.common import judge_and_detectors

    parts = judge_and_detectors(args)
    if isinstance(parts, int):
        return parts
    judge, detectors = parts
    # 16 frames a video (not the scan's 120): thousands of inputs in minutes
    engine = ScanEngine(detectors, FaceFinder(), judge, EngineOptions(fps=FPS, max_frames=16, defense=args.defense))
    found, fired = real_probabilities(engine, judge, args.factory, args.share, args.copies)
    for detector in detectors:
        detector.close()
    every = np.array([p for scores in found.values() for p in scores])
    chosen = float(threshold_at_fpr(every, args.target_fpr))
    wild = np.array(wild_real_scores(args.wild_results))

    def fpr_with_interval(scores: np.ndarray, threshold: float) -> dict:
        if not len(scores):
            return {"n": 0}
        ones = np.ones(len(scores), int)
        interval = bootstrap(lambda _, s: float((s >= threshold).mean()), ones, scores, 1000)
        return {"n": len(scores), "fpr": float((scores >= threshold).mean()), "fpr_ci95": interval}

    ceiling = judge.lone_detector_ceiling(engine.names)
    report = {
        "lone_detector_ceiling": ceiling,
        "reals": {kind: len(scores) for kind, scores in found.items()},
        "detector_fired": fired,
        "current_threshold": judge.threshold,
        "target_fpr": args.target_fpr,
        "threshold_for_target": chosen,
        "at_current": {k: fpr_with_interval(np.array(v), judge.threshold) for k, v in found.items()},
        "at_new": {k: fpr_with_interval(np.array(v), chosen) for k, v in found.items()},
        "wild_reals_at_current": fpr_with_interval(wild, judge.threshold),
        "wild_reals_at_new": fpr_with_interval(wild, chosen),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "report.json", json.dumps(report, indent=1))
    log.info(
        "%d real inputs: FPR %.3f at the current threshold %.4f; %.4f gives %.1f%%; wild reals: %s -> %s",
        len(every),
        float((every >= judge.threshold).mean()),
        judge.threshold,
        chosen,
        100 * args.target_fpr,
        report["wild_reals_at_current"].get("fpr"),
        report["wild_reals_at_new"].get("fpr"),
    )
    if chosen >= ceiling:
        log.warning(
            "%.4f is at or above %.4f, what one detector firing alone with a confident box on the face reaches: "
            "no detector could call a still fake on its own and widening could not add recall; calibrate the "
            "detectors' min_scores first (tools/calibrate_detector.py)%s",
            chosen,
            ceiling,
            "; judge.yaml left as it is" if args.write else "",
        )
        if args.write:
            return EXIT_USAGE
    if args.write:
        path = args.judge / SETTINGS_NAME
        settings = yaml.safe_load(path.read_text(encoding="utf-8"))
        settings["threshold"] = chosen
        settings["threshold_calibration"] = {
            "command": "python tools/calibrate_judge.py --write"
            + (f" --copies {args.copies}" if args.copies != 2 else ""),
            "reals": report["reals"],
            "target_fpr": args.target_fpr,
        }
        atomic_write_text(path, yaml.safe_dump(settings, sort_keys=False))
        log.info("%s: threshold %.4f written", path, chosen)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
