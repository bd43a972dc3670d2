"""The temporal model frozen as a clip detector keeps the contract and its own scores: the
frozen graph, loaded and run by the registry's loader, gives what the Keras model gives."""

from __future__ import annotations

import numpy as np

from cnn_detector.detector_dir import write_detector_directory
from cnn_detector.frozen_graph import load_detector
from cnn_detector.registry import load_detector_spec
from cnn_detector.training.temporal.model import TemporalConfig, build_scratch
from cnn_detector.training.temporal.train import CLASSES, SCRATCH, freeze


def test_the_frozen_scratch_model_scores_clips_as_keras_does(tmp_path):
    import tf_keras

    tf_keras.utils.set_random_seed(0)
    config = TemporalConfig(frames=4, size=32, stage=SCRATCH)
    model = build_scratch(config)
    directory = write_detector_directory(
        tmp_path / "temporal_face",
        freeze(config, model),
        CLASSES,
        input="face_clip",
        clip_frames=4,
        input_size=[32, 32],
        min_score=0.01,
    )
    rng = np.random.default_rng(0)
    clips = [rng.integers(0, 255, (4, 32, 32, 3), dtype=np.uint8) for _ in range(3)]
    boxes = [(0.1, 0.2, 0.5, 0.6)] * 3
    with load_detector(load_detector_spec(directory)) as detector:
        found = detector.detect_clips(clips, boxes, min_score=1e-6)
    expected = 1 / (1 + np.exp(-model.predict_on_batch(np.stack(clips).astype(np.float32))[:, 0]))
    assert [len(f) for f in found] == [1, 1, 1]
    np.testing.assert_allclose([f[0].score for f in found], expected, atol=1e-4)
    assert all(f[0].box == boxes[0] and f[0].label == "temporal_face" for f in found)  # the whole crop
