"""The audio-visual sync detector's parts: its features see sync where there is sync, and its
frozen graph (a face_clip_audio detector) keeps the contract and scores as training scores."""

from __future__ import annotations

import numpy as np

from cnn_detector.detector_dir import write_detector_directory
from cnn_detector.frozen_graph import load_detector
from cnn_detector.registry import load_detector_spec
from cnn_detector.training.av_sync.data import CLIP_FRAMES, SAMPLES_PER_FRAME, clip_audio
from cnn_detector.training.av_sync.model import (
    FEATURES,
    MAX_OFFSET,
    MOUTH_BOX,
    Logistic,
    build_mouth_net,
    openings,
    sync_features,
)


def _speech(rng, loudness: np.ndarray) -> np.ndarray:
    """Noise whose level per frame follows ``loudness`` (a crude syllable track)."""
    return (rng.normal(0, 1, (len(loudness), SAMPLES_PER_FRAME)) * loudness[:, None]).reshape(-1).astype(np.float32)


def _syllables(rng, frames: int) -> np.ndarray:
    return np.clip(np.convolve(rng.uniform(0, 1, frames) ** 3, np.ones(3) / 3, "same"), 0.0, 1.0)


def test_sync_is_high_when_the_sound_follows_the_mouth_and_not_when_it_is_shifted():
    rng = np.random.default_rng(0)
    mouth = np.stack([_syllables(rng, CLIP_FRAMES) for _ in range(8)]).astype(np.float32)
    own = np.stack([_speech(rng, 0.02 + 0.3 * m) for m in mouth])
    later = np.stack([_speech(rng, 0.02 + 0.3 * np.roll(m, 3)) for m in mouth])  # the sound 3 frames late
    other = np.stack([_speech(rng, 0.02 + 0.3 * _syllables(rng, CLIP_FRAMES)) for _ in mouth])
    values = {
        name: sync_features(mouth, audio, CLIP_FRAMES)[0].numpy()
        for name, audio in [("own", own), ("later", later), ("other", other)]
    }
    sync, best = FEATURES.index("sync"), FEATURES.index("best_offset_sync")
    assert values["own"][:, sync].min() > 0.8
    assert values["later"][:, sync].mean() < 0.3 < 0.8 < values["later"][:, best].min()  # found by the offset search
    assert 3 <= MAX_OFFSET
    assert values["other"][:, best].mean() < 0.6


def test_silence_and_steady_noise_give_no_evidence():
    rng = np.random.default_rng(1)
    mouth = np.stack([_syllables(rng, CLIP_FRAMES) for _ in range(3)]).astype(np.float32)
    silence = np.zeros((1, CLIP_FRAMES * SAMPLES_PER_FRAME), np.float32)
    hum = _speech(rng, np.full(CLIP_FRAMES, 0.2))[None]
    speech = _speech(rng, 0.02 + 0.3 * mouth[2])[None]
    _, gate = sync_features(mouth, np.concatenate([silence, hum, speech]), CLIP_FRAMES)
    assert gate.numpy().tolist() == [0.0, 0.0, 1.0]


def test_a_clip_audio_is_fitted_as_the_engine_fits_it():
    audio = np.arange(16_000 * 3, dtype=np.float32)
    at_25 = clip_audio(audio, 1.0, 25.0)
    assert at_25.shape == (CLIP_FRAMES * SAMPLES_PER_FRAME,) and at_25[0] == 16_000
    assert clip_audio(audio, 2.9, 30.0)[-1] == audio[-1]  # cut by the end of the track, then stretched


def test_the_frozen_graph_is_a_clip_audio_detector_that_scores_as_training_does(tmp_path):
    from cnn_detector.training.av_sync.train import CLASSES, freeze

    rng = np.random.default_rng(2)
    net = build_mouth_net(seed=0)
    x = rng.normal(0, 1, (40, len(FEATURES)))
    classifier = Logistic.fit(x, (x[:, 0] < 0).astype(np.float64), steps=200)
    directory = write_detector_directory(
        tmp_path / "av_sync",
        freeze(net, classifier),
        CLASSES,
        input="face_clip_audio",
        clip_frames=CLIP_FRAMES,
        audio_samples=CLIP_FRAMES * SAMPLES_PER_FRAME,
        input_size=[112, 112],
        min_score=0.01,
    )
    clips = rng.integers(0, 255, (3, CLIP_FRAMES, 112, 112, 3), dtype=np.uint8)
    audio = np.stack([_speech(rng, 0.02 + 0.3 * _syllables(rng, CLIP_FRAMES)) for _ in range(3)])
    audio[1] = 0.0  # silence: no evidence, no detection
    crop = (0.1, 0.2, 0.5, 0.6)
    with load_detector(load_detector_spec(directory)) as detector:
        found = detector.detect_clips(list(clips), [crop] * 3, list(audio), min_score=1e-6)
    values, gate = sync_features(openings(net, clips), audio, CLIP_FRAMES)
    expected = classifier.predict(values.numpy()) * gate.numpy()
    assert [len(f) for f in found] == [1, 0, 1]
    np.testing.assert_allclose([found[0][0].score, found[2][0].score], expected[[0, 2]], atol=1e-4)
    ymin, xmin, ymax, xmax = crop
    mouth = (ymin + MOUTH_BOX[0] * (ymax - ymin), xmin + MOUTH_BOX[1] * (xmax - xmin))
    np.testing.assert_allclose(found[0][0].box[:2], mouth, atol=1e-5)  # the mouth, mapped into the frame
    assert found[0][0].label == "av_sync"
