"""The clip extension of the detector contract: face_clip and face_clip_audio detectors
(uint8 [N, T, H, W, 3] clips, float32 [N, S] audio), in the manifest and the runtime."""

import numpy as np
import pytest

from cnn_detector.errors import ManifestError, UntrustedGraphError
from cnn_detector.frozen_graph import load_detector
from cnn_detector.manifest import parse_manifest
from cnn_detector.registry import load_detector_spec

CLASSES = [(1, "flicker", "Temporal flicker")]
T, S = 4, 1600


def manifest(**fields):
    data = {
        "name": "clip_test",
        "version": "1",
        "author": "a",
        "licence": "MIT",
        "algorithms": ["flicker"],
        "input": "face_clip",
        "input_size": [32, 32],
        "min_score": 0.5,
        "labelmap": "labelmap.pbtxt",
        "sha256": "0" * 64,
        "trained_on": ["x"],
        "clip_frames": T,
    }
    data.update(fields)
    return parse_manifest({k: v for k, v in data.items() if v is not None}, "d/detector.yaml")


def test_manifest_fields_of_clip_detectors():
    assert manifest().is_clip and manifest().clip_frames == T and manifest().audio_samples is None
    assert manifest(input="face_clip_audio", audio_samples=S).audio_samples == S
    with pytest.raises(ManifestError, match="input face_clip needs clip_frames"):
        manifest(clip_frames=None)
    with pytest.raises(ManifestError, match="input face_clip_audio needs audio_samples"):
        manifest(input="face_clip_audio")
    with pytest.raises(ManifestError, match="clip_frames is for clip detectors, not input face_crop"):
        manifest(input="face_crop")
    with pytest.raises(ManifestError, match="input must be one of"):
        manifest(input="face_movie")
    assert parse_manifest(manifest(input="face_clip_audio", audio_samples=S).to_yaml_dict()).clip_frames == T


def clip_graph(audio: bool) -> bytes:
    """Score = mean absolute change between consecutive frames / 64 (or, with audio, the mean
    absolute audio level x 4), one box: the whole crop."""
    import tensorflow as tf

    from cnn_detector.export import clip_tensor_specs, freeze_detection_function, name_outputs

    def serve(clips, sound=None):
        x = tf.cast(clips, tf.float32)
        change = tf.reduce_mean(tf.abs(x[:, 1:] - x[:, :-1]), axis=[1, 2, 3, 4]) / 64.0
        score = tf.reduce_mean(tf.abs(sound), axis=1) * 4.0 if sound is not None else change
        score = tf.clip_by_value(score, 0.0, 1.0)
        n = tf.shape(clips)[0]
        boxes = tf.tile(tf.constant([[[0.0, 0.0, 1.0, 1.0]]]), [n, 1, 1])
        return name_outputs(boxes, score[:, None], tf.ones([n, 1]), tf.ones([n]))

    function = tf.function(serve if audio else (lambda clips: serve(clips)))
    return freeze_detection_function(function, clip_tensor_specs(audio))


def load(make_detector, graph, **fields):
    return load_detector(load_detector_spec(make_detector("clip_test", graph, classes=CLASSES, **fields)))


def test_a_clip_detector_scores_clips_and_maps_boxes_to_the_frame(make_detector):
    detector = load(make_detector, clip_graph(False), input="face_clip", clip_frames=T, input_size=[32, 32])
    still = np.full((T, 40, 40, 3), 120, np.uint8)
    flicker = still.copy()
    flicker[1::2] = 220
    crop = (0.2, 0.3, 0.6, 0.7)
    calm, busy = detector.detect_clips([still, flicker], [crop, crop], min_score=0.01)
    assert calm == []  # no change between frames: a score of 0
    assert busy[0].score == pytest.approx(1.0) and busy[0].box == pytest.approx(crop)  # the crop, in the frame
    with pytest.raises(ValueError, match=f"clips must have {T} frames"):
        detector.detect_clips([still[:2]], [crop])
    with pytest.raises(ValueError, match=r"expected uint8 \[N, T, H, W, 3\]"):
        detector.run(np.zeros((1, 32, 32, 3), np.uint8))
    detector.close()


def test_an_audio_clip_detector_hears_its_audio(make_detector):
    fields = {"input": "face_clip_audio", "clip_frames": T, "audio_samples": S, "input_size": [32, 32]}
    detector = load(make_detector, clip_graph(True), **fields)
    clip = np.full((T, 32, 32, 3), 100, np.uint8)
    box = (0.0, 0.0, 1.0, 1.0)
    loud, silent, absent = detector.detect_clips(
        [clip, clip, clip], [box] * 3, audio=[np.full(S, 0.5, np.float32), np.zeros(S, np.float32), None], min_score=0.1
    )
    assert loud[0].score == pytest.approx(1.0) and silent == [] and absent == []  # no audio reads as silence
    detector.close()


def test_the_contract_is_checked_against_the_manifest(make_detector):
    with pytest.raises(UntrustedGraphError, match=r"must be \[N, H, W, 3\] for input face_crop"):
        load(make_detector, clip_graph(False), input="face_crop", input_size=[32, 32])
    with pytest.raises(UntrustedGraphError, match="needs an 'audio_tensor' input"):
        load(make_detector, clip_graph(False), input="face_clip_audio", clip_frames=T, audio_samples=S)


def test_the_scanner_leaves_clip_detectors_out_and_says_so(tmp_path, make_detector, tf1_graph):
    from deepfake_scanner import Scanner, ScanOptions

    make_detector("colour", tf1_graph)
    make_detector("clip_test", clip_graph(False), classes=CLASSES, input="face_clip", clip_frames=T)
    options = ScanOptions(faces=False)
    with Scanner.open([tmp_path / "detectors"], None, options, include_shipped=False) as scanner:
        assert scanner.detector_names == ("colour",)
        assert any("clip_test: input face_clip is not run by the scanner yet" in p for p in scanner.problems)
