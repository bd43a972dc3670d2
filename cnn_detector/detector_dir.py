"""Write a complete detector directory (graph, labelmap, detector.yaml) in one call.

Used by the training and export tools, the contributor scaffolding and the tests, so that
there is one way a detector directory comes to exist.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cnn_detector.atomic_file import atomic_write_bytes, atomic_write_text
from cnn_detector.labelmap import format_labelmap
from cnn_detector.manifest import DEFAULT_GRAPH_NAME, MANIFEST_NAME, parse_manifest, write_manifest

LOCAL_LABELMAP = "labelmap.pbtxt"


def write_detector_directory(
    directory: Path,
    graph: bytes,
    classes: Sequence[tuple[int, str, str]],
    **manifest_fields: Any,
) -> Path:
    """Create ``directory`` with the graph, a labelmap.pbtxt of ``classes`` (id, name, display
    name) and a detector.yaml whose sha256 matches the graph. ``manifest_fields`` override the
    defaults (name = directory name, full_frame, 128x128, min_score 0.5)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    graph_name = manifest_fields.get("graph", DEFAULT_GRAPH_NAME)
    atomic_write_bytes(directory / graph_name, graph)
    if "labelmap" not in manifest_fields:
        atomic_write_text(directory / LOCAL_LABELMAP, format_labelmap(list(classes)))
    fields = {
        "name": directory.name,
        "version": "0.1.0",
        "author": "unknown",
        "licence": "Apache-2.0",
        "algorithms": [name for _, name, _ in classes],
        "input": "full_frame",
        "input_size": [128, 128],
        "min_score": 0.5,
        "labelmap": LOCAL_LABELMAP,
        "graph": graph_name,
        "sha256": hashlib.sha256(graph).hexdigest(),
        "trained_on": ["not trained"],
    }
    fields.update(manifest_fields)
    write_manifest(parse_manifest(fields, directory / MANIFEST_NAME), directory / MANIFEST_NAME)
    return directory
