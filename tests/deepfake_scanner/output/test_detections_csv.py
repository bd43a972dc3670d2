import csv
import io

from cnn_detector.types import Detection, FrameDetections
from deepfake_scanner.output.detections_csv import DETECTION_COLUMNS, DetectionCsvWriter, escape_text, plain_number


def test_escape_formula_text():
    for dangerous in ("=cmd|' /C calc'!A0", "+1", "-2+3", "@SUM(A1)", "\tx"):
        assert escape_text(dangerous).startswith("'")
    assert escape_text("photos/face.jpg") == "photos/face.jpg"


def test_plain_numbers():
    assert plain_number(0.5) == "0.5"
    assert plain_number(1.0) == "1"
    assert plain_number(0.0000001) == "0"
    assert plain_number(1.23e-5) == "0.000012"
    assert plain_number(-0.0) == "0"


def test_rows_follow_schema_and_escape():
    det = Detection((0.1, 0.2, 0.3, 0.4), 0.87654321, 2, "=label", "=det")
    frame = FrameDetections('=HYPERLINK("x"), a.jpg', 0, 0.0, (480, 640), detections=(det,))
    out = io.StringIO()
    writer = DetectionCsvWriter(out)
    assert writer.write_frame(frame) == 1
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == DETECTION_COLUMNS
    row = dict(zip(rows[0], rows[1]))
    assert row["source"] == "'" + '=HYPERLINK("x"), a.jpg'
    assert row["detector"] == "'=det" and row["label"] == "'=label"
    assert (row["xmin"], row["ymin"], row["xmax"], row["ymax"]) == ("0.2", "0.1", "0.4", "0.3")
    assert row["score"] == "0.876543"
    assert (row["width"], row["height"], row["frame_index"], row["timestamp_ms"]) == ("640", "480", "0", "0")
