"""The shipped judge as TFLite gives the probabilities the judge gives, for stills and videos,
with frames and detector streams padded to the model's fixed shape."""

from __future__ import annotations

import numpy as np
import pytest

from rnn_judge.tflite import TfliteJudge, convert_judge


@pytest.fixture(scope="module")
def judge():
    from rnn_judge.judge import Judge

    return Judge.load()


def _sources(features: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    sources = []
    for frames, streams in ((1, 6), (8, 6), (40, 5), (120, 7)):
        x = np.zeros((frames, streams, features), np.float32)
        firing = rng.random((frames, streams)) < 0.3  # detectors fire on some frames only
        x[firing] = rng.random((int(firing.sum()), features)).astype(np.float32)
        sources.append(x)
    return sources


@pytest.mark.parametrize("precision, tolerance", [("float32", 1e-4), ("float16", 0.02)])
def test_the_tflite_judge_gives_the_judges_probabilities(judge, precision, tolerance):
    model = convert_judge(judge, precision=precision)
    from cnn_detector.tflite import model_ops, refused_tflite_ops

    assert refused_tflite_ops(model) == set() and "WHILE" in model_ops(model)
    tflite = TfliteJudge(model)
    for source in _sources(judge.config.num_features):
        assert abs(tflite.probability(source) - judge.run(source).probability) < tolerance, source.shape
    with pytest.raises(ValueError, match="at most"):
        tflite.probability(np.zeros((121, 1, judge.config.num_features), np.float32))


def test_a_judge_folder_with_runtime_tflite_loads_as_the_tflite_judge(judge, tflite_models):
    from rnn_judge.judge import Judge

    loaded = Judge.load(tflite_models / "judge")
    assert isinstance(loaded, TfliteJudge) and loaded.threshold == judge.threshold
    for source in _sources(judge.config.num_features):
        got, expected = loaded.run(source), judge.run(source)
        assert abs(got.probability - expected.probability) < 0.02
        assert got.attention.shape == expected.attention.shape and got.evidence.shape == expected.evidence.shape
        np.testing.assert_allclose(got.attention, expected.attention, atol=0.02)


def test_a_changed_tflite_judge_is_refused(tflite_models, tmp_path):
    import shutil

    from rnn_judge.judge import Judge, JudgeError

    folder = tmp_path / "judge"
    shutil.copytree(tflite_models / "judge", folder)
    data = bytearray((folder / "judge.tflite").read_bytes())
    data[len(data) // 2] ^= 1
    (folder / "judge.tflite").write_bytes(bytes(data))
    with pytest.raises(JudgeError, match="sha256"):
        Judge.load(folder)
    (folder / "judge.yaml").write_text(
        (folder / "judge.yaml").read_text().replace("model: judge.tflite", "model: ../x")
    )
    with pytest.raises(JudgeError, match="needs model"):
        Judge.load(folder)
