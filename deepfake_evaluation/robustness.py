"""The robustness sweep: the same labelled media re-encoded step by step (JPEG quality, down-
scaling, blur, screen-capture-like noise), judged again, AUC at each step."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from deepfake_scanner.images import read_image
from deepfake_scanner.video import is_video

STEPS: dict[str, Callable[[np.ndarray], np.ndarray]] = {}


def _jpeg(quality: int):
    def apply(image: np.ndarray) -> np.ndarray:
        ok, data = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
        return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)

    return apply


def _resize(factor: float):
    def apply(image: np.ndarray) -> np.ndarray:
        height, width = image.shape[:2]
        size = (max(8, int(width * factor)), max(8, int(height * factor)))
        return cv2.resize(image, size, interpolation=cv2.INTER_AREA)

    return apply


def _blur(image: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), 1.5)


def _screen_capture(image: np.ndarray) -> np.ndarray:
    """Moire-free approximation of filming a screen: slight resample, gamma shift, sensor noise."""
    rng = np.random.default_rng(0)
    height, width = image.shape[:2]
    small = cv2.resize(image, (int(width * 0.8), int(height * 0.8)), interpolation=cv2.INTER_LINEAR)
    back = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255.0
    noisy = np.power(back, 0.9) * 255.0 + rng.normal(0, 6, back.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


for quality in (90, 70, 50, 30, 15):
    STEPS[f"jpeg{quality}"] = _jpeg(quality)
STEPS["resize_1/2"] = _resize(0.5)
STEPS["resize_1/4"] = _resize(0.25)
STEPS["blur"] = _blur
STEPS["screen_capture"] = _screen_capture


def transformed_copies(items, step: str, folder: Path):
    """(item, path of its transformed copy) for every still; videos are left out of the sweep."""
    import dataclasses

    transform = STEPS[step]
    out = []
    for index, item in enumerate(items):
        if is_video(item.path):
            continue
        target = folder / f"{index:05d}.png"
        cv2.imwrite(str(target), cv2.cvtColor(transform(read_image(item.path)), cv2.COLOR_RGB2BGR))
        out.append(dataclasses.replace(item, path=target))
    return out


def sweep(items, engine, judge, rounds: int = 200) -> dict[str, dict]:
    """AUC (and recall / FPR at the judge's threshold) at each step, 'original' first."""
    from deepfake_evaluation.scoring import judge_all, metrics_of, scored_result

    results = {}
    stills = [i for i in items if not is_video(i.path)]
    with tempfile.TemporaryDirectory() as tmp:
        for step in ["original", *STEPS]:
            if step == "original":
                batch = stills
            else:
                folder = Path(tmp) / step.replace("/", "_")
                folder.mkdir()
                batch = transformed_copies(stills, step, folder)
            by_source = {r.source: r for r in engine.scan([i.path for i in batch])}
            scored = [scored_result(item, by_source[str(item.path)], engine, judge) for item in batch]
            verdicts = judge_all(judge, scored, list(engine.names))
            results[step] = metrics_of(scored, verdicts, judge.threshold, rounds).overall.as_dict()
    return results


def plot_sweep(results: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    aucs = [results[n]["auc"] for n in names]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(range(len(names)), aucs, marker="o")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set(ylim=(0, 1), ylabel="AUC", title="Robustness: AUC after each re-encoding")
    ax.axhline(0.5, color="k", ls=":", lw=0.8)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
