#!/usr/bin/env python3
"""Evaluate the whole system on a labelled manifest (path,label[,method]): verdicts, metrics
with bootstrap 95% intervals (overall, per method, per source folder), ROC / histogram /
coverage plots, a confusion table and report.md. --widening adds the detectors one at a time
to a base set, the judge unchanged, and reports each step.

--wild: the validation on ../shared/data/wild (sources no training folder comes from), in one
command: its manifests, the system, the calibrated max score, the ImageNet frame classifier
baseline (trained first if missing) and the four shortcut baselines, per kind, method and
source folder, into OUT/report.md and OUT/wild.json."""

from __future__ import annotations

import sys
from pathlib import Path

from deepfake_scanner.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    ScannerArgumentParser,
    add_detector_arguments,
    log,
    parse_arguments,
)
from deepfake_scanner.defaults import EVALUATION_MAX_FRAMES, FPS, JUDGE_DIR, SHARE_DIR, WILD_DIR, WORK_DIR

IMAGENET_BASELINE = ("frame_classifier_imagenet", ["--pretrained", "--epochs", "6"])  # as reproduce_results.py

EXAMPLES = """examples:
  python tools/evaluate.py --wild                        # wild/ validation -> work_data/wild/report.md
  python tools/evaluate.py --manifest samples/labels.csv --out work_data/eval_samples
  python tools/evaluate.py --manifest my_set/labels.csv --out eval --only-detectors gan_face,blend_boundary
  python tools/evaluate.py --manifest my_set/labels.csv --out eval --widening --base gan_face
  python tools/evaluate.py --manifest my_set/labels.csv --out eval --robustness   # JPEG, resize, blur, screen
  python tools/evaluate.py --manifest my_set/labels.csv --out eval_baseline \
      --detectors work_data/baselines --only-detectors frame_classifier --score max

labels.csv: a header path,label[,method][,source_folder]; paths relative to the manifest (or
absolute); label real or fake; source_folder groups the per-folder metrics (default: the
path's folder). tools/make_manifest.py writes the held-out test set's manifest.
"""


def validate(args, parser) -> None:
    if args.wild:
        if args.manifest:
            parser.error("--wild writes its own manifests; leave --manifest out")
        args.out = args.out or WORK_DIR / "wild"
    elif not (args.manifest and args.out):
        parser.error("--manifest and --out are required (or --wild)")


