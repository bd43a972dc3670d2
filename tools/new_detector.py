#!/usr/bin/env python3
"""Scaffold a new detector directory: detector.yaml with every field explained, a
MODEL_CARD.md template, samples/, and its labelmap. With --graph, the graph is copied in and
its sha256 filled in; check the result with tools/check_detector.py."""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

from cnn_detector.atomic_file import atomic_write_text
from cnn_detector.labelmap import format_labelmap
from cnn_detector.manifest import DEFAULT_GRAPH_NAME, NAME_PATTERN
from cnn_detector.registry import DEFAULT_DETECTORS_ROOT
from deepfake_scanner.cli.common import EXIT_OK, EXIT_USAGE, ScannerArgumentParser, log, setup_logging

TEMPLATE = """# detector.yaml: what the scanner needs to know to run this detector safely.
# Unknown fields are refused, so a typo is caught rather than ignored.

# Unique name: a-z, 0-9 and '_', starting with a letter. Two detectors with one name is an error.
name: {name}
# Your version of this detector; bump it when the graph changes.
version: 0.1.0
author: {author}
# Licence of the graph and of this directory's files.
licence: Apache-2.0
# Generation methods whose artifacts it boxes (free text; shown by --list-detectors).
algorithms: [{classes}]
# face_crop: it sees each face found (square crop, face_margin added on each side);
# full_frame: it sees the whole frame; face_clip: clip_frames consecutive frames of one face
# ([N, T, H, W, 3]); face_clip_audio: the same and audio_tensor float32 [N, audio_samples]
# at 16 kHz (see the README's "Clip detectors").
input: {input}
# Height and width the frame or crop is resized to before image_tensor (uint8 RGB).
input_size: [{size}, {size}]
# Detections below this score are neither reported nor read by the judge. Calibrate it: the
# score that 1% of real faces of your validation data reach (tools/calibrate_detector.py).
min_score: 0.3
# Optional: the median score on your validation fakes; the judge reads your scores as
# 0 at min_score and 0.5 at this score, so they weigh like every other detector's.
# typical_fake_score: 0.6
# The StringIntLabelMap .pbtxt (ids 1..K, unique names), relative to this directory.
labelmap: {labelmap}
# The frozen graph (Object Detection API tensor names), in this directory.
graph: {graph}
# sha256 of the graph file: the scanner refuses a graph whose bytes do not match.
sha256: {sha256}
# What it was trained on (folders, data sets); the model card gives the details.
trained_on: [describe your training data]
# face_crop only: margin added around the face box, as a fraction of its size.
face_margin: 0.3
description: "{name}: one line on what it finds."
"""

CARD = """# {name}

What it detects, in one paragraph.

## Training data
Sources, licences, counts of real and fake images, how train / validation / test were split
(by person or source file, never by crop).

## Method
Architecture, input size, initialisation, training steps and time, the command that retrains it.

## Held-out numbers
Image-level AUC, recall at 1% and 0.1% false-positive rate, per source and per method, on data not
used for training, next to the face-size-only baseline.

## Known blind spots
Methods, qualities and populations it misses or fires on wrongly.
"""


def main(argv: list[str] | None = None) -> int:
    parser = ScannerArgumentParser(
        prog="new_detector.py",
        description=__doc__,
        epilog="examples:\n  python tools/new_detector.py lipsync --classes mouth_region --input face_crop\n"
        "  python tools/new_detector.py my_gan --graph export/frozen_inference_graph.pb --into ~/detectors",
    )
    parser.add_argument("name")
    parser.add_argument("--classes", default=None, help="comma-separated class names (default: NAME)")
    parser.add_argument("--input", choices=("face_crop", "full_frame"), default="face_crop")
    parser.add_argument("--input-size", type=int, default=224)
    parser.add_argument("--graph", type=Path, help="frozen graph to copy in (its sha256 is filled in)")
    parser.add_argument("--author", default="your name <email>")
    parser.add_argument("--into", type=Path, default=DEFAULT_DETECTORS_ROOT, help="detectors folder")
    args = parser.parse_args(argv)
    setup_logging()
    if not NAME_PATTERN.match(args.name):
        log.error("name must be 2-64 characters of a-z, 0-9 and '_', starting with a letter, got %r", args.name)
        return EXIT_USAGE
    directory = args.into / args.name
    if directory.exists():
        log.error("%s already exists", directory)
        return EXIT_USAGE
    classes = [c.strip() for c in (args.classes or args.name).split(",") if c.strip()]
    in_repository = args.into.resolve() == DEFAULT_DETECTORS_ROOT.resolve()
    labelmap_file = (
        (args.into.parent / "labelmaps" / f"{args.name}.pbtxt") if in_repository else (directory / "labelmap.pbtxt")
    )
    labelmap_ref = f"../../labelmaps/{args.name}.pbtxt" if in_repository else "labelmap.pbtxt"
    (directory / "samples").mkdir(parents=True)
    sha256 = "0" * 64
    if args.graph:
        shutil.copyfile(args.graph, directory / DEFAULT_GRAPH_NAME)
        sha256 = hashlib.sha256((directory / DEFAULT_GRAPH_NAME).read_bytes()).hexdigest()
    labelmap_file.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(labelmap_file, format_labelmap([(i + 1, c, c) for i, c in enumerate(classes)]))
    atomic_write_text(
        directory / "detector.yaml",
        TEMPLATE.format(
            name=args.name,
            author=args.author,
            classes=", ".join(classes),
            input=args.input,
            size=args.input_size,
            labelmap=labelmap_ref,
            graph=DEFAULT_GRAPH_NAME,
            sha256=sha256,
        ),
    )
    atomic_write_text(directory / "MODEL_CARD.md", CARD.format(name=args.name))
    log.info(
        "created %s and %s; next: add samples/ images, then python tools/refresh_samples.py %s and "
        "python tools/check_detector.py %s",
        directory,
        labelmap_file,
        directory,
        directory,
    )
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
