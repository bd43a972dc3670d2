"""Face finding with MediaPipe's BlazeFace (short range) and face mesh, run by TFLite.

Measured here (FINDINGS.md): about 1-3 ms per 640x480 frame for both models, 63/63 faces
found where MTCNN took 80 ms and dlib's HOG missed 22. The .tflite files ship in
deepfake_scanner/assets (Apache-2.0, see assets/NOTICE); the anchor decoding that MediaPipe's
calculators do is written here.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnn_detector.boxes import iou_one_to_many
from cnn_detector.types import Box

ASSETS = Path(__file__).resolve().parent / "assets"
DETECTOR_MODEL = ASSETS / "face_detection_short_range.tflite"
MESH_MODEL = ASSETS / "face_landmark.tflite"
DETECTOR_SIZE = 128
MESH_SIZE = 192


@dataclass(frozen=True, slots=True)
class Face:
    """A face on a frame. box: normalized (ymin, xmin, ymax, xmax); keypoints: [6, 2]
    normalized (x, y) for right eye, left eye, nose tip, mouth, right ear, left ear."""

    box: Box
    score: float
    keypoints: np.ndarray


def _interpreter(path: Path):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # older installs: TensorFlow's own copy
        from tensorflow.lite.python.interpreter import Interpreter
    interpreter = Interpreter(model_path=str(path), num_threads=1)
    interpreter.allocate_tensors()
    return interpreter


def blazeface_anchors() -> np.ndarray:
    """[896, 2] anchor centres (x, y) of the short-range model (MediaPipe SsdAnchorsCalculator:
    strides 8, 16, 16, 16; two anchors per layer and cell; fixed anchor size)."""
    centres = []
    for stride, per_cell in ((8, 2), (16, 6)):
        cells = DETECTOR_SIZE // stride
        for row in range(cells):
            for col in range(cells):
                centres += [((col + 0.5) / cells, (row + 0.5) / cells)] * per_cell
    return np.array(centres, np.float32)


def weighted_nms(boxes: np.ndarray, scores: np.ndarray, points: np.ndarray, iou: float = 0.3):
    """MediaPipe's weighted non-max suppression: overlapping boxes are averaged by score."""
    order = np.argsort(-scores)
    boxes, scores, points = boxes[order], scores[order], points[order]
    kept = []
    remaining = np.ones(len(scores), bool)
    for i in range(len(scores)):
        if not remaining[i]:
            continue
        overlap = remaining & (iou_one_to_many(boxes[i], boxes) >= iou)
        weights = scores[overlap][:, None]
        box = (boxes[overlap] * weights).sum(0) / weights.sum()
        pts = (points[overlap] * weights[:, :, None]).sum(0) / weights.sum()
        kept.append((box, float(scores[i]), pts))
        remaining &= ~overlap
    return kept


