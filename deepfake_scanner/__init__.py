"""Deepfake Scanner as a library: `Scanner.open()` loads the detectors and the judge, then
``scan_file``, ``scan_many``, ``scan_image`` and ``scan_frames`` give `ScanResult`s.

    from deepfake_scanner import Scanner

    with Scanner.open() as scanner:
        print(scanner.scan_file("samples/real_img16.jpg").verdict)

Layout: `deepfake_scanner.engine` (the threaded pipeline), `.frames` (the one frame reader,
over `.images` and `.video`), `.faces`, `.output` (CSV / JSON lines / annotated video
writers), `.cli` (the command lines). Detectors live in `cnn_detector`, the judge in
`rnn_judge`, evaluation in `deepfake_evaluation`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cnn_detector.types import Detection, FrameDetections, Verdict
    from deepfake_scanner.scanner import Scanner, ScannerError, ScanOptions, ScanResult

__all__ = ["Detection", "FrameDetections", "ScanOptions", "ScanResult", "Scanner", "ScannerError", "Verdict"]


def __getattr__(name: str):
    # Imported on first use: `import deepfake_scanner.output...` stays light (no TensorFlow).
    if name in ("ScanOptions", "ScanResult", "Scanner", "ScannerError"):
        from deepfake_scanner import scanner

        return getattr(scanner, name)
    if name in ("Detection", "FrameDetections", "Verdict"):
        from cnn_detector import types

        return getattr(types, name)
    raise AttributeError(f"module 'deepfake_scanner' has no attribute {name!r}")
