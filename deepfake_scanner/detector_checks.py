"""Everything a maintainer checks before a detector is merged or installed, one result each.

Checks run in order and later ones only when the graph is safe to run: the manifest and
labelmap, the graph's size, its sha256, the op allowlist, the Object Detection API tensor
contract (names and shapes, on a real run), labelmap coverage of the classes it emits, its
samples/expected.csv reproduced, its latency here, and its effect on the judge's verdicts.
A runtime: tflite detector gets the same checks, with its operators read from the TFLite
flatbuffer in place of the op allowlist.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnn_detector.errors import DeepfakeScannerError
from cnn_detector.frozen_graph import FrozenGraphDetector, LoadOptions
from cnn_detector.graph_trust import DEFAULT_MAX_GRAPH_BYTES, refused_ops, verify_graph_bytes
from cnn_detector.registry import DetectorSpec, load_detector_spec

MAX_LATENCY_MS = 1000.0


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str

    def __str__(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'} {self.name}: {self.detail}"


class _Checks:
    def __init__(self):
        self.results: list[CheckResult] = []

    def add(self, name: str, ok: bool, detail: str) -> bool:
        self.results.append(CheckResult(name, ok, detail))
        return ok


def run_checks(
    directory: Path,
    max_graph_bytes: int = DEFAULT_MAX_GRAPH_BYTES,
    judge_effect: Callable[[FrozenGraphDetector], tuple[bool, str]] | None = None,
) -> list[CheckResult]:
    """All checks on one detector directory; a failed safety check stops the rest."""
    checks = _Checks()
    directory = Path(directory)
    try:
        spec = load_detector_spec(directory)
    except DeepfakeScannerError as err:
        checks.add("manifest and labelmap", False, str(err))
        return checks.results
    checks.add(
        "manifest and labelmap",
        True,
        f"{spec.name} {spec.manifest.version}, {spec.manifest.input}, classes {list(spec.labelmap.ids)}",
    )
    data = spec.graph_path.read_bytes() if spec.graph_path.stat().st_size <= max_graph_bytes else None
    if not checks.add(
        "graph size",
        data is not None,
        f"{spec.graph_path.stat().st_size / 1e6:.1f} MB (limit {max_graph_bytes / 1e6:.0f} MB)",
    ):
        return checks.results
    digest = hashlib.sha256(data).hexdigest()
    if not checks.add(
        "sha256",
        digest == spec.manifest.sha256,
        "matches detector.yaml"
        if digest == spec.manifest.sha256
        else f"graph is {digest}, detector.yaml says {spec.manifest.sha256}",
    ):
        return checks.results
    if spec.manifest.runtime == "tflite":
        _tflite_checks(checks, spec, data, max_graph_bytes, judge_effect)
        return checks.results
    try:
        verified = verify_graph_bytes(data, spec.graph_path, spec.manifest.sha256, max_graph_bytes)
    except DeepfakeScannerError as err:
        checks.add("op allowlist", False, str(err))
        return checks.results
    checks.add("op allowlist", not refused_ops(verified.graph_def), f"{len(verified.op_types)} op types, all allowed")
    try:
        detector = FrozenGraphDetector(spec, verified, LoadOptions())
    except DeepfakeScannerError as err:
        checks.add("tensor contract", False, str(err))
        return checks.results
    with detector:
        _contract(checks, detector)
        _samples(checks, detector, spec)
        _latency(checks, detector)
        if judge_effect is not None:
            ok, detail = judge_effect(detector)
            checks.add("effect on the judge", ok, detail)
    return checks.results


def _tflite_checks(checks: _Checks, spec: DetectorSpec, data: bytes, max_graph_bytes: int, judge_effect) -> None:
    """A runtime: tflite detector: its operators (read from the flatbuffer: no custom, flex or
    delegate op), its input and outputs, then the same samples, latency and judge checks."""
    from cnn_detector.tflite import load_tflite_detector, model_ops, verify_tflite_bytes

    try:
        verify_tflite_bytes(data, spec.graph_path, spec.manifest.sha256, max_graph_bytes)
    except DeepfakeScannerError as err:
        checks.add("op allowlist", False, str(err))
        return
    checks.add("op allowlist", True, f"{len(model_ops(data))} TFLite builtin ops, no custom, flex or delegate op")
    try:
        detector = load_tflite_detector(spec, LoadOptions(max_graph_bytes=max_graph_bytes))
    except DeepfakeScannerError as err:
        checks.add("tensor contract", False, str(err))
        return
    with detector:
        rng = np.random.default_rng(0)
        batch = rng.integers(0, 255, (2, *spec.manifest.input_size, 3), dtype=np.uint8)
        raws = detector.run(batch)
        boxes = [r.boxes for r in raws if r.boxes.size]
        normalized = all(b.min() >= -0.01 and b.max() <= 1.01 for b in boxes)
        checks.add(
            "tensor contract",
            len(raws) == 2 and normalized,
            "uint8 [1,H,W,3] input; boxes normalized" if normalized else "boxes are not normalized to [0, 1]",
        )
        _samples(checks, detector, spec)
        started = time.perf_counter()
        for _ in range(5):
            detector.run(batch[:1])
        _latency_result(checks, detector, (time.perf_counter() - started) / 5 * 1000)
        if judge_effect is not None:
            checks.add("effect on the judge", *judge_effect(detector))


def _random_input(detector: FrozenGraphDetector, n: int, seed: int) -> dict:
    """A feed of ``n`` random images (or clips, with quiet random audio) at the input size."""
    manifest = detector.spec.manifest
    rng = np.random.default_rng(seed)
    frames = (manifest.clip_frames,) if manifest.is_clip else ()
    feed = {detector._input: rng.integers(0, 255, (n, *frames, *manifest.input_size, 3), dtype=np.uint8)}
    if detector._audio is not None:
        feed[detector._audio] = rng.uniform(-0.1, 0.1, (n, manifest.audio_samples)).astype(np.float32)
    return feed


def _contract(checks: _Checks, detector: FrozenGraphDetector) -> None:
    boxes, scores, classes, num = detector._session.run(detector._fetches, _random_input(detector, 2, 0))
    problems = []
    if boxes.ndim != 3 or boxes.shape[0] != 2 or boxes.shape[2] != 4:
        problems.append(f"detection_boxes {boxes.shape}, expected [2, K, 4]")
    if scores.shape != boxes.shape[:2] or classes.shape != boxes.shape[:2]:
        problems.append(f"scores {scores.shape} / classes {classes.shape}, expected {boxes.shape[:2]}")
    if num.shape != (2,):
        problems.append(f"num_detections {num.shape}, expected [2]")
    if boxes.size and (np.nanmin(boxes) < -0.01 or np.nanmax(boxes) > 1.01):
        problems.append("boxes are not normalized to [0, 1]")
    checks.add(
        "tensor contract",
        not problems,
        "; ".join(problems)
        or f"image_tensor uint8 {'[N,T,H,W,3]' if detector.spec.manifest.is_clip else '[N,H,W,3]'}"
        f" -> K={boxes.shape[1]} boxes, normalized",
    )


def _samples(checks: _Checks, detector: FrozenGraphDetector, spec: DetectorSpec) -> None:
    from deepfake_scanner.detector_samples import compare_with_expected, run_samples, sample_images
    from deepfake_scanner.faces import FaceFinder

    clip = spec.manifest.is_clip
    images = sample_images(spec.directory, videos=clip)
    if not checks.add("samples", bool(images), f"{len(images)} {'video' if clip else 'image'}(s) in samples/"):
        return
    finder = FaceFinder() if spec.manifest.input != "full_frame" else None
    rows = run_samples(detector, finder)
    emitted = {row.label for row in rows}
    names = {item.name for item in spec.labelmap.items}
    unknown = sorted(label for label in emitted if label not in names)
    checks.add(
        "labelmap covers emitted classes",
        not unknown,
        f"emitted {sorted(emitted) or 'nothing'}" + (f"; not in the labelmap: {unknown}" if unknown else ""),
    )
    problems = compare_with_expected(detector, finder, rows)
    checks.add("samples/expected.csv reproduced", not problems, "; ".join(problems[:3]) or "within tolerance")


def _latency(checks: _Checks, detector: FrozenGraphDetector) -> None:
    feed = _random_input(detector, 1, 1)
    detector._session.run(detector._fetches, feed)
    started = time.perf_counter()
    for _ in range(5):
        detector._session.run(detector._fetches, feed)
    _latency_result(checks, detector, (time.perf_counter() - started) / 5 * 1000)


def _latency_result(checks: _Checks, detector, ms: float) -> None:
    height, width = detector.spec.manifest.input_size
    what = f"{detector.spec.manifest.clip_frames}-frame clip" if detector.spec.manifest.is_clip else "image"
    checks.add(
        "latency", ms <= MAX_LATENCY_MS, f"{ms:.1f} ms per {height}x{width} {what} here (limit {MAX_LATENCY_MS:.0f})"
    )
