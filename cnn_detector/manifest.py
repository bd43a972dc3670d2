"""detector.yaml: the manifest every detector directory carries, and its schema.

Example (every field explained in tools/new_detector.py's template)::

    name: gan_face
    version: 1.0.0
    author: Deepfake Scanner contributors
    licence: Apache-2.0
    algorithms: [stylegan, stylegan2]
    input: face_crop          # or full_frame, face_clip, face_clip_audio (with clip_frames,
                              # and audio_samples for face_clip_audio)
    input_size: [128, 128]    # height, width fed to image_tensor
    min_score: 0.3
    labelmap: ../../labelmaps/gan_face.pbtxt
    graph: frozen_inference_graph.pb
    sha256: <64 hex digits of the graph file>
    trained_on: [fake_images/stylegan_boredhumans, real_images/deepface]

A TFLite form of a frame detector (tools/export_tflite.py --write-models) says so, and where
its model stops before non-maximum suppression, with what the NMS was built with::

    runtime: tflite           # default frozen_graph
    graph: model.tflite
    nms: {boxes: retina_net_model/ExpandDims_4, scores: retina_net_model/concat_1,
          per_class: 10, total: 10, iou: 0.5, score_threshold: 0.01}
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cnn_detector.errors import ManifestError
from cnn_detector.small_text_file import read_small_text
from cnn_detector.strict_yaml import load_yaml

MANIFEST_NAME = "detector.yaml"
DEFAULT_GRAPH_NAME = "frozen_inference_graph.pb"
INPUT_KINDS = ("face_crop", "full_frame", "face_clip", "face_clip_audio")
CLIP_KINDS = ("face_clip", "face_clip_audio")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")
MAX_MANIFEST_BYTES = 64 * 1024

REQUIRED_FIELDS = (
    "name",
    "version",
    "author",
    "licence",
    "algorithms",
    "input",
    "input_size",
    "min_score",
    "labelmap",
    "sha256",
    "trained_on",
)
OPTIONAL_FIELDS = (
    "graph",
    "face_margin",
    "description",
    "typical_fake_score",
    "clip_frames",
    "audio_samples",
    "runtime",
    "nms",
)
RUNTIMES = ("frozen_graph", "tflite")
NMS_FIELDS = {"boxes": str, "scores": str, "per_class": int, "total": int, "iou": float, "score_threshold": float}


@dataclass(frozen=True, slots=True)
class DetectorManifest:
    """A validated detector.yaml.

    input_size: (height, width) in pixels that frames or face crops are resized to.
    face_margin: for face_crop detectors, the fraction of the face box added on each side.
    typical_fake_score: the median score on its own validation fakes (optional); with
    min_score it puts the detector's scores on the judge's common scale.
    clip_frames: for face_clip(_audio) detectors, T, the frames of one clip (2..64).
    audio_samples: for face_clip_audio detectors, S, the 16 kHz samples of one clip's audio.
    """

    name: str
    version: str
    author: str
    licence: str
    algorithms: tuple[str, ...]
    input: str
    input_size: tuple[int, int]
    min_score: float
    labelmap: str
    sha256: str
    trained_on: tuple[str, ...]
    graph: str = DEFAULT_GRAPH_NAME
    face_margin: float = 0.3
    description: str = ""
    typical_fake_score: float | None = None
    clip_frames: int | None = None
    audio_samples: int | None = None
    runtime: str = "frozen_graph"
    nms: dict[str, Any] | None = None  # tflite only: NMS_FIELDS, when the model stops before its NMS

    @property
    def is_clip(self) -> bool:
        return self.input in CLIP_KINDS

    def to_yaml_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "author": self.author,
            "licence": self.licence,
            "algorithms": list(self.algorithms),
            "input": self.input,
            "input_size": list(self.input_size),
            "min_score": self.min_score,
            "labelmap": self.labelmap,
            "graph": self.graph,
            "sha256": self.sha256,
            "trained_on": list(self.trained_on),
            "face_margin": self.face_margin,
            "description": self.description,
            **({"typical_fake_score": self.typical_fake_score} if self.typical_fake_score is not None else {}),
            **({"clip_frames": self.clip_frames} if self.clip_frames is not None else {}),
            **({"audio_samples": self.audio_samples} if self.audio_samples is not None else {}),
            **({"runtime": self.runtime} if self.runtime != "frozen_graph" else {}),
            **({"nms": dict(self.nms)} if self.nms is not None else {}),
        }


def _text(path: Path, data: dict, key: str) -> str:
    value = data[key]
    if isinstance(value, (int, float)) and not isinstance(value, bool) and key == "version":
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise ManifestError(f"{path}: {key} must be a non-empty string, got {value!r}")
    return value.strip()


def _text_list(path: Path, data: dict, key: str) -> tuple[str, ...]:
    value = data[key]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise ManifestError(f"{path}: {key} must be a non-empty list of strings, got {value!r}")
    return tuple(v.strip() for v in value)


def _input_size(path: Path, value: Any) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value, value]
    ok = (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and 16 <= v <= 4096 for v in value)
    )
    if not ok:
        raise ManifestError(
            f"{path}: input_size must be [height, width] (or one number), each 16..4096 pixels, got {value!r}"
        )
    return int(value[0]), int(value[1])


def _relative_file(path: Path, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ManifestError(f"{path}: {key} must be a relative file path, got {value!r}")
    if Path(value).is_absolute() or "\\" in value:
        raise ManifestError(f"{path}: {key} must be a relative path with '/' separators, got {value!r}")
    return value.strip()


def _clip_field(path: Path, data: dict, key: str, needed: bool, kind: str, low: int, high: int) -> int | None:
    """An integer field a clip kind needs (and no other kind may carry)."""
    value = data.get(key)
    if not needed:
        if value is not None:
            raise ManifestError(f"{path}: {key} is for clip detectors, not input {kind}")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ManifestError(f"{path}: input {kind} needs {key}, an integer in {low}..{high}, got {value!r}")
    return value


def _runtime(path: Path, data: dict, kind: str) -> tuple[str, dict[str, Any] | None]:
    runtime = data.get("runtime", "frozen_graph")
    if runtime not in RUNTIMES:
        raise ManifestError(f"{path}: runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    nms = data.get("nms")
    if runtime != "tflite":
        if nms is not None:
            raise ManifestError(f"{path}: nms is for runtime tflite only")
        return runtime, None
    if kind in CLIP_KINDS:
        raise ManifestError(f"{path}: runtime tflite is for frame detectors, not input {kind}")
    if nms is None:
        return runtime, None
    if not isinstance(nms, dict) or set(nms) != set(NMS_FIELDS):
        raise ManifestError(f"{path}: nms must be a mapping of exactly {', '.join(NMS_FIELDS)}, got {nms!r}")
    checked: dict[str, Any] = {}
    for key, kind_of in NMS_FIELDS.items():
        value = nms[key]
        good = (
            (kind_of is str and isinstance(value, str) and 0 < len(value) <= 256)
            or (kind_of is int and isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 1000)
            or (
                kind_of is float and isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1
            )
        )
        if not good:
            raise ManifestError(f"{path}: nms.{key} is out of range or of the wrong type: {value!r}")
        checked[key] = kind_of(value)
    return runtime, checked


def parse_manifest(data: Any, path: Path | str = MANIFEST_NAME) -> DetectorManifest:
    """Validate a decoded detector.yaml mapping; errors name the file and the field."""
    path = Path(path)
    if not isinstance(data, dict):
        raise ManifestError(f"{path}: expected a mapping of fields, got {type(data).__name__}")
    unknown = sorted(set(map(str, data)) - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS))
    if unknown:
        raise ManifestError(
            f"{path}: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(REQUIRED_FIELDS + OPTIONAL_FIELDS)}"
        )
    missing = [key for key in REQUIRED_FIELDS if key not in data]
    if missing:
        raise ManifestError(f"{path}: missing required field(s): {', '.join(missing)}")

    name = data["name"]
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ManifestError(
            f"{path}: name must be 2-64 characters of a-z, 0-9 and '_', starting with a letter, got {name!r}"
        )
    kind = data["input"]
    if kind not in INPUT_KINDS:
        raise ManifestError(f"{path}: input must be one of {', '.join(INPUT_KINDS)}, got {kind!r}")
    clip_frames = _clip_field(path, data, "clip_frames", kind in CLIP_KINDS, kind, 2, 64)
    audio_samples = _clip_field(path, data, "audio_samples", kind == "face_clip_audio", kind, 1600, 16000 * 30)
    min_score = data["min_score"]
    if isinstance(min_score, bool) or not isinstance(min_score, (int, float)) or not 0.0 < min_score <= 1.0:
        raise ManifestError(f"{path}: min_score must be a number in (0, 1], got {min_score!r}")
    sha256 = data["sha256"]
    if not isinstance(sha256, str) or not SHA256_PATTERN.match(sha256.lower()):
        raise ManifestError(f"{path}: sha256 must be 64 hexadecimal digits, got {sha256!r}")
    graph = _relative_file(path, "graph", data.get("graph", DEFAULT_GRAPH_NAME))
    if "/" in graph:
        raise ManifestError(f"{path}: graph must be a file name inside the detector directory, got {graph!r}")
    margin = data.get("face_margin", 0.3)
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not 0.0 <= margin <= 2.0:
        raise ManifestError(f"{path}: face_margin must be a number in [0, 2], got {margin!r}")
    typical = data.get("typical_fake_score")
    if typical is not None and (
        isinstance(typical, bool) or not isinstance(typical, (int, float)) or not 0 < typical <= 1
    ):
        raise ManifestError(f"{path}: typical_fake_score must be a number in (0, 1], got {typical!r}")
    runtime, nms = _runtime(path, data, kind)
    description = data.get("description", "") or ""
    if not isinstance(description, str):
        raise ManifestError(f"{path}: description must be a string, got {description!r}")

    return DetectorManifest(
        name=name,
        version=_text(path, data, "version"),
        author=_text(path, data, "author"),
        licence=_text(path, data, "licence"),
        algorithms=_text_list(path, data, "algorithms"),
        input=kind,
        input_size=_input_size(path, data["input_size"]),
        min_score=float(min_score),
        labelmap=_relative_file(path, "labelmap", data["labelmap"]),
        sha256=sha256.lower(),
        trained_on=_text_list(path, data, "trained_on"),
        graph=graph,
        face_margin=float(margin),
        description=description.strip(),
        typical_fake_score=None if typical is None else float(typical),
        clip_frames=clip_frames,
        audio_samples=audio_samples,
        runtime=runtime,
        nms=nms,
    )


def load_manifest(path: Path | str) -> DetectorManifest:
    """Read and validate a detector.yaml file."""
    path = Path(path)
    text = read_small_text(
        path, MAX_MANIFEST_BYTES, ManifestError, "manifest", f"no {MANIFEST_NAME} in this detector directory"
    )
    try:
        data = load_yaml(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(err, "problem", None) or str(err)
        raise ManifestError(f"{where}: not valid YAML: {problem}") from None
    return parse_manifest(data, path)


def write_manifest(manifest: DetectorManifest, path: Path | str) -> None:
    """Write a manifest as YAML (atomically), after checking it round-trips."""
    from cnn_detector.atomic_file import atomic_write_text

    text = yaml.safe_dump(manifest.to_yaml_dict(), sort_keys=False, allow_unicode=True)
    parse_manifest(yaml.safe_load(text), path)
    atomic_write_text(Path(path), text)
