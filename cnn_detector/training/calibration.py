"""A detector's min_score, calibrated: the score that at most ``target_fpr`` of thousands of
real inputs reach (every real face of the validation split, as it is and as the kinds of real
photo that get flagged, plus the split's real photos and video frames as the scanner sees
them). The judge reads detections from there up (engine.for_judge), so every detector's
evidence means the same to it whatever its raw score scale."""

from __future__ import annotations

import dataclasses
import math
import zlib
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnn_detector.errors import MediaError
from cnn_detector.frozen_graph import FrozenGraphDetector
from cnn_detector.manifest import MANIFEST_NAME, load_manifest, write_manifest
from cnn_detector.training.data.real_kinds import real_variants
from cnn_detector.training.scoring import read_index, score_images
from deepfake_evaluation.metrics import threshold_at_fpr
from deepfake_scanner.frames import read_frames
from deepfake_scanner.images import read_image

DEFAULT_TARGET_FPR = 0.01


MIN_KIND_INPUTS = 100  # a kind of real this common must stay under the target FPR on its own
CALIBRATION_COPIES = 2  # draws of each kind of real (real_kinds.REAL_KINDS) per real crop


def real_calibration_images(
    factory: Path, copies: int = CALIBRATION_COPIES, split: str = "val"
) -> Iterator[tuple[str, str, np.ndarray]]:
    """(kind, name, image) for each real face crop of the factory's ``split``: as it is
    ("crop"), then ``copies`` draws of each kind of real photo that gets flagged (up-scaled,
    old print, beauty filter, tight crop, the degradation chain), seeded by the crop's name."""
    reals = [row for row in read_index(factory, split) if row["method"] == "real"]
    if not reals:
        raise ValueError(f"{factory}: no real faces in the {split} split to calibrate on")
    for row in reals:
        image = read_image(Path(factory) / row["image"])
        yield "crop", row["image"], image
        seed = zlib.crc32(row["image"].encode("utf-8"))
        for number, (kind, variant) in enumerate(real_variants(image, seed, copies) if copies else ()):
            yield kind, f"{row['image']}#{kind}{number % copies}", variant


def real_crop_scores(
    detectors: Sequence[FrozenGraphDetector], factory: Path, copies: int = CALIBRATION_COPIES, batch: int = 16
) -> dict[str, dict[str, list[float]]]:
    """Each detector's best score on each real calibration image, by kind:
    {detector: {kind: [score, ...]}}. The images are made once and shared by the detectors."""
    scores: dict[str, dict[str, list[float]]] = {d.name: defaultdict(list) for d in detectors}
    pending: list[tuple[str, np.ndarray]] = []

    def flush() -> None:
        for detector in detectors:
            found = detector.detect([image for _, image in pending], min_score=0.01)
            for (kind, _), detections in zip(pending, found):
                scores[detector.name][kind].append(max((d.score for d in detections), default=0.0))
        pending.clear()

    for kind, _, image in real_calibration_images(factory, copies):
        pending.append((kind, image))
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
    return {name: dict(kinds) for name, kinds in scores.items()}


def original_media_scores(detectors: Sequence[FrozenGraphDetector], share: Path) -> dict[str, dict[str, list[float]]]:
    """Each detector's best score on each face of the validation split's real photos and video
    frames (windows of every real video), seen the way the scanner sees them (whole media ->
    face finder -> crop): professional photos and sharp video frames are where a detector
    trained on crops finds its false positives. {detector: {"photos"|"video frames": [...]}}"""
    from deepfake_scanner.engine import EngineOptions, ScanEngine
    from deepfake_scanner.faces import FaceFinder
    from deepfake_scanner.share import load_share

    engine = ScanEngine(
        list(detectors), FaceFinder(), judge=None, options=EngineOptions(fps=1.0, max_frames=16, min_score=0.01)
    )
    scores: dict[str, dict[str, list[float]]] = {d.name: defaultdict(list) for d in detectors}
    for item in load_share(share):
        if item.label != "real" or item.split != "val":
            continue
        kind = "video frames" if item.is_video else "photos"
        try:
            iterator = read_frames(item.path, engine.options.sampling)
            for frame in iterator:
                found = engine.analyse(item.relative, frame)
                if found.faces:
                    for detector in detectors:
                        mine = (d.score for d in found.detections if d.detector == detector.name)
                        scores[detector.name][kind].append(max(mine, default=0.0))
        except MediaError:
            continue
    return {name: dict(kinds) for name, kinds in scores.items()}


