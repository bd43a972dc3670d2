#!/usr/bin/env python3
"""One command for every number in the README's results section, from ../shared/data:

  fake factory (if missing) -> [--retrain: every shipped detector (train_detector.py for the
  RetinaNets, train_seam.py for blend_seam) and the judge]
  -> baselines (tools/train_baseline.py: random and ImageNet start)
  -> held-out manifest (tools/make_manifest.py)
  -> leave-one-method-out on it (tools/leave_one_out.py)
  -> tools/evaluate.py on it: the system (with --widening and --robustness), the shipped
     detectors scored by max score (no judge), each baseline (--score max)
  -> tools/update_readme.py --results (tables and plots, docs/results/)

Each stage's wall time goes to OUT/timings.json and into the README. Trained baselines and
leave-one-out runs already on disk are reused (a stage that reused work says so); --fresh
removes them first, so that the stated time is that of a full run."""

from __future__ import annotations

import importlib
import json
import shlex
import shutil
import sys
import time
from pathlib import Path

from cnn_detector.atomic_file import atomic_write_text
from cnn_detector.training.ship import machine
from deepfake_scanner.cli.common import EXIT_OK, ScannerArgumentParser, log, setup_logging
from deepfake_scanner.defaults import DETECTORS_DIR, WORK_DIR

WORK = WORK_DIR


TOOLS = (
    "evaluate",
    "leave_one_out",
    "make_fakes",
    "make_manifest",
    "train_baseline",
    "train_detector",
    "train_judge",
    "train_seam",
    "update_readme",
)


def shipped_seam_arguments(record: Path = DETECTORS_DIR / "blend_seam" / "metrics.json") -> list[str]:
    """train_seam.py's arguments that made the shipped blend_seam (its metrics.json keeps the
    command), so that --retrain remakes that detector, not the default recipe."""
    command = json.loads(record.read_text())["training"].get("command", "") if record.is_file() else ""
    arguments = shlex.split(command)[2:]  # after "python tools/train_seam.py"
    if not command:
        log.warning("%s: no training command recorded; retraining blend_seam with the default recipe", record)
    return [a for a in arguments if a != "--no-progress"] + ["--no-progress"]


SHIPPED_RECIPES = ("gan_face", "diffusion_face", "upsampling", "blend_boundary")
# (results folder, detector name, tools/train_baseline.py options): about 2.5 min per epoch on 2 cores.
BASELINES = (
    ("baseline_scratch", "frame_classifier", ["--epochs", "10"]),
    ("baseline_imagenet", "frame_classifier_imagenet", ["--pretrained", "--epochs", "6"]),
)


class StageFailed(RuntimeError):
    pass


def main(argv: list[str] | None = None) -> int:
    parser = ScannerArgumentParser(prog="reproduce_results.py", description=__doc__)
    parser.add_argument("--out", type=Path, default=WORK / "results")
    parser.add_argument("--factory", type=Path, default=WORK / "factory")
    parser.add_argument("--retrain", action="store_true", help="retrain the shipped detectors and the judge first")
    parser.add_argument("--fresh", action="store_true", help="retrain the baselines and leave-one-out runs too")
    parser.add_argument("--skip-leave-one-out", action="store_true")
    parser.add_argument("--no-readme", action="store_true", help="leave README.md as it is")
    args = parser.parse_args(argv)
    setup_logging()
    # imported as tools.reproduce_results (the tests), or run as python tools/reproduce_results.py
    tool = {name: importlib.import_module(f"{__package__}.{name}" if __package__ else name) for name in TOOLS}

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    baselines_root = WORK / "baselines"
    loo_out = WORK / "leave_one_out"
    manifest = WORK / "heldout" / "labels.csv"
    stages: dict[str, float] = {}
    reused: list[str] = []
    started = time.perf_counter()

    def stage(name: str, call, argv: list[str]) -> None:
        log.info("== %s: %s", name, " ".join(shlex.quote(a) for a in argv))
        began = time.perf_counter()
        code = call(argv)
        stages[name] = stages.get(name, 0.0) + time.perf_counter() - began
        if code != 0:
            raise StageFailed(f"{name} failed (exit {code}); see the messages above")

    try:
        if not (args.factory / "index.csv").is_file():
            stage("fake factory", tool["make_fakes"].main, ["--out", str(args.factory)])
        if args.retrain:
            for name in SHIPPED_RECIPES:
                run_dir = WORK / "runs" / name
                if run_dir.exists():
                    shutil.rmtree(run_dir)
                stage(
                    "detectors",
                    tool["train_detector"].main,
                    ["--config", f"configs/detectors/{name}.yaml", "--no-progress"],
                )
            shutil.rmtree(WORK / "runs" / "blend_seam", ignore_errors=True)
            stage("detectors", tool["train_seam"].main, shipped_seam_arguments())
            stage("judge", tool["train_judge"].main, [])
        if args.fresh:
            for path in (baselines_root, loo_out):
                shutil.rmtree(path, ignore_errors=True)
        for _, name, extra in BASELINES:
            trained = baselines_root / name / "metrics.json"
            if trained.is_file():
                seconds = json.loads(trained.read_text())["training"]["seconds"]
                reused.append(f"baseline {name} (trained in {seconds / 60:.1f} min by an earlier run)")
                continue
            stage(
                "baselines",
                tool["train_baseline"].main,
                ["--name", name, "--factory", str(args.factory), *extra, "--no-progress"],
            )
        stage("manifest", tool["make_manifest"].main, ["--factory", str(args.factory), "--out", str(manifest)])
        if not args.skip_leave_one_out:
            if any(loo_out.glob("*/metrics.json")):
                reused.append("leave-one-out detectors trained by an earlier run")
            stage(
                "leave one out",
                tool["leave_one_out"].main,
                ["--manifest", str(manifest), "--out", str(loo_out), "--no-progress"],
            )
        common = ["--manifest", str(manifest), "--bootstrap", "1000"]
        stage(
            "evaluate",
            tool["evaluate"].main,
            [*common, "--out", str(out / "system"), "--widening", "--base", "gan_face", "--robustness"],
        )
        stage("evaluate", tool["evaluate"].main, [*common, "--out", str(out / "max_score"), "--score", "max"])
        for folder, name, _ in BASELINES:
            stage(
                "evaluate",
                tool["evaluate"].main,
                [
                    *common,
                    "--out",
                    str(out / folder),
                    "--detectors",
                    str(baselines_root),
                    "--only-detectors",
                    name,
                    "--score",
                    "max",
                ],
            )
    except StageFailed as err:
        log.error("%s", err)
        return 1
    timings = {
        "command": "python tools/reproduce_results.py"
        + (" --retrain" if args.retrain else "")
        + (" --fresh" if args.fresh else ""),
        "machine": machine(),
        "stages": {k: round(v, 1) for k, v in stages.items()},
        "reused": reused,
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    atomic_write_text(out / "timings.json", json.dumps(timings, indent=1))
    if not args.no_readme:
        tool["update_readme"].main(["--results", str(out), "--leave-one-out", str(loo_out)])
    log.info("results in %s (%.1f min); README.md updated", out, timings["total_seconds"] / 60)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
