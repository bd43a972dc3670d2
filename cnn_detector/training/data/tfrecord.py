"""Pascal VOC folders -> TFRecords with the Object Detection API's standard feature keys,
and the parser that reads them back for training.

Keys: image/encoded, image/format, image/height, image/width, image/filename,
image/source_id, image/object/bbox/{xmin,ymin,xmax,ymax} (normalized), image/object/class/text,
image/object/class/label (labelmap id).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cnn_detector.labelmap import LabelMap
from cnn_detector.training.data.voc import AnnotationError, read_voc

log = logging.getLogger(__name__)


@dataclass
class ConversionReport:
    written: int = 0
    negatives: int = 0
    skipped_other_classes: int = 0
    errors: list[str] = field(default_factory=list)


def _feature(values, kind: str):
    import tensorflow as tf

    if kind == "bytes":
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=values))
    if kind == "float":
        return tf.train.Feature(float_list=tf.train.FloatList(value=values))
    return tf.train.Feature(int64_list=tf.train.Int64List(value=values))


def find_image(xml_path: Path, filename: str) -> Path | None:
    for candidate in (xml_path.parent / filename, xml_path.with_suffix(".jpg"), xml_path.with_suffix(".png")):
        if filename and candidate.is_file():
            return candidate
    return None


def voc_to_examples(xml_paths: Sequence[Path], labelmap: LabelMap, report: ConversionReport):
    """tf.train.Example per annotated image. Images with a box of a class the labelmap lacks
    are skipped (they are another detector's positives, not this one's negatives); images
    without boxes are kept as negatives."""
    import tensorflow as tf

    ids = {item.name: item.id for item in labelmap.items}
    for xml_path in xml_paths:
        try:
            annotation = read_voc(xml_path)
        except AnnotationError as err:
            report.errors.append(str(err))
            continue
        if any(obj.name not in ids for obj in annotation.objects):
            report.skipped_other_classes += 1
            continue
        image_path = find_image(xml_path, annotation.filename)
        if image_path is None:
            report.errors.append(f"{xml_path}: image {annotation.filename!r} not found beside it")
            continue
        data = image_path.read_bytes()
        fmt = b"png" if image_path.suffix.lower() == ".png" else b"jpeg"
        w, h = float(annotation.width), float(annotation.height)
        objects = annotation.objects
        features = {
            "image/encoded": _feature([data], "bytes"),
            "image/format": _feature([fmt], "bytes"),
            "image/height": _feature([annotation.height], "int"),
            "image/width": _feature([annotation.width], "int"),
            "image/filename": _feature([image_path.name.encode()], "bytes"),
            "image/source_id": _feature([str(image_path).encode()], "bytes"),
            "image/object/bbox/xmin": _feature([o.xmin / w for o in objects], "float"),
            "image/object/bbox/ymin": _feature([o.ymin / h for o in objects], "float"),
            "image/object/bbox/xmax": _feature([o.xmax / w for o in objects], "float"),
            "image/object/bbox/ymax": _feature([o.ymax / h for o in objects], "float"),
            "image/object/class/text": _feature([o.name.encode() for o in objects], "bytes"),
            "image/object/class/label": _feature([ids[o.name] for o in objects], "int"),
        }
        report.written += 1
        report.negatives += not objects
        yield tf.train.Example(features=tf.train.Features(feature=features))


def convert_voc_folders(folders: Sequence[Path], labelmap: LabelMap, output: Path) -> ConversionReport:
    """Every *.xml under the folders (recursively, sorted) into one TFRecord file, atomically."""
    import os

    import tensorflow as tf

    report = ConversionReport()
    xml_paths = sorted(p for folder in folders for p in Path(folder).rglob("*.xml"))
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_name(f".{output.name}.tmp")
    with tf.io.TFRecordWriter(str(temporary)) as writer:
        for example in voc_to_examples(xml_paths, labelmap, report):
            writer.write(example.SerializeToString())
    os.replace(temporary, output)
    return report


def parse_example(serialized):
    """A serialized example -> (uint8 image [H, W, 3], boxes [N, 4] normalized ymin, xmin,
    ymax, xmax, labels [N] int32)."""
    import tensorflow as tf

    spec = {
        "image/encoded": tf.io.FixedLenFeature([], tf.string),
        "image/object/bbox/xmin": tf.io.VarLenFeature(tf.float32),
        "image/object/bbox/ymin": tf.io.VarLenFeature(tf.float32),
        "image/object/bbox/xmax": tf.io.VarLenFeature(tf.float32),
        "image/object/bbox/ymax": tf.io.VarLenFeature(tf.float32),
        "image/object/class/label": tf.io.VarLenFeature(tf.int64),
    }
    parsed = tf.io.parse_single_example(serialized, spec)
    image = tf.io.decode_image(parsed["image/encoded"], channels=3, expand_animations=False)
    dense = {k: tf.sparse.to_dense(v) for k, v in parsed.items() if k != "image/encoded"}
    boxes = tf.stack(
        [
            dense["image/object/bbox/ymin"],
            dense["image/object/bbox/xmin"],
            dense["image/object/bbox/ymax"],
            dense["image/object/bbox/xmax"],
        ],
        axis=1,
    )
    return image, boxes, tf.cast(dense["image/object/class/label"], tf.int32)
