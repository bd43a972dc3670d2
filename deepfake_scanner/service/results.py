"""A `ScanResult` as the service stores and returns it: the verdict (as main_thread.py writes
it), each detector's evidence, the strongest boxes, the people, and the most telling frame,
drawn with its boxes."""

from __future__ import annotations

from pathlib import Path

import cv2

from deepfake_scanner.output.people import person_record
from deepfake_scanner.output.verdicts import verdict_record

MAX_DETECTIONS = 100


def _detection(frame, det) -> dict:
    return {
        "frame_index": frame.frame_index,
        "timestamp_ms": round(frame.timestamp_ms, 1),
        "detector": det.detector,
        "label": det.label,
        "score": round(float(det.score), 6),
        "box": [round(float(v), 6) for v in det.box],  # ymin, xmin, ymax, xmax, normalized
    }


def telling_frame(result) -> int | None:
    """The frame index of the strongest detection; else the first frame with a face; else the first."""
    frames = result.frames
    if not frames:
        return None
    scored = [(det.score, frame.frame_index) for frame in frames for det in frame.detections]
    if scored:
        return max(scored)[1]
    with_face = [f.frame_index for f in frames if f.faces]
    return with_face[0] if with_face else frames[0].frame_index


def scan_record(result, source: str | None = None) -> dict:
    """Plain JSON values of a ScanResult, its ``source`` shown as ``source`` (the name the file
    was uploaded with, not where the service keeps it)."""
    verdict = result.verdict
    source = result.source if source is None else source
    evidence = {
        name: {"detections": 0, "max_score": 0.0, "frames": 0} for name in (verdict.detectors if verdict else ())
    }
    detections = []
    for frame in result.frames:
        seen = set()
        for det in frame.detections:
            entry = evidence.setdefault(det.detector, {"detections": 0, "max_score": 0.0, "frames": 0})
            entry["detections"] += 1
            entry["max_score"] = max(entry["max_score"], round(float(det.score), 6))
            if det.detector not in seen:
                entry["frames"] += 1
                seen.add(det.detector)
            detections.append(_detection(frame, det))
    detections.sort(key=lambda d: -d["score"])

    def shown(text: str) -> str:  # messages name the file as the user knows it
        return text.replace(result.source, source) if text else text

    return {
        "verdict": {**verdict_record(verdict), "source": source, "error": shown(verdict.error)}
        if verdict is not None
        else None,
        "error": shown(result.error),
        "warning": shown(result.warning),
        "frames_analysed": len(result.frames),
        "evidence": [{"detector": name, **values} for name, values in evidence.items()],
        "detections": detections[:MAX_DETECTIONS],
        "detections_total": len(detections),
        "telling_frame": telling_frame(result),
        "people": [person_record(source, p) for p in result.people],
    }


def annotated_frame(path: Path, result, sampling) -> bytes | None:
    """JPEG bytes of the most telling frame of ``path`` (decoded as the scan sampled it), with
    its faces, boxes and the fake probability drawn; None when there is no frame."""
    from deepfake_scanner.frames import read_frames
    from deepfake_scanner.output.annotate import draw_frame

    index = telling_frame(result)
    if index is None:
        return None
    frame = next((f for f in result.frames if f.frame_index == index), None)
    for decoded in read_frames(path, sampling):
        if decoded.index == index:
            verdict = result.verdict
            probability = verdict.fake_probability if verdict is not None else None
            threshold = verdict.threshold if verdict is not None and verdict.threshold is not None else 0.5
            image = draw_frame(decoded.image, frame, probability, threshold)
            ok, data = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 88])
            return data.tobytes() if ok else None
        if decoded.index > index:
            break
    return None
