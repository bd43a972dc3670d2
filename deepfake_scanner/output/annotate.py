"""Drawing detections on frames: a box per detection with 'detector:label score', the face
boxes, and a running fake-probability bar."""

from __future__ import annotations

import cv2
import numpy as np

from cnn_detector.types import FrameDetections

_COLOURS = [(230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180), (70, 240, 240)]


def colour_of(name: str) -> tuple[int, int, int]:
    return _COLOURS[sum(map(ord, name)) % len(_COLOURS)]


def draw_frame(
    image: np.ndarray, frame: FrameDetections | None, probability: float | None, threshold: float
) -> np.ndarray:
    """An RGB copy of ``image`` with the frame's detections and the probability bar."""
    out = image.copy()
    height, width = out.shape[:2]
    thickness = max(1, round(max(height, width) / 400))
    font_scale = max(0.4, max(height, width) / 1400)
    if frame is not None:
        for ymin, xmin, ymax, xmax in frame.faces:
            cv2.rectangle(
                out,
                (int(xmin * width), int(ymin * height)),
                (int(xmax * width), int(ymax * height)),
                (200, 200, 200),
                thickness,
            )
        for det in sorted(frame.detections, key=lambda d: d.score)[-6:]:
            ymin, xmin, ymax, xmax = det.box
            colour = colour_of(det.detector)
            p0, p1 = (int(xmin * width), int(ymin * height)), (int(xmax * width), int(ymax * height))
            cv2.rectangle(out, p0, p1, colour, thickness + 1)
            text = f"{det.detector}:{det.label} {det.score:.2f}"
            cv2.putText(
                out,
                text,
                (p0[0], max(12, p0[1] - 4)),
                cv2.FONT_HERSHEY_SIMPLEX,
                font_scale,
                colour,
                thickness,
                cv2.LINE_AA,
            )
    if probability is not None:
        bar_h = max(8, height // 40)
        filled = int(width * probability)
        colour = (220, 40, 40) if probability >= threshold else (40, 180, 60)
        cv2.rectangle(out, (0, height - bar_h), (width, height), (40, 40, 40), -1)
        cv2.rectangle(out, (0, height - bar_h), (filled, height), colour, -1)
        marker = int(width * threshold)
        cv2.line(out, (marker, height - bar_h), (marker, height), (255, 255, 255), 1)
        cv2.putText(
            out,
            f"fake probability {probability:.2f}",
            (4, height - bar_h - 4),
            cv2.FONT_HERSHEY_SIMPLEX,
            font_scale,
            colour,
            thickness,
            cv2.LINE_AA,
        )
    return out
