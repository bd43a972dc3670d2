"""Result types every consumer relies on; tensors are converted into these in one place.

Boxes are normalized to [0, 1] in frame coordinates and ordered (ymin, xmin, ymax, xmax),
as in the TF Object Detection API.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

Box = tuple[float, float, float, float]

VERDICT_STATUSES = ("ok", "no_face", "error")


def _check_box(box: Box, what: str) -> None:
    if len(box) != 4:
        raise ValueError(f"{what}: box must have 4 numbers (ymin, xmin, ymax, xmax), got {box!r}")
    ymin, xmin, ymax, xmax = box
    for value in box:
        if not (isinstance(value, (int, float)) and math.isfinite(value) and 0.0 <= value <= 1.0):
            raise ValueError(f"{what}: box coordinates must be finite and in [0, 1], got {box!r}")
    if ymin > ymax or xmin > xmax:
        raise ValueError(f"{what}: box must have ymin <= ymax and xmin <= xmax, got {box!r}")


@dataclass(frozen=True, slots=True)
class Detection:
    """One box a detector put on a frame.

    box: normalized (ymin, xmin, ymax, xmax) in frame coordinates.
    score: confidence in [0, 1].
    class_id: 1-based labelmap id; label: its labelmap name.
    detector: name of the detector that produced it.
    """

    box: Box
    score: float
    class_id: int
    label: str
    detector: str

    def __post_init__(self) -> None:
        _check_box(self.box, f"detection from {self.detector!r}")
        if not (math.isfinite(self.score) and 0.0 <= self.score <= 1.0):
            raise ValueError(f"detection from {self.detector!r}: score must be in [0, 1], got {self.score!r}")
        if isinstance(self.class_id, bool) or not isinstance(self.class_id, int) or self.class_id < 1:
            raise ValueError(f"detection from {self.detector!r}: class_id must be an int >= 1, got {self.class_id!r}")
        if not self.label:
            raise ValueError(f"detection from {self.detector!r}: label must not be empty")
        if not self.detector:
            raise ValueError("detection: detector name must not be empty")

    @property
    def area(self) -> float:
        """Box area as a fraction of the frame."""
        ymin, xmin, ymax, xmax = self.box
        return (ymax - ymin) * (xmax - xmin)


@dataclass(frozen=True, slots=True)
class FrameDetections:
    """Everything found on one frame of one source.

    image_size: (height, width) in pixels of the decoded frame.
    faces: normalized face boxes found on the frame (empty when no face stage ran).
    """

    source: str
    frame_index: int
    timestamp_ms: float
    image_size: tuple[int, int]
    faces: tuple[Box, ...] = ()
    detections: tuple[Detection, ...] = ()

    def __post_init__(self) -> None:
        if self.frame_index < 0:
            raise ValueError(f"{self.source}: frame_index must be >= 0, got {self.frame_index}")
        if not (math.isfinite(self.timestamp_ms) and self.timestamp_ms >= 0):
            raise ValueError(f"{self.source}: timestamp_ms must be >= 0, got {self.timestamp_ms}")
        height, width = self.image_size
        if height < 1 or width < 1:
            raise ValueError(f"{self.source}: image_size must be positive, got {self.image_size}")
        for face in self.faces:
            _check_box(face, f"{self.source}: face")
        for det in self.detections:
            if not isinstance(det, Detection):
                raise TypeError(f"{self.source}: detections must be Detection, got {type(det).__name__}")


@dataclass(frozen=True, slots=True)
class Provenance:
    """Evidence beside the detectors (DESIGN): what the media says of itself.

    watermarks: names of the known invisible watermarks found (`deepfake_scanner.provenance`).
    c2pa_ai: ``generated`` or ``edited`` when C2PA credentials declare AI, else "".
    c2pa_claim_generator: who made the active C2PA manifest ("" without credentials).
    c2pa_validation: the SDK's validation state and failure codes ("" without credentials).
    error: why a provenance reader failed ("" when none did).
    """

    watermarks: tuple[str, ...] = ()
    c2pa_ai: str = ""
    c2pa_claim_generator: str = ""
    c2pa_validation: str = ""
    error: str = ""

    @property
    def found(self) -> bool:
        return bool(self.watermarks or self.c2pa_claim_generator or self.error)

    @property
    def declares_ai(self) -> bool:
        """A generator's own mark: C2PA declaring AI generation or editing, or a known watermark."""
        return bool(self.c2pa_ai or self.watermarks)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The decision for one video or image.

    status: ``ok`` (decided), ``no_face`` (nothing to judge), ``error`` (see ``error``).
    fake_probability: judge output in [0, 1]; None unless status is ``ok``.
    """

    source: str
    status: Literal["ok", "no_face", "error"]
    is_fake: bool | None = None
    fake_probability: float | None = None
    threshold: float | None = None
    likely_algorithm: str = ""
    frames_used: int = 0
    detectors: tuple[str, ...] = field(default_factory=tuple)
    error: str = ""
    provenance: Provenance | None = None  # reported beside the judgement, never part of it

    def __post_init__(self) -> None:
        if self.status not in VERDICT_STATUSES:
            raise ValueError(f"{self.source}: status must be one of {VERDICT_STATUSES}, got {self.status!r}")
        if self.status == "ok":
            if self.fake_probability is None or not 0.0 <= self.fake_probability <= 1.0:
                raise ValueError(f"{self.source}: an ok verdict needs fake_probability in [0, 1]")
            if self.is_fake is None:
                raise ValueError(f"{self.source}: an ok verdict needs is_fake")
        if self.status == "error" and not self.error:
            raise ValueError(f"{self.source}: an error verdict needs an error message")
        if self.frames_used < 0:
            raise ValueError(f"{self.source}: frames_used must be >= 0, got {self.frames_used}")
