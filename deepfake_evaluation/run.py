"""tools/evaluate.py's work: detect once per file, judge every detector set, write the files."""

from __future__ import annotations

import csv
import json

from cnn_detector.atomic_file import atomic_write_text, atomic_writer
from deepfake_evaluation.report import confusion, write_plots, write_report
from deepfake_evaluation.scoring import MaxScore, coverage, judge_all, metrics_of, scored_result
from deepfake_scanner.engine import EngineOptions, ScanEngine
from deepfake_scanner.faces import FaceFinder
from deepfake_scanner.output.verdicts import VERDICT_COLUMNS, verdict_row


def run_evaluation(items, detectors, judge, args) -> dict:
    from tqdm import tqdm

    by_max = getattr(args, "score", "judge") == "max"
    if by_max:  # baselines: each source's highest raw detection score, no judge
        judge = MaxScore({d.name: d.spec.manifest.min_score for d in detectors})
    options = EngineOptions(
        fps=args.fps,
        max_frames=args.max_frames,
        min_score=0.0 if by_max else None,
        defense=getattr(args, "defense", "none"),
    )
    engine = ScanEngine(detectors, FaceFinder(), judge, options)
    by_source = {}
    for result in tqdm(engine.scan([i.path for i in items]), total=len(items), desc="files", leave=False):
        by_source[result.source] = result
    scored = [scored_result(item, by_source[str(item.path)], engine, judge) for item in items]
    names = list(engine.names)
    verdicts = judge_all(judge, scored, names)
    metrics = metrics_of(scored, verdicts, judge.threshold, args.bootstrap)
    # for_judge keeps only calibrated detections; raw ones count from the detector's min_score
    cover = coverage(scored, names, {d.name: d.spec.manifest.min_score if by_max else 0.0 for d in detectors})
    report = {
        "manifest": str(args.manifest),
        "score": "max detection score" if by_max else "judge",
        "detectors": names,
        "threshold": judge.threshold,
        "metrics": metrics.as_dict(),
        "coverage": cover,
        "confusion": confusion(items, verdicts, judge.threshold),
    }
    if args.widening:
        base = [n for n in args.base.split(",") if n] or names[:1]
        steps, current = [], [n for n in names if n in base]
        for name in [None] + [n for n in names if n not in base]:
            if name:
                current = current + [name]
            step_verdicts = judge_all(judge, scored, current)
            steps.append(
                {"detectors": list(current), **metrics_of(scored, step_verdicts, judge.threshold, rounds=200).as_dict()}
            )
        report["widening"] = steps
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    plots_extra = []
    if getattr(args, "robustness", False):
        from deepfake_evaluation.robustness import plot_sweep, sweep

        report["robustness"] = sweep(items, engine, judge, rounds=min(args.bootstrap, 200))
        plot_sweep(report["robustness"], out / "robustness.png")
        plots_extra.append("robustness.png")
    with atomic_writer(out / "verdicts.csv", "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([*VERDICT_COLUMNS, "label", "method"])
        for item, verdict in zip(items, verdicts):
            writer.writerow([*verdict_row(verdict), "fake" if item.label else "real", item.method])
    plots = write_plots(out, items, verdicts, metrics, cover, judge.threshold) + plots_extra
    atomic_write_text(out / "metrics.json", json.dumps(report, indent=1, default=float))
    write_report(out, report, plots)
    return report
