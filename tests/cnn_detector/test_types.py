import math

import pytest

from cnn_detector.types import Detection, FrameDetections, Verdict


def make(**kw):
    fields = dict(box=(0.1, 0.2, 0.5, 0.6), score=0.9, class_id=1, label="blend", detector="blend_boundary")
    fields.update(kw)
    return Detection(**fields)


def test_valid_detection_area():
    assert make().area == pytest.approx(0.4 * 0.4)


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"box": (0.5, 0.2, 0.1, 0.6)}, "ymin <= ymax"),
        ({"box": (0.1, 0.2, 0.5, 1.5)}, r"in \[0, 1\]"),
        ({"box": (0.1, 0.2, 0.5)}, "4 numbers"),
        ({"box": (math.nan, 0.2, 0.5, 0.6)}, "finite"),
        ({"score": 1.5}, "score"),
        ({"score": math.nan}, "score"),
        ({"class_id": 0}, "class_id"),
        ({"class_id": 1.0}, "class_id"),
        ({"class_id": True}, "class_id"),
        ({"label": ""}, "label"),
    ],
)
def test_detection_rejects(kw, message):
    with pytest.raises(ValueError, match=message):
        make(**kw)


def test_frame_detections_validates():
    frame = FrameDetections("a.jpg", 0, 0.0, (10, 20), faces=((0, 0, 1, 1),), detections=(make(),))
    assert frame.detections[0].label == "blend"
    with pytest.raises(ValueError, match="image_size"):
        FrameDetections("a.jpg", 0, 0.0, (0, 20))
    with pytest.raises(ValueError, match="frame_index"):
        FrameDetections("a.jpg", -1, 0.0, (10, 20))
    with pytest.raises(TypeError, match="Detection"):
        FrameDetections("a.jpg", 0, 0.0, (10, 20), detections=({"box": 1},))


def test_verdict_rules():
    Verdict("v.mp4", "ok", is_fake=True, fake_probability=0.8, threshold=0.5)
    Verdict("v.mp4", "no_face")
    with pytest.raises(ValueError, match="fake_probability"):
        Verdict("v.mp4", "ok", is_fake=True)
    with pytest.raises(ValueError, match="error message"):
        Verdict("v.mp4", "error")
    with pytest.raises(ValueError, match="status"):
        Verdict("v.mp4", "maybe")
