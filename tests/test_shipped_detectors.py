"""One test per registered detector (timm-style): it loads through every trust check,
carries a complete directory, and reproduces its own samples/expected.csv."""

import pytest

from cnn_detector.frozen_graph import load_detector
from cnn_detector.registry import discover_detectors
from deepfake_scanner.detector_samples import compare_with_expected, sample_images
from deepfake_scanner.faces import FaceFinder

pytestmark = pytest.mark.slow  # trains or runs the shipped graphs: in CI all the same

SCAN = discover_detectors(include_environment=False)
SHIPPED = sorted(SCAN.specs)


def test_registry_has_shipped_detectors_and_no_problems():
    assert SHIPPED, "frozen_models/ must ship detectors"
    assert not SCAN.problems, [str(p) for p in SCAN.problems]


@pytest.fixture(scope="module")
def face_finder():
    return FaceFinder()


@pytest.mark.parametrize("name", SHIPPED)
def test_check_detector_passes(name):
    """What a maintainer runs before merging (tools/check_detector.py), on every shipped detector."""
    from deepfake_evaluation.widening import judge_effect_on_samples
    from deepfake_scanner.detector_checks import run_checks

    results = run_checks(SCAN.get(name).directory, judge_effect=judge_effect_on_samples)
    assert all(r.ok for r in results), "\n".join(map(str, results))


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_detector(name, face_finder):
    spec = SCAN.get(name)
    assert (spec.directory / "MODEL_CARD.md").is_file()
    assert spec.graph_path.stat().st_size <= 15 * 1024 * 1024
    clips = spec.manifest.is_clip  # clip detectors' samples are videos
    assert sample_images(spec.directory, videos=clips), f"{spec.directory}/samples has no sample media"
    with load_detector(spec) as detector:
        problems = compare_with_expected(detector, face_finder)
    assert not problems, "\n".join(problems)
