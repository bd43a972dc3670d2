"""Config + labelmap (+ checkpoint) -> frozen OD-API graph on disk; tools/export_frozen_graph.py
is its command line."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from cnn_detector.errors import ManifestError
from cnn_detector.export import freeze_detection_function, write_frozen_graph
from cnn_detector.graph_trust import VerifiedGraph
from cnn_detector.labelmap import load_labelmap
from cnn_detector.manifest import MANIFEST_NAME, load_manifest, write_manifest
from cnn_detector.training.retinanet.model import RetinaNetConfig, build_retinanet, make_serving_function


def foreground_classes(labelmap_path: Path) -> int:
    """K for a labelmap whose ids are exactly 1..K (what a RetinaNet head can emit)."""
    labelmap = load_labelmap(labelmap_path)
    ids = sorted(labelmap.ids)
    if ids != list(range(1, len(ids) + 1)):
        raise ValueError(f"{labelmap_path}: ids must be 1..{len(ids)} without gaps to export a RetinaNet, got {ids}")
    return len(ids)


def restore_checkpoint(model, checkpoint: Path) -> None:
    import tensorflow as tf

    prefix = tf.train.latest_checkpoint(str(checkpoint)) if Path(checkpoint).is_dir() else str(checkpoint)
    if not prefix:
        raise FileNotFoundError(f"{checkpoint}: no checkpoint found")
    tf.train.Checkpoint(model=model).restore(prefix).expect_partial()


def export_retinanet(
    config_path: Path,
    labelmap_path: Path,
    output: Path,
    checkpoint: Path | None = None,
    pretrained: str | None = None,
    update_manifest: bool = False,
) -> VerifiedGraph:
    config = RetinaNetConfig.from_yaml(config_path)
    if pretrained is not None:
        config = dataclasses.replace(config, pretrained=None if pretrained.lower() == "none" else pretrained)
    if checkpoint is not None:
        config = dataclasses.replace(config, pretrained=None)  # the checkpoint holds every weight
    model = build_retinanet(config, foreground_classes(labelmap_path))
    if checkpoint is not None:
        restore_checkpoint(model, checkpoint)
    verified = write_frozen_graph(freeze_detection_function(make_serving_function(model, config)), output)
    if update_manifest:
        manifest_path = Path(output).parent / MANIFEST_NAME
        if not manifest_path.exists():
            raise ManifestError(f"{manifest_path}: --update-manifest needs a detector.yaml beside the graph")
        manifest = load_manifest(manifest_path)
        write_manifest(dataclasses.replace(manifest, sha256=verified.sha256, graph=Path(output).name), manifest_path)
    return verified
