"""Pascal VOC XML, the format labelImg reads and writes, via lxml.

Boxes are pixel (xmin, ymin, xmax, ymax), VOC's 1-based convention is not applied: this
project writes and reads 0-based pixel edges, exactly as labelImg does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from cnn_detector.atomic_file import atomic_writer
from cnn_detector.errors import DeepfakeScannerError


class AnnotationError(DeepfakeScannerError):
    """A VOC XML file is malformed; the message names the file."""


@dataclass(frozen=True, slots=True)
class VocObject:
    name: str
    xmin: int
    ymin: int
    xmax: int
    ymax: int


@dataclass(frozen=True)
class VocAnnotation:
    filename: str
    width: int
    height: int
    depth: int = 3
    objects: tuple[VocObject, ...] = ()
    folder: str = ""


def write_voc(annotation: VocAnnotation, path: Path) -> None:
    root = etree.Element("annotation")
    etree.SubElement(root, "folder").text = annotation.folder
    etree.SubElement(root, "filename").text = annotation.filename
    size = etree.SubElement(root, "size")
    for key, value in (("width", annotation.width), ("height", annotation.height), ("depth", annotation.depth)):
        etree.SubElement(size, key).text = str(value)
    etree.SubElement(root, "segmented").text = "0"
    for obj in annotation.objects:
        node = etree.SubElement(root, "object")
        etree.SubElement(node, "name").text = obj.name
        etree.SubElement(node, "pose").text = "Unspecified"
        etree.SubElement(node, "truncated").text = "0"
        etree.SubElement(node, "difficult").text = "0"
        box = etree.SubElement(node, "bndbox")
        for key in ("xmin", "ymin", "xmax", "ymax"):
            etree.SubElement(box, key).text = str(getattr(obj, key))
    with atomic_writer(Path(path), "wb") as handle:
        handle.write(etree.tostring(root, pretty_print=True, xml_declaration=False, encoding="utf-8"))


def _int(node, key: str, path: Path) -> int:
    text = node.findtext(key)
    try:
        return int(round(float(text)))
    except (TypeError, ValueError):
        raise AnnotationError(f"{path}: <{key}> must be a number, got {text!r}") from None


def read_voc(path: Path) -> VocAnnotation:
    """Parse a labelImg / Pascal VOC XML file; errors name the file and the field."""
    path = Path(path)
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        root = etree.parse(str(path), parser).getroot()
    except (OSError, etree.XMLSyntaxError) as err:
        raise AnnotationError(f"{path}: not readable Pascal VOC XML ({err})") from None
    if root.tag != "annotation":
        raise AnnotationError(f"{path}: root element must be <annotation>, got <{root.tag}>")
    size = root.find("size")
    if size is None:
        raise AnnotationError(f"{path}: missing <size>")
    width, height = _int(size, "width", path), _int(size, "height", path)
    depth = _int(size, "depth", path) if size.findtext("depth") else 3
    objects = []
    for node in root.findall("object"):
        name = (node.findtext("name") or "").strip()
        box = node.find("bndbox")
        if not name or box is None:
            raise AnnotationError(f"{path}: every <object> needs <name> and <bndbox>")
        obj = VocObject(name, *(_int(box, k, path) for k in ("xmin", "ymin", "xmax", "ymax")))
        if not (0 <= obj.xmin < obj.xmax <= width and 0 <= obj.ymin < obj.ymax <= height):
            raise AnnotationError(
                f"{path}: box of {name!r} ({obj.xmin},{obj.ymin},{obj.xmax},{obj.ymax}) is empty or outside "
                f"the {width}x{height} image"
            )
        objects.append(obj)
    return VocAnnotation(
        root.findtext("filename") or "", width, height, depth, tuple(objects), root.findtext("folder") or ""
    )
