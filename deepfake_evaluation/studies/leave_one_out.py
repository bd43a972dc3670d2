"""Leave-one-method-out at system level: how far the scanner catches a generation method that
none of its detectors was trained on (issue 6).

For each method M of the factory's test split, the shipped detector set is rebuilt without any
knowledge of M: a detector that also learned other methods is retrained on those alone (its
recipe with the short schedule of configs/leave_one_out.yaml), one that learned only M is
left out, the others stay as shipped. The same judge, unchanged, then decides on M's held-out
fakes and every held-out real; "seen" is the shipped set on the same files. Detectors run once
per file (shipped and retrained together); each set is judged from those detections, as
tools/evaluate.py --widening does.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from cnn_detector.atomic_file import atomic_write_text
from cnn_detector.registry import PROJECT_ROOT
from cnn_detector.training.data.factory import REAL
from cnn_detector.training.retinanet.config import TrainConfig, TrainSchedule, load_train_config
from cnn_detector.training.scoring import read_index
from deepfake_scanner.defaults import EVALUATION_MAX_FRAMES
from deepfake_scanner.share import DEFAULT_SHARE

log = logging.getLogger(__name__)

RESULT_NAME = "leave_one_out.json"
RECIPES = PROJECT_ROOT / "configs" / "detectors"


@dataclass
class Plan:
    """The detector set that knows nothing of ``method``."""

    method: str
    kept: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    retrained: dict[str, str] = field(default_factory=dict)  # shipped name -> variant name

    @property
    def detectors(self) -> list[str]:
        return sorted(self.kept + list(self.retrained.values()))


def factory_methods(factory: Path) -> list[str]:
    """Fake methods with test examples in the factory (what can be held out and measured)."""
    return sorted({r["method"] for r in read_index(factory, "test")} - {REAL})


def load_schedule(path: Path, quick: bool = False) -> TrainSchedule:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(data.get("train"), dict):
        raise ValueError(f"{path}: expected a 'train:' section (the retrained detectors' schedule)")
    schedule = TrainSchedule(**data["train"])
    if quick:
        schedule = dataclasses.replace(schedule, epochs=2, head_only_epochs=1, steps_per_epoch=3, batch_size=4)
    return schedule


def make_plans(methods: list[str], shipped: dict[str, tuple[str, ...]], recipes: dict[str, TrainConfig]) -> list[Plan]:
    """shipped: detector name -> the methods it was trained on (its manifest's algorithms)."""
    plans = []
    for method in methods:
        plan = Plan(method)
        for name, algorithms in sorted(shipped.items()):
            recipe = recipes.get(name)
            if method not in algorithms:
                plan.kept.append(name)
            elif recipe is not None and set(recipe.data.positives) - {method}:
                plan.retrained[name] = f"{name}_without_{method}"
            else:
                plan.dropped.append(name)
        plans.append(plan)
    return plans


def variant_config(recipe: TrainConfig, method: str, schedule: TrainSchedule) -> TrainConfig:
    d = recipe.detector
    return dataclasses.replace(
        recipe,
        detector=dataclasses.replace(
            d,
            name=f"{d.name}_without_{method}",
            algorithms=tuple(a for a in d.algorithms if a != method),
            description=f"{d.name} retrained without {method} (leave-one-method-out experiment).",
        ),
        data=dataclasses.replace(recipe.data, positives=tuple(p for p in recipe.data.positives if p != method)),
        train=schedule,
    )


def train_variants(
    plans: list[Plan],
    recipes: dict[str, TrainConfig],
    schedule: TrainSchedule,
    out_dir: Path,
    factory: Path | None,
    share: Path | None,
    progress: bool,
) -> dict[str, float]:
    """Train each retrained detector once (a finished one is reused); name -> training seconds."""
    from cnn_detector.training.pipeline import PipelineOptions, train_and_ship

    seconds = {}
    for plan in plans:
        for name, variant in plan.retrained.items():
            metrics = out_dir / variant / "metrics.json"
            if not metrics.is_file():
                config = variant_config(recipes[name], plan.method, schedule)
                options = PipelineOptions(
                    factory=factory or PROJECT_ROOT / config.data.factory,
                    run_dir=out_dir / "runs" / variant,
                    output_root=out_dir,
                    share=share if share is not None else DEFAULT_SHARE,
                    progress=progress,
                    command="python tools/leave_one_out.py",
                )
                log.info("training %s (%s without %s)", variant, name, plan.method)
                train_and_ship(config, options)
            seconds[variant] = json.loads(metrics.read_text())["training"]["seconds"]
    return seconds


def evaluate_plans(plans: list[Plan], manifest: Path, out_dir: Path, judge, rounds: int = 1000) -> list[dict]:
    """One detection pass over the manifest with the shipped and retrained detectors; each
    method's fakes and every real judged by the shipped set and by the plan's set."""
    from tqdm import tqdm

    from cnn_detector.frozen_graph import LoadOptions, load_usable_detectors
    from cnn_detector.registry import discover_detectors
    from deepfake_evaluation.scoring import judge_all, metrics_of, read_labels, scored_result
    from deepfake_scanner.engine import EngineOptions, ScanEngine
    from deepfake_scanner.faces import FaceFinder

    items = read_labels(manifest)
    wanted = {p.method for p in plans}
    items = [i for i in items if i.label == 0 or i.method in wanted]
    scan = discover_detectors([out_dir], include_environment=False)
    shipped = sorted({n for p in plans for n in p.kept + p.dropped + list(p.retrained)})
    names = sorted(set(shipped) | {v for p in plans for v in p.retrained.values()})
    detectors = load_usable_detectors(
        [scan.specs[n] for n in names], LoadOptions(), lambda name, err: log.error("skipped detector %s: %s", name, err)
    )
    engine = ScanEngine(detectors, FaceFinder(), judge, EngineOptions(max_frames=EVALUATION_MAX_FRAMES))
    by_source = {r.source: r for r in tqdm(engine.scan([i.path for i in items]), total=len(items), leave=False)}
    scored = [scored_result(i, by_source[str(i.path)], engine, judge) for i in items]
    rows = []
    for plan in plans:
        group = [s for s in scored if s.item.label == 0 or s.item.method == plan.method]
        seen = metrics_of(group, judge_all(judge, group, shipped), judge.threshold, rounds).per_method
        unseen = metrics_of(group, judge_all(judge, group, plan.detectors), judge.threshold, rounds).per_method
        if plan.method not in seen:
            continue  # no judged fake of this method (no face found in any)
        s, u = seen[plan.method], unseen[plan.method]
        rows.append(
            {
                "method": plan.method,
                "n_fake": s.n_fake,
                "n_real": s.n_real,
                "seen_auc": s.auc,
                "seen_auc_ci95": s.auc_ci95,
                "unseen_auc": u.auc,
                "unseen_auc_ci95": u.auc_ci95,
                "seen_recall": s.recall,
                "unseen_recall": u.recall,
                "seen_fpr": s.fpr,
                "unseen_fpr": u.fpr,
                "kept": plan.kept,
                "retrained": plan.retrained,
                "dropped": plan.dropped,
            }
        )
    for detector in detectors:
        detector.close()
    return rows


def leave_one_out(
    manifest: Path,
    factory: Path | None,
    out_dir: Path,
    judge,
    schedule: TrainSchedule,
    methods: list[str],
    share: Path | None = None,
    progress: bool = True,
    rounds: int = 1000,
    quick: bool = False,
) -> dict:
    """Plan, train what must be retrained, judge; writes OUT/RESULT_NAME. ``quick`` shrinks the
    recipes as train_detector.py --quick does (a smoke run, without ../shared/weights too)."""
    from cnn_detector.registry import discover_detectors

    started = time.perf_counter()
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    scan = discover_detectors(include_environment=False)
    shipped = {name: spec.manifest.algorithms for name, spec in scan.specs.items()}
    recipes = {p.stem: load_train_config(p, quick=quick) for p in sorted(RECIPES.glob("*.yaml"))}
    plans = make_plans(methods, shipped, recipes)
    train_seconds = train_variants(plans, recipes, schedule, out_dir, factory, share, progress)
    rows = evaluate_plans(plans, manifest, out_dir, judge, rounds)
    summary = {
        "manifest": str(manifest),
        "schedule": dataclasses.asdict(schedule),
        "threshold": judge.threshold,
        "rows": rows,
        "train_seconds": round(sum(train_seconds.values()), 1),
        "seconds": round(time.perf_counter() - started, 1),
    }
    atomic_write_text(out_dir / RESULT_NAME, json.dumps(summary, indent=1, sort_keys=True, default=float))
    return summary