def rounded_up(threshold: float) -> float:
    """Two decimals, rounded up (three above 0.99, where saturated detectors put their real
    false positives), between 0.05 and 0.999: at most the target share of reals reach it."""
    step = 1000 if threshold > 0.99 else 100
    value = math.ceil(threshold * step) / step
    if value < threshold:  # threshold * step rounded down in floating point (0.7 + 1 ulp)
        value = (math.ceil(threshold * step) + 1) / step
    return min(0.999, max(0.05, round(value, 3)))


def min_score_for(kinds: dict[str, np.ndarray], target_fpr: float, each_kind: bool = False) -> float:
    """The lowest (rounded-up) score that at most ``target_fpr`` of all the real scores reach;
    with ``each_kind``, raised until it also holds for each kind of real on its own (kinds with
    at least MIN_KIND_INPUTS scores). Measured on wild/ and the factory's test split (README),
    the pooled rule ranked better and flagged fewer wild reals, so it is the default."""
    pooled = np.concatenate([np.asarray(v, np.float64) for v in kinds.values()]) if kinds else np.zeros(0)
    if not len(pooled):
        raise ValueError("no real scores")
    threshold = max(
        [threshold_at_fpr(pooled, target_fpr)]
        + [threshold_at_fpr(v, target_fpr) for v in kinds.values() if each_kind and len(v) >= MIN_KIND_INPUTS]
    )
    if not math.isfinite(threshold):
        raise ValueError(f"no threshold on {len(pooled)} scores")
    return rounded_up(threshold)


@dataclass(frozen=True)
class Calibration:
    """A detector's min_score and the real inputs it was set on, by kind: how many, and the
    share of them at or above the old and the new min_score."""

    detector: str
    min_score: float
    old_min_score: float
    reals: dict[str, int]
    fpr_old: dict[str, float]
    fpr_new: dict[str, float]

    @property
    def total(self) -> int:
        return sum(self.reals.values())

    def flagged(self, rates: dict[str, float]) -> float:
        """The share of all the real inputs flagged, from per-kind rates (fpr_old or fpr_new)."""
        return sum(rates[kind] * count for kind, count in self.reals.items()) / max(1, self.total)


def calibrate(
    detectors: Sequence[FrozenGraphDetector],
    factory: Path,
    target_fpr: float = DEFAULT_TARGET_FPR,
    share: Path | None = None,
    copies: int = CALIBRATION_COPIES,
    each_kind: bool = False,
) -> list[Calibration]:
    """Each detector's min_score: the score that at most ``target_fpr`` of the real inputs reach
    (of all of them; with ``each_kind`` of each kind on its own too), over every real crop of the factory's
    validation split as it is and through ``copies`` draws of each kind of real (real_kinds),
    and (when the share is there) the split's original real photos and video frames."""
    by_detector = real_crop_scores(detectors, factory, copies)
    if share is not None and Path(share).is_dir():
        for name, kinds in original_media_scores(detectors, share).items():
            by_detector[name].update(kinds)
    results = []
    for detector in detectors:
        kinds = {kind: np.asarray(values, np.float64) for kind, values in by_detector[detector.name].items()}
        try:
            chosen = min_score_for(kinds, target_fpr, each_kind)
        except ValueError as err:
            raise ValueError(f"{factory}: cannot calibrate {detector.name}: {err}") from None
        old = detector.spec.manifest.min_score
        results.append(
            Calibration(
                detector=detector.name,
                min_score=chosen,
                old_min_score=old,
                reals={kind: len(v) for kind, v in kinds.items()},
                fpr_old={kind: float((v >= old).mean()) if len(v) else 0.0 for kind, v in kinds.items()},
                fpr_new={kind: float((v >= chosen).mean()) if len(v) else 0.0 for kind, v in kinds.items()},
            )
        )
    return results


def calibrated_min_score(
    detector: FrozenGraphDetector,
    factory: Path,
    target_fpr: float = DEFAULT_TARGET_FPR,
    share: Path | None = None,
    copies: int = CALIBRATION_COPIES,
) -> float:
    """One detector's min_score, as `calibrate` sets it."""
    return calibrate([detector], factory, target_fpr, share, copies)[0].min_score


def typical_fake_score(detector: FrozenGraphDetector, factory: Path, positives: tuple[str, ...]) -> float | None:
    """Median score on the validation split's fakes of the detector's own methods (None when
    the split has none: the judge then uses its default scale)."""
    fakes = [row for row in read_index(factory, "val") if row["method"] in positives]
    if not fakes:
        return None
    return round(max(0.01, float(np.median([s.score for s in score_images(detector, factory, fakes)]))), 3)


def write_calibration(directory: Path, min_score: float, typical: float | None = None) -> None:
    path = Path(directory) / MANIFEST_NAME
    write_manifest(dataclasses.replace(load_manifest(path), min_score=min_score, typical_fake_score=typical), path)
