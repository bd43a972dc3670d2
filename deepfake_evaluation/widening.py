"""How a candidate detector changes the judge's verdicts on the bundled samples.

The design promises that a new detector changes verdicts only where it fires, and widening
must not raise false positives: a candidate that turns a real sample's verdict to fake is
refused (an uncalibrated detector firing on real faces would otherwise push them over the
judge's threshold). This compares the shipped detector set with and without the candidate,
image by image."""

from __future__ import annotations

from cnn_detector.frozen_graph import FrozenGraphDetector, load_detector
from cnn_detector.registry import discover_detectors
from deepfake_scanner.defaults import SAMPLES_DIR
from deepfake_scanner.engine import EngineOptions, ScanEngine
from deepfake_scanner.faces import FaceFinder
from deepfake_scanner.images import IMAGE_EXTENSIONS, iter_input_files
from deepfake_scanner.video import VIDEO_EXTENSIONS
from rnn_judge.judge import Judge, JudgeError

SAMPLES = SAMPLES_DIR


def judge_effect_on_samples(candidate: FrozenGraphDetector) -> tuple[bool, str]:
    scan = discover_detectors(include_environment=False)
    shipped = [load_detector(s) for s in scan.select() if s.name != candidate.name]
    if not shipped:
        return True, "no shipped detectors to compare with"
    try:
        judge = Judge.load()
    except JudgeError as err:
        return False, str(err)
    finder = FaceFinder()
    base = ScanEngine(shipped, finder, judge, EngineOptions())
    widened = ScanEngine([*shipped, candidate], finder, judge, EngineOptions())
    reals = real_samples()
    changed, fired, unexplained, flipped = [], 0, [], []
    media = IMAGE_EXTENSIONS | VIDEO_EXTENSIONS if candidate.spec.manifest.is_clip else IMAGE_EXTENSIONS
    for item in iter_input_files([SAMPLES], media):
        before, after = base.scan_file(item.path), widened.scan_file(item.path)
        fires = any(d.detector == candidate.name for f in after.frames for d in f.detections)
        fired += fires
        b, a = before.verdict, after.verdict
        if (a.is_fake, a.fake_probability) != (b.is_fake, b.fake_probability):
            changed.append(f"{item.path.name} {b.fake_probability}->{a.fake_probability}")
            if not fires:
                unexplained.append(item.path.name)
            if item.path.resolve() in reals and a.is_fake and not b.is_fake:
                flipped.append(item.path.name)
    for detector in shipped:
        detector.close()
    detail = f"fires on {fired} sample(s); verdicts changed on {len(changed)}" + (
        f" ({', '.join(changed[:4])})" if changed else ""
    )
    if unexplained:
        detail += f"; changed where it does not fire: {', '.join(unexplained)}"
    if flipped:
        detail += f"; turned real sample(s) to fake: {', '.join(flipped)} (calibrate its min_score on real faces)"
    return not unexplained and not flipped, detail


def real_samples() -> set:
    """The bundled samples labelled real in samples/labels.csv (resolved paths)."""
    import csv

    with open(SAMPLES / "labels.csv", newline="", encoding="utf-8") as handle:
        return {(SAMPLES / row["path"]).resolve() for row in csv.DictReader(handle) if row["label"] == "real"}
