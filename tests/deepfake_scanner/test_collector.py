"""The engine's collector, fed typed messages by hand in the orders threads can produce."""

from cnn_detector.types import Detection, FrameDetections, Verdict
from deepfake_scanner.engine import (
    Collector,
    DetectorDone,
    DetectorFailed,
    FrameDetected,
    FrameFailed,
    PreparedFrame,
    SourceEnd,
)

NAMES = ("a", "b")


def frame(source_id: int, index: int) -> PreparedFrame:
    return PreparedFrame(source_id, index, index * 500.0, (10, 10), ((0.1, 0.1, 0.9, 0.9),), {})


def detection(detector: str, score: float) -> Detection:
    return Detection((0.1, 0.1, 0.5, 0.5), score, 1, "fake", detector)


def frame_detections(source, prepared, found):
    dets = tuple(d for name in NAMES for d in found.get(name, []))
    return FrameDetections(source, prepared.index, prepared.timestamp_ms, prepared.size, prepared.faces, dets)


def verdict(source, frames, error):
    if error:
        return Verdict(source, "error", error=error)
    best = max((d.score for f in frames for d in f.detections), default=0.0)
    return Verdict(source, "ok", is_fake=best > 0.5, fake_probability=best, frames_used=len(frames))


def collector(sources=("x.mp4", "y.jpg")) -> Collector:
    return Collector(list(sources), NAMES, frame_detections, verdict)


def test_results_come_out_in_input_order_when_complete():
    c = collector()
    # source 1 (a still) finishes first in every detector; nothing comes out before source 0
    assert c.add(frame(1, 0)) == []
    for name in NAMES:
        assert c.add(FrameDetected(1, 0, name, [detection(name, 0.2)])) == []
        assert c.add(DetectorDone(SourceEnd(1), name)) == []
    assert c.add(frame(0, 0)) == [] and c.add(frame(0, 4)) == []
    for name in NAMES:
        c.add(FrameDetected(0, 4, name, [detection(name, 0.9)]))  # later frame first
        c.add(FrameDetected(0, 0, name, []))
    assert c.add(DetectorDone(SourceEnd(0, warning="broke"), "a")) == []  # b has not finished
    results = c.add(DetectorDone(SourceEnd(0, warning="broke"), "b"))
    assert [r.source for r in results] == ["x.mp4", "y.jpg"] and c.finished
    video, still = results
    assert [f.frame_index for f in video.frames] == [0, 4]  # in frame order, whatever order they came in
    assert video.verdict.fake_probability == 0.9 and video.warning == "broke"
    assert [d.detector for d in still.frames[0].detections] == ["a", "b"]  # in detector order


def test_a_frame_waits_for_every_detector():
    c = collector(["x.mp4"])
    c.add(frame(0, 0))
    c.add(FrameDetected(0, 0, "a", [detection("a", 0.7)]))
    for name in NAMES:
        c.add(DetectorDone(SourceEnd(0), name))
    assert not c.finished  # detector b has not reported frame 0 yet
    [result] = c.add(FrameDetected(0, 0, "b", []))
    assert result.verdict.fake_probability == 0.7


def test_a_failed_detector_makes_its_source_an_error_not_a_clean_result():
    c = collector(["x.mp4"])
    c.add(frame(0, 0))
    c.add(DetectorFailed(0, "detector b failed: boom"))
    for name in NAMES:
        c.add(FrameDetected(0, 0, name, []))
    c.add(DetectorDone(SourceEnd(0), "a"))
    [result] = c.add(DetectorDone(SourceEnd(0), "b"))
    assert result.verdict.status == "error" and result.verdict.error == "x.mp4: detector b failed: boom"


def test_decode_errors_and_dropped_frames(caplog):
    c = collector()
    results = c.add(FrameFailed(0, "face stage failed: oops"))  # logged; the frame never arrives
    assert "x.mp4: face stage failed: oops" in caplog.text
    for name in NAMES:
        results += c.add(DetectorDone(SourceEnd(0, error="x.mp4: not a readable video"), name))
    assert len(results) == 1  # given out as soon as it is complete
    results += c.add(frame(1, 0))
    for name in NAMES:
        results += c.add(FrameDetected(1, 0, name, []))
    for name in NAMES:
        results += c.add(DetectorDone(SourceEnd(1), name))
    assert [r.verdict.status for r in results] == ["error", "ok"]
    assert results[0].verdict.error == "x.mp4: not a readable video" and results[0].frames == []
