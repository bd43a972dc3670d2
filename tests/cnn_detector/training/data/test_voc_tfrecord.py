import numpy as np
import pytest
from PIL import Image

from cnn_detector.labelmap import parse_labelmap_text
from cnn_detector.training.data.tfrecord import convert_voc_folders, parse_example
from cnn_detector.training.data.voc import AnnotationError, VocAnnotation, VocObject, read_voc, write_voc
from tools import voc_to_tfrecord


def test_voc_round_trip(tmp_path):
    annotation = VocAnnotation("a.jpg", 200, 100, 3, (VocObject("self_blend", 10, 20, 110, 90),), "f")
    write_voc(annotation, tmp_path / "a.xml")
    assert read_voc(tmp_path / "a.xml") == annotation


def test_reads_labelimg_output(tmp_path):
    # As labelImg 1.8 writes it (float coordinates appear in some exporters).
    (tmp_path / "x.xml").write_text(
        "<annotation><folder>imgs</folder><filename>x.png</filename><path>/home/u/x.png</path>"
        "<source><database>Unknown</database></source><size><width>64</width><height>48</height><depth>3</depth>"
        "</size><segmented>0</segmented><object><name>stylegan</name><pose>Unspecified</pose><truncated>0</truncated>"
        "<difficult>0</difficult><bndbox><xmin>4.0</xmin><ymin>5</ymin><xmax>60</xmax><ymax>40</ymax></bndbox>"
        "</object></annotation>"
    )
    annotation = read_voc(tmp_path / "x.xml")
    assert annotation.objects == (VocObject("stylegan", 4, 5, 60, 40),)


@pytest.mark.parametrize(
    "xml, message",
    [
        (
            "<annotation><size><width>10</width><height>10</height></size><object><name>a</name><bndbox>"
            "<xmin>0</xmin><ymin>0</ymin><xmax>20</xmax><ymax>5</ymax></bndbox></object></annotation>",
            "outside",
        ),
        ("<annotation><object/></annotation>", "missing <size>"),
        ("<notes/>", "root element"),
        ("<annotation><size><width>ten</width><height>10</height></size></annotation>", "<width> must be a number"),
        ("<annotation", "not readable"),
    ],
)
def test_voc_errors_name_file(tmp_path, xml, message):
    path = tmp_path / "bad.xml"
    path.write_text(xml)
    with pytest.raises(AnnotationError, match=message) as err:
        read_voc(path)
    assert str(path) in str(err.value)


def test_folder_to_tfrecord_and_back(tmp_path, capsys):
    folder = tmp_path / "data"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, objects in [
        ("pos", (VocObject("gan", 8, 4, 40, 30),)),
        ("neg", ()),
        ("other", (VocObject("sd", 0, 0, 5, 5),)),
    ]:
        Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(folder / f"{name}.jpg")
        write_voc(VocAnnotation(f"{name}.jpg", 64, 48, 3, objects), folder / f"{name}.xml")
    labelmap = parse_labelmap_text("item { id: 1 name: 'gan' }")
    report = convert_voc_folders([folder], labelmap, tmp_path / "out.tfrecord")
    assert (report.written, report.negatives, report.skipped_other_classes) == (2, 1, 1)
    import tensorflow as tf

    parsed = [parse_example(r) for r in tf.data.TFRecordDataset(str(tmp_path / "out.tfrecord"))]
    image, boxes, labels = parsed[1]  # sorted: neg.xml, pos.xml
    assert image.shape == (48, 64, 3)
    np.testing.assert_allclose(boxes.numpy(), [[4 / 48, 8 / 64, 30 / 48, 40 / 64]], rtol=1e-6)
    assert labels.numpy().tolist() == [1]
    assert parsed[0][1].shape[0] == 0
    (tmp_path / "lm.pbtxt").write_text("item { id: 1 name: 'gan' }")
    code = voc_to_tfrecord.main(
        ["--input", str(folder), "--labelmap", str(tmp_path / "lm.pbtxt"), "--output", str(tmp_path / "cli.tfrecord")]
    )
    assert code == 0 and (tmp_path / "cli.tfrecord").stat().st_size > 0
