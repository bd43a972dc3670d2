import pytest

from cnn_detector.errors import LabelMapError
from cnn_detector.labelmap import format_labelmap, load_labelmap, parse_labelmap_text

OD_API_STYLE = """
# written for the TF1 Object Detection API
item {
  name: "stylegan"
  id: 1
  display_name: "StyleGAN face"
}
item {
  name: "stable_diffusion"
  id: 2
  keypoints { id: 0 label: "left_eye" }
  frequency: COMMON
}
"""


def test_parses_object_detection_api_labelmap():
    labelmap = parse_labelmap_text(OD_API_STYLE, "gan.pbtxt")
    assert labelmap.ids == (1, 2)
    assert labelmap.name_of(1) == "stylegan"
    assert labelmap.items[1].display_name == "stable_diffusion"
    assert labelmap.name_of(7) == "class_7"
    assert 2 in labelmap and 3 not in labelmap


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "item { id: 1 name: 'a' }\nitem {\n  id: 1\n  name: 'b'\n}\n",
            r"x\.pbtxt:2: id 1 already used by the item on line 1",
        ),
        ("item { id: 1 name: 'a' }\nitem { id: 2 name: 'a' }\n", r"x\.pbtxt:2: name 'a' already used"),
        ("item { id: 0 name: 'background' }\n", r"x\.pbtxt:1: id must be >= 1"),
        ("item { id: -3 name: 'neg' }\n", "id must be >= 1"),
        ("item { name: 'noid' }\n", "has no id"),
        ("item { id: 4 }\n", "has no name"),
        ("", "no items"),
        ("item { id: 1\n name: 'a'\n colour: 'red' }\n", r"x\.pbtxt:3:\d+: not a valid StringIntLabelMap.*colour"),
        ("item { id: 1 name: 'a' \n", r"x\.pbtxt:\d+:\d+: not a valid.*Expected"),
    ],
)
def test_labelmap_errors_name_file_and_line(text, message):
    with pytest.raises(LabelMapError, match=message):
        parse_labelmap_text(text, "x.pbtxt")


def test_load_labelmap_file_errors(tmp_path):
    with pytest.raises(LabelMapError, match="not found"):
        load_labelmap(tmp_path / "missing.pbtxt")
    binary = tmp_path / "bin.pbtxt"
    binary.write_bytes(b"\xff\xfe\x00item")
    with pytest.raises(LabelMapError, match="not UTF-8"):
        load_labelmap(binary)


def test_format_round_trips_with_quotes(tmp_path):
    text = format_labelmap([(1, "it's", "It's \\ odd"), (2, "b", "B")])
    path = tmp_path / "l.pbtxt"
    path.write_text(text)
    labelmap = load_labelmap(path)
    assert [(i.id, i.name, i.display_name) for i in labelmap.items] == [(1, "it's", "It's \\ odd"), (2, "b", "B")]
