"""Frozen-graph deepfake artifact detectors (TF Object Detection API contract).

Public entry points:
- `cnn_detector.registry.discover_detectors` finds detector directories.
- `cnn_detector.frozen_graph.load_detector` checks and loads one graph.
- `cnn_detector.types` holds the result dataclasses every consumer uses.
"""
