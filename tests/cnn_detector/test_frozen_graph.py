import numpy as np
import pytest

from cnn_detector.frozen_graph import LoadOptions, RawDetections, load_detector, map_box_to_frame, to_detections
from cnn_detector.labelmap import parse_labelmap_text
from cnn_detector.registry import discover_detectors
from tests.conftest import BLUE, red_square_image


def load(tmp_path, make_detector, graph, name, **options):
    make_detector(name, graph, min_score=0.3)
    spec = discover_detectors([tmp_path / "detectors"], include_default=False).get(name)
    return load_detector(spec, LoadOptions(**options))


@pytest.mark.parametrize("graph_fixture", ["tf1_graph", "tf2_graph"])
def test_detector_boxes_the_red_square(tmp_path, make_detector, graph_fixture, request):
    detector = load(tmp_path, make_detector, request.getfixturevalue(graph_fixture), "colour")
    image = red_square_image(120, 160, box=(30, 40, 90, 100))
    found = detector.detect([image])[0]
    assert found, "the red square must be detected"
    assert {d.label for d in found} == {"red_patch"}
    assert all(d.detector == "colour" and d.class_id == 1 for d in found)
    union_y0 = min(d.box[0] for d in found)
    union_x0 = min(d.box[1] for d in found)
    union_y1 = max(d.box[2] for d in found)
    union_x1 = max(d.box[3] for d in found)
    # The square spans y 0.25-0.75, x 0.25-0.625 of the frame; cells are 1/8 wide.
    assert union_y0 >= 0.25 - 0.125 and union_y1 <= 0.75 + 0.125
    assert union_x0 >= 0.25 - 0.125 and union_x1 <= 0.625 + 0.125
    grey = np.full((120, 160, 3), 128, np.uint8)
    assert detector.detect([grey])[0] == []
    detector.close()


def test_second_class_and_batching_match_single(tmp_path, make_detector, tf1_graph):
    detector = load(tmp_path, make_detector, tf1_graph, "colour", batch_size=3)
    blue = np.full((64, 64, 3), 128, np.uint8)
    blue[:32, :32] = BLUE
    images = [red_square_image(), blue, np.zeros((50, 70, 3), np.uint8), red_square_image(200, 100, (0, 0, 100, 50))]
    batched = detector.detect(images)
    single = [detector.detect([img])[0] for img in images]
    assert batched == single
    assert {d.label for d in batched[1]} == {"blue_patch"}
    assert batched[2] == []


def test_to_detections_clips_filters_and_maps_crops():
    labelmap = parse_labelmap_text("item { id: 1 name: 'seam' }")
    raw = RawDetections(
        boxes=np.array([[-0.01, 0.2, 0.5, 1.02], [0.1, 0.1, 0.2, 0.2], [0.5, 0.5, 0.4, 0.6], [0, 0, 1, 1]], np.float32),
        scores=np.array([0.9, 0.1, 0.8, np.nan], np.float32),
        classes=np.array([1, 1, 1, 1]),
    )
    found = to_detections(raw, labelmap, "d", min_score=0.5)
    assert len(found) == 1 and found[0].box == (0.0, pytest.approx(0.2), 0.5, 1.0)
    mapped = to_detections(raw, labelmap, "d", min_score=0.5, crop_box=(0.5, 0.5, 1.0, 1.0))
    assert mapped[0].box == pytest.approx((0.5, 0.6, 0.75, 1.0))
    assert map_box_to_frame((0, 0, 1, 1), (0.1, 0.2, 0.3, 0.4)) == pytest.approx((0.1, 0.2, 0.3, 0.4))


def test_run_rejects_wrong_input(tmp_path, make_detector, tf1_graph):
    detector = load(tmp_path, make_detector, tf1_graph, "colour")
    with pytest.raises(ValueError, match="uint8"):
        detector.run(np.zeros((1, 10, 10, 3), np.float32))