def evaluate_wild(args) -> int:
    """Every scorer on wild/'s images and videos, then one report (deepfake_evaluation.wild)."""
    import json
    import time

    from cnn_detector.atomic_file import atomic_write_text
    from cnn_detector.training.ship import machine
    from deepfake_evaluation import wild as wild
    from deepfake_evaluation.shortcuts import SHORTCUT_NAMES, SHORTCUTS
    from deepfake_scanner.faces import FaceFinder

    if __package__:  # imported as tools.evaluate (the tests)
        from tools import train_baseline
    else:  # run as python tools/evaluate.py: tools/ is on the path
        import train_baseline

    started = time.perf_counter()
    if not (args.wild_dir / "MANIFEST.csv").is_file():
        log.error("%s: no MANIFEST.csv; --wild-dir must name ../shared/data/wild", args.wild_dir)
        return EXIT_USAGE
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    items = wild.read_wild(args.wild_dir)
    name, options = IMAGENET_BASELINE
    if not (args.baselines / name / "metrics.json").is_file():
        log.info("training the ImageNet frame classifier baseline first (about 15 min on 2 cores)")
        if train_baseline.main(["--name", name, "--output-root", str(args.baselines), *options, "--no-progress"]):
            return 1
    common = ["--fps", str(args.fps), "--max-frames", str(args.max_frames), "--bootstrap", str(args.bootstrap)]
    selection = [a for d in args.detectors for a in ("--detectors", str(d))] + ["--judge", str(args.judge)]
    selection += ["--only-detectors", ",".join(args.only_detectors)] if args.only_detectors else []
    selection += ["--skip-detectors", ",".join(args.skip_detectors)] if args.skip_detectors else []
    selection += ["--threshold", str(args.threshold)] if args.threshold is not None else []
    selection += ["--defense", args.defense] if args.defense != "none" else []
    base = "gan_face" if not args.only_detectors or "gan_face" in args.only_detectors else ""
    runs = {
        "system": [*selection, "--widening", "--base", base],
        "max_score": [*selection, "--score", "max"],
        "imagenet_baseline": ["--detectors", str(args.baselines), "--only-detectors", name, "--score", "max"],
    }
    face_finder = FaceFinder()
    share_sample = wild.share_training_sample(args.share)
    log.info("shortcut directions from %d share training stills", len(share_sample))
    share_features = wild.features_of([p for _, p in share_sample], face_finder)
    labelled = [(y, share_features[str(p)]) for y, p in share_sample if share_features[str(p)] is not None]
    orientation = wild.learn_orientations({"images": labelled})
    report = {"scorers": list(wild.SCORERS) + [(n, SHORTCUT_NAMES[n]) for n in SHORTCUTS], "kinds": {}}
    report["shortcut_orientation"] = orientation
    for kind in wild.KINDS:
        chosen = [i for i in items if i.kind == kind]
        if not chosen:
            continue
        manifest = wild.write_manifest(chosen, out / kind / "labels.csv")
        tables = {}
        for run, extra in runs.items():
            folder = out / kind / run
            code = main(["--manifest", str(manifest), "--out", str(folder), *common, *extra])
            if code != EXIT_OK:
                log.error("%s on wild %s failed (exit %d)", run, kind, code)
                return code
            scores, threshold = wild.read_run_scores(folder)
            tables[run] = wild.score_table(chosen, scores, threshold, args.bootstrap)
        features = wild.features_of([i.path for i in chosen], face_finder)
        for shortcut in SHORTCUTS:
            scores = wild.shortcut_scores(chosen, features, orientation[kind][shortcut], shortcut)
            tables[shortcut] = wild.score_table(chosen, scores, None, args.bootstrap)
        counts = {"fake": sum(i.label for i in chosen), "real": sum(1 - i.label for i in chosen)}
        report["kinds"][kind] = {"counts": counts, "scorers": tables, "widening": wild.widening(out / kind / "system")}
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["machine"] = machine()
    atomic_write_text(out / "wild.json", json.dumps(report, indent=1, default=float))
    atomic_write_text(out / "report.md", "# Wild validation\n\n" + wild.markdown(report))
    log.info("wild validation in %.1f min: %s", report["seconds"] / 60, out / "report.md")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = ScannerArgumentParser(prog="evaluate.py", description=__doc__, epilog=EXAMPLES)
    parser.add_argument("--manifest", type=Path, help="labels.csv to evaluate (not with --wild)")
    parser.add_argument("--out", type=Path, help="output folder (default with --wild: work_data/wild)")
    parser.add_argument("--wild", action="store_true", help="the wild/ validation: every scorer and baseline")
    parser.add_argument("--wild-dir", type=Path, default=WILD_DIR)
    parser.add_argument("--share", type=Path, default=SHARE_DIR, help="for --wild")
    parser.add_argument("--baselines", type=Path, default=WORK_DIR / "baselines", help="for --wild")
    parser.add_argument("--fps", type=float, default=FPS)
    parser.add_argument("--max-frames", type=int, default=EVALUATION_MAX_FRAMES)
    parser.add_argument("--widening", action="store_true", help="add detectors one at a time, judge unchanged")
    parser.add_argument("--robustness", action="store_true", help="re-encode the stills step by step, AUC per step")
    parser.add_argument("--base", default="", help="comma-separated base set for --widening (default: the first)")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap rounds for the 95%% intervals")
    parser.add_argument("--judge", type=Path, default=JUDGE_DIR)
    parser.add_argument("--threshold", type=float)
    parser.add_argument(
        "--score",
        choices=("judge", "max"),
        default="judge",
        help="judge: the RNN judge decides (the system); max: highest detection score, "
        "threshold at each detector's calibrated min_score (baselines such as tools/train_baseline.py's)",
    )
    add_detector_arguments(parser)
    args = parse_arguments(parser, argv, validate)
    if isinstance(args, int):
        return args
    if args.wild:
        return evaluate_wild(args)
    from deepfake_evaluation.scoring import ManifestProblem, read_labels

    try:
        items = read_labels(args.manifest)
    except ManifestProblem as err:
        log.error("%s", err)
        return EXIT_USAGE
    from deepfake_scanner.cli.common import judge_and_detectors

    parts = judge_and_detectors(args)
    if isinstance(parts, int):
        return parts
    judge, detectors = parts
    from deepfake_evaluation.run import run_evaluation

    report = run_evaluation(items, detectors, judge, args)
    overall = report["metrics"]["overall"]
    log.info(
        "AUC %.3f, recall %.3f, FPR %.3f at threshold %.3f; report: %s",
        overall["auc"],
        overall["recall"],
        overall["fpr"],
        report["threshold"],
        args.out / "report.md",
    )
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