class FaceFinder:
    """BlazeFace on a letterboxed 128x128 copy of the frame; thread-safe (one lock).

    verify: keep only faces the face mesh also sees (presence >= 0.5). BlazeFace alone
    boxes face-like things (a seal, a logo) at 0.7; the mesh scores those near 0 and real
    faces near 1, for a few ms per face.
    """

    def __init__(self, min_score: float = 0.5, min_size: float = 0.0, verify: bool = True):
        self.min_score = min_score
        self.min_size = min_size
        self._mesh = FaceMesh() if verify else None
        self._net = _interpreter(DETECTOR_MODEL)
        self._input = self._net.get_input_details()[0]["index"]
        outputs = {d["name"]: d["index"] for d in self._net.get_output_details()}
        self._regressors, self._classifiers = outputs["regressors"], outputs["classificators"]
        self._anchors = blazeface_anchors()
        self._lock = threading.Lock()

    def _letterbox(self, image: np.ndarray) -> tuple[np.ndarray, float, float, float]:
        import cv2

        height, width = image.shape[:2]
        scale = DETECTOR_SIZE / max(height, width)
        new_h, new_w = max(1, round(height * scale)), max(1, round(width * scale))
        resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_AREA)
        canvas = np.zeros((DETECTOR_SIZE, DETECTOR_SIZE, 3), np.uint8)
        top, left = (DETECTOR_SIZE - new_h) // 2, (DETECTOR_SIZE - new_w) // 2
        canvas[top : top + new_h, left : left + new_w] = resized
        return canvas, top / DETECTOR_SIZE, left / DETECTOR_SIZE, scale

    def detect(self, image: np.ndarray) -> list[Face]:
        """Faces on an RGB uint8 frame, best first.

        The short-range model wants faces of a fifth of its 128 px input or more; when the
        whole frame shows none, overlapping tiles of the frame are searched, so a small face
        in a wide video frame is still found.
        """
        faces = self._detect_window(image, (0.0, 0.0, 1.0, 1.0))
        if faces or max(image.shape[:2]) < 2 * DETECTOR_SIZE:
            return faces
        height, width = image.shape[:2]
        side = min(height, width) * 0.6
        found = []
        for top in np.linspace(0, height - side, num=max(2, int(np.ceil(height / side * 1.5)))):
            for left in np.linspace(0, width - side, num=max(2, int(np.ceil(width / side * 1.5)))):
                window = (top / height, left / width, (top + side) / height, (left + side) / width)
                found += self._detect_window(image, window)
        boxes = np.array([f.box for f in found], np.float32).reshape(-1, 4)
        kept, taken = [], np.zeros(len(found), bool)
        for i in np.argsort([-f.score for f in found]):
            if not taken[i]:
                taken |= iou_one_to_many(boxes[i], boxes) >= 0.3
                kept.append(found[i])
        return kept

    def _detect_window(self, frame: np.ndarray, window: Box) -> list[Face]:
        """Faces inside a normalized window of the frame, in frame coordinates."""
        fh, fw = frame.shape[:2]
        wy0, wx0, wy1, wx1 = window
        image = frame[int(wy0 * fh) : int(round(wy1 * fh)), int(wx0 * fw) : int(round(wx1 * fw))]
        height, width = image.shape[:2]
        canvas, top, left, scale = self._letterbox(image)
        tensor = (canvas.astype(np.float32) / 127.5 - 1.0)[None]
        with self._lock:
            self._net.set_tensor(self._input, tensor)
            self._net.invoke()
            raw = self._net.get_tensor(self._regressors)[0].copy()
            logits = self._net.get_tensor(self._classifiers)[0, :, 0].copy()
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float64), -100, 100)))
        keep = scores >= self.min_score
        if not keep.any():
            return []
        raw, scores, anchors = raw[keep], scores[keep], self._anchors[keep]
        cx = raw[:, 0] / DETECTOR_SIZE + anchors[:, 0]
        cy = raw[:, 1] / DETECTOR_SIZE + anchors[:, 1]
        w, h = raw[:, 2] / DETECTOR_SIZE, raw[:, 3] / DETECTOR_SIZE
        boxes = np.stack([cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2], axis=1)
        points = raw[:, 4:16].reshape(-1, 6, 2) / DETECTOR_SIZE + anchors[:, None, :]
        # Undo the letterbox: canvas-normalized -> frame-normalized.
        sy, sx = DETECTOR_SIZE / (height * scale), DETECTOR_SIZE / (width * scale)
        boxes = (boxes - [top, left, top, left]) * [sy, sx, sy, sx]
        points = (points - [left, top]) * [sx, sy]
        faces = []
        wh, ww = wy1 - wy0, wx1 - wx0
        boxes = boxes * [wh, ww, wh, ww] + [wy0, wx0, wy0, wx0]
        points = points * [ww, wh] + [wx0, wy0]
        for box, score, pts in weighted_nms(boxes, scores, points):
            box = np.clip(box, 0.0, 1.0)
            if box[2] - box[0] <= 0 or box[3] - box[1] <= 0:
                continue
            if min(box[2] - box[0], box[3] - box[1]) < self.min_size:
                continue
            face = Face(tuple(float(v) for v in box), score, np.clip(pts, 0.0, 1.0).astype(np.float32))
            if self._mesh is not None and self._mesh.landmarks(frame, face.box)[1] < 0.5:
                continue
            faces.append(face)
        return faces

    def find(self, image: np.ndarray) -> list[Box]:
        """Normalized face boxes, best first (what the engine's face stage calls)."""
        return [face.box for face in self.detect(image)]


class FaceMesh:
    """MediaPipe's 468-point face mesh on a square crop around a face box."""

    def __init__(self):
        self._net = _interpreter(MESH_MODEL)
        self._input = self._net.get_input_details()[0]["index"]
        outputs = {d["name"]: d["index"] for d in self._net.get_output_details()}
        self._points, self._presence = outputs["conv2d_21"], outputs["conv2d_31"]
        self._lock = threading.Lock()

    def landmarks(self, image: np.ndarray, face_box: Box, scale: float = 1.5) -> tuple[np.ndarray, float]:
        """([468, 3] pixel (x, y, z) in frame coordinates, face presence score in [0, 1])."""
        import cv2

        height, width = image.shape[:2]
        ymin, xmin, ymax, xmax = face_box
        cy, cx = (ymin + ymax) / 2 * height, (xmin + xmax) / 2 * width
        side = max((ymax - ymin) * height, (xmax - xmin) * width) * scale
        x0, y0 = cx - side / 2, cy - side / 2
        k = MESH_SIZE / side
        affine = np.array([[k, 0, -x0 * k], [0, k, -y0 * k]], np.float32)
        patch = cv2.warpAffine(
            image, affine, (MESH_SIZE, MESH_SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
        )
        with self._lock:
            self._net.set_tensor(self._input, (patch.astype(np.float32) / 255.0)[None])
            self._net.invoke()
            points = self._net.get_tensor(self._points).reshape(468, 3).copy()
            presence = float(self._net.get_tensor(self._presence).reshape(-1)[0])
        points[:, 0] = points[:, 0] / k + x0
        points[:, 1] = points[:, 1] / k + y0
        points[:, 2] = points[:, 2] / k
        return points, 1.0 / (1.0 + np.exp(-presence))
