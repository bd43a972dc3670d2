"""A detector's training recipe: what it detects, which factory data it learns from, the
model and the schedule. One YAML file per shipped detector under configs/detectors/."""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from cnn_detector.registry import PROJECT_ROOT
from cnn_detector.strict_yaml import load_yaml
from cnn_detector.training.data.augment import AugmentConfig
from cnn_detector.training.retinanet.model import RetinaNetConfig


@dataclass(frozen=True)
class DetectorInfo:
    name: str
    labelmap: str
    algorithms: tuple[str, ...]
    description: str
    min_score: float = 0.3
    version: str = "1.0.0"
    author: str = "Deepfake Scanner contributors"
    licence: str = "Apache-2.0"


@dataclass(frozen=True)
class DataConfig:
    """positives: factory methods whose boxes this detector learns (class = method name,
    which must be a labelmap name); negatives: methods whose images are all-negative.
    factory: the make_fakes output it trains on (relative to the project root), made with
    factory_options (FactoryOptions fields) when it does not exist yet."""

    positives: tuple[str, ...]
    negatives: tuple[str, ...] = ("real",)
    positive_fraction: float = 0.4
    factory: str = "work_data/factory"
    factory_options: dict | None = None


@dataclass(frozen=True)
class TrainSchedule:
    epochs: int = 12
    batch_size: int = 16
    steps_per_epoch: int = 0  # 0: one pass over the training records
    head_only_epochs: int = 2
    learning_rate: float = 2e-3
    fine_tune_learning_rate: float = 5e-4
    seed: int = 0


@dataclass(frozen=True)
class AdversarialConfig:
    """Adversarial training (issue 24): ``fraction`` of each batch is replaced by L-inf PGD
    examples made against the model being trained (``steps`` steps from a random start, eps
    drawn per example from ``epsilons``, in 1/255 steps of pixel value), maximizing the training
    loss; 0 trains on clean batches only. 0.6 is the 6 adversarial : 4 clean mix."""

    fraction: float = 0.0
    epsilons: tuple[float, ...] = (2.0, 4.0, 8.0)
    steps: int = 3

    def __post_init__(self):
        if not 0.0 <= self.fraction <= 1.0:
            raise ValueError(f"adversarial fraction must be within 0..1, not {self.fraction}")
        if self.steps < 1 or not self.epsilons or any(not 0 < e <= 32 for e in self.epsilons):
            raise ValueError("adversarial: steps >= 1 and epsilons within (0, 32] (1/255 units)")


@dataclass(frozen=True)
class TrainConfig:
    path: Path
    detector: DetectorInfo
    data: DataConfig
    model: RetinaNetConfig
    train: TrainSchedule
    augment: AugmentConfig = AugmentConfig()
    adversarial: AdversarialConfig = AdversarialConfig()

    @property
    def labelmap_path(self) -> Path:
        return PROJECT_ROOT / self.detector.labelmap


def _section(cls, data: dict[str, Any], where: str):
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{where}: unknown setting(s) {unknown}; known: {sorted(known)}")
    required = sorted(f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING)
    missing = [name for name in required if name not in data]
    if missing:
        raise ValueError(f"{where}: missing setting(s) {missing}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    if "factory_options" in values and not isinstance(values["factory_options"], dict):
        raise ValueError(f"{where}: factory_options must be a mapping of make_fakes settings")
    return cls(**values)


def load_train_config(path: Path | str, quick: bool = False) -> TrainConfig:
    """Read a detector recipe; ``quick`` shrinks it to a CI-sized smoke run."""
    path = Path(path)
    try:
        data = load_yaml(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ValueError(f"{path}: {err}") from None
    unknown = sorted(set(data) - {"detector", "data", "model", "train", "augment", "adversarial", "quick"})
    if unknown:
        raise ValueError(f"{path}: unknown section(s) {unknown}")
    model = RetinaNetConfig.from_yaml(path) if "model" in data else RetinaNetConfig()
    train = dict(data.get("train", {}))
    if quick:
        model_overrides = dict(data.get("quick", {}).get("model", {"input_size": [128, 128], "max_level": 5}))
        model = RetinaNetConfig.from_dict({**model.to_dict(), **model_overrides}, str(path))
        if model.pretrained and not Path(model.pretrained).is_file():
            # A smoke run must work without ../shared/weights: random init then.
            model = RetinaNetConfig.from_dict({**model.to_dict(), "pretrained": None}, str(path))
        train.update({"epochs": 2, "head_only_epochs": 1, "steps_per_epoch": 3, "batch_size": 4})
        train.update(data.get("quick", {}).get("train", {}))
    for section in ("detector", "data"):
        if not isinstance(data.get(section), dict):
            raise ValueError(f"{path}: missing section '{section}:'")
    return TrainConfig(
        path=path,
        detector=_section(DetectorInfo, data["detector"], f"{path}: detector"),
        data=_section(DataConfig, data["data"], f"{path}: data"),
        model=model,
        train=_section(TrainSchedule, train, f"{path}: train"),
        augment=_section(AugmentConfig, data.get("augment", {}), f"{path}: augment"),
        adversarial=_section(AdversarialConfig, data.get("adversarial", {}), f"{path}: adversarial"),
    )
