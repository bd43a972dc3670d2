"""tools/attack.py's whole-system row: each crop is judged by the shipped system as a still, the
same verdict the scanner gives that image from a file."""

from __future__ import annotations

import numpy as np
import pytest

from cnn_detector.registry import PROJECT_ROOT
from tools.attack import system_scores

pytestmark = pytest.mark.slow  # the shipped system


def test_the_system_row_judges_each_crop_as_the_scanner_judges_the_file():
    import cv2

    from deepfake_scanner.scanner import Scanner, ScanOptions

    paths = sorted((PROJECT_ROOT / "samples").glob("fake_*.jpg"))
    images = np.stack([cv2.resize(cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB), (320, 320)) for p in paths])
    rows = system_scores({"made_on": (images, images[:, :, ::-1].copy())})
    clean, attacked, clean_p, attacked_p = rows["made_on"]
    with Scanner.open(options=ScanOptions(provenance=False, threads=False)) as scanner:
        verdicts = [scanner.scan_image(image).verdict for image in images]
    assert clean == np.mean([v.is_fake for v in verdicts])
    assert clean_p == pytest.approx(np.mean([v.fake_probability for v in verdicts]))
    assert 0.0 <= attacked <= 1.0 and 0.0 < attacked_p < 1.0
