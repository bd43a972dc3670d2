"""Parse and validate Object Detection API labelmaps (`StringIntLabelMap` text protos).

The message is declared here, field-for-field as in the Object Detection API's
string_int_label_map.proto, so labelmaps written for the original API parse unchanged
without installing it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format

from cnn_detector.errors import LabelMapError
from cnn_detector.small_text_file import read_small_text

MAX_LABELMAP_BYTES = 1 << 20


def _build_message_class():
    proto = descriptor_pb2.FileDescriptorProto(
        name="deepfake_scanner/string_int_label_map.proto",
        package="object_detection.protos",
        syntax="proto2",
    )
    item = proto.message_type.add(name="StringIntLabelMapItem")
    F = descriptor_pb2.FieldDescriptorProto
    opt, rep = F.LABEL_OPTIONAL, F.LABEL_REPEATED
    keypoint = item.nested_type.add(name="KeypointMap")
    keypoint.field.add(name="id", number=1, label=opt, type=F.TYPE_INT32)
    keypoint.field.add(name="label", number=2, label=opt, type=F.TYPE_STRING)
    frequency = item.enum_type.add(name="LVISFrequency")
    for number, name in enumerate(("UNSPECIFIED_LVIS_FREQUENCY", "FREQUENT", "COMMON", "RARE")):
        frequency.value.add(name=name, number=number)
    item.field.add(name="name", number=1, label=opt, type=F.TYPE_STRING)
    item.field.add(name="id", number=2, label=opt, type=F.TYPE_INT32)
    item.field.add(name="display_name", number=3, label=opt, type=F.TYPE_STRING)
    item.field.add(
        name="keypoints",
        number=4,
        label=rep,
        type=F.TYPE_MESSAGE,
        type_name=".object_detection.protos.StringIntLabelMapItem.KeypointMap",
    )
    item.field.add(name="ancestor_ids", number=5, label=rep, type=F.TYPE_INT32)
    item.field.add(name="descendant_ids", number=6, label=rep, type=F.TYPE_INT32)
    item.field.add(
        name="frequency",
        number=7,
        label=opt,
        type=F.TYPE_ENUM,
        type_name=".object_detection.protos.StringIntLabelMapItem.LVISFrequency",
    )
    item.field.add(name="instance_count", number=8, label=opt, type=F.TYPE_INT32)
    labelmap = proto.message_type.add(name="StringIntLabelMap")
    labelmap.field.add(
        name="item",
        number=1,
        label=rep,
        type=F.TYPE_MESSAGE,
        type_name=".object_detection.protos.StringIntLabelMapItem",
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("object_detection.protos.StringIntLabelMap"))


StringIntLabelMap = _build_message_class()

_ITEM_START = re.compile(r"^\s*item\s*:?\s*\{", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class LabelMapItem:
    id: int
    name: str
    display_name: str


@dataclass(frozen=True)
class LabelMap:
    """Validated labelmap: ids unique and >= 1, names unique and non-empty."""

    path: Path
    items: tuple[LabelMapItem, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {item.id: item for item in self.items})

    def name_of(self, class_id: int) -> str:
        """The item's name, or ``class_<id>`` for an id the labelmap does not declare."""
        item = self._by_id.get(class_id)
        return item.name if item else f"class_{class_id}"

    def __contains__(self, class_id: int) -> bool:
        return class_id in self._by_id

    @property
    def ids(self) -> tuple[int, ...]:
        return tuple(item.id for item in self.items)


def parse_labelmap_text(text: str, path: Path | str = "<labelmap>") -> LabelMap:
    """Parse a StringIntLabelMap text proto; errors name the file and line."""
    path = Path(path)
    message = StringIntLabelMap()
    try:
        text_format.Parse(text, message)
    except text_format.ParseError as err:
        line, column = err.GetLine(), err.GetColumn()
        where = f"{path}:{line}:{column}" if line else str(path)
        reason = str(err).split(" : ", 1)[-1]
        raise LabelMapError(f"{where}: not a valid StringIntLabelMap text proto: {reason}") from None
    if not message.item:
        raise LabelMapError(f"{path}: labelmap has no items; expected at least one 'item {{ id: 1 name: ... }}'")
    item_lines = [text.count("\n", 0, m.start()) + 1 for m in _ITEM_START.finditer(text)]
    seen_ids: dict[int, int] = {}
    seen_names: dict[str, int] = {}
    items = []
    for index, raw in enumerate(message.item):
        line = item_lines[index] if index < len(item_lines) else 0
        where = f"{path}:{line}" if line else str(path)
        if not raw.HasField("id"):
            raise LabelMapError(f"{where}: item has no id; every item needs 'id: N' with N >= 1")
        if raw.id < 1:
            raise LabelMapError(f"{where}: id must be >= 1 (0 is the background class), got {raw.id}")
        if not raw.name.strip():
            raise LabelMapError(f"{where}: item with id {raw.id} has no name")
        if raw.id in seen_ids:
            raise LabelMapError(f"{where}: id {raw.id} already used by the item on line {seen_ids[raw.id]}")
        if raw.name in seen_names:
            raise LabelMapError(f"{where}: name {raw.name!r} already used by the item on line {seen_names[raw.name]}")
        seen_ids[raw.id] = line
        seen_names[raw.name] = line
        items.append(LabelMapItem(id=raw.id, name=raw.name, display_name=raw.display_name or raw.name))
    return LabelMap(path=path, items=tuple(items))


def load_labelmap(path: Path | str) -> LabelMap:
    """Read and validate a labelmap file."""
    path = Path(path)
    text = read_small_text(path, MAX_LABELMAP_BYTES, LabelMapError, "labelmap", "labelmap file not found")
    return parse_labelmap_text(text, path)


def format_labelmap(items: list[tuple[int, str, str]]) -> str:
    """Write (id, name, display_name) triples as a StringIntLabelMap text proto."""
    blocks = []
    for class_id, name, display_name in items:
        blocks.append(
            "item {\n"
            f"  id: {class_id}\n"
            f"  name: {text_format_quote(name)}\n"
            f"  display_name: {text_format_quote(display_name)}\n"
            "}\n"
        )
    text = "".join(blocks)
    parse_labelmap_text(text)
    return text


def text_format_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
