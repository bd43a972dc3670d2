#!/usr/bin/env python3
"""Build a Model Garden RetinaNet (MobileNetV2 backbone) from a config, optionally restore a
training checkpoint, and export a frozen graph with the Object Detection API tensor names."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from cnn_detector.errors import DeepfakeScannerError
from cnn_detector.training.retinanet.export import export_retinanet
from deepfake_scanner.cli.common import EXIT_OK, EXIT_USAGE, ScannerArgumentParser, log, setup_logging

EXAMPLES = """examples:
  # untrained graph from a config (for tests and benchmarks)
  python tools/export_frozen_graph.py --config configs/retinanet_mobilenet.yaml \\
      --labelmap labelmaps/gan_face.pbtxt --output /tmp/gan_face.pb
  # a trained detector: restore the checkpoint and update its detector.yaml sha256
  python tools/export_frozen_graph.py --config runs/gan_face/config.yaml \\
      --labelmap labelmaps/gan_face.pbtxt --checkpoint runs/gan_face/ckpt \\
      --output frozen_models/gan_face/frozen_inference_graph.pb --update-manifest
"""


def main(argv: list[str] | None = None) -> int:
    parser = ScannerArgumentParser(prog="export_frozen_graph.py", description=__doc__, epilog=EXAMPLES)
    parser.add_argument("--config", type=Path, required=True, help="YAML with a 'model:' section (RetinaNetConfig)")
    parser.add_argument("--labelmap", type=Path, required=True, help="StringIntLabelMap .pbtxt (ids 1..K)")
    parser.add_argument("--checkpoint", type=Path, help="tf.train.Checkpoint prefix or directory to restore")
    parser.add_argument("--output", type=Path, required=True, help="frozen graph .pb to write")
    parser.add_argument("--pretrained", help="override the config's ImageNet weights (.h5), or 'none'")
    parser.add_argument(
        "--update-manifest", action="store_true", help="write the new sha256 into detector.yaml beside --output"
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    started = time.perf_counter()
    try:
        result = export_retinanet(
            args.config, args.labelmap, args.output, args.checkpoint, args.pretrained, args.update_manifest
        )
    except (DeepfakeScannerError, ValueError, FileNotFoundError) as err:
        log.error("%s", err)
        return EXIT_USAGE
    log.info(
        "wrote %s: %.1f MB, sha256 %s, %d op types, %.1f s",
        args.output,
        result.size_bytes / 1e6,
        result.sha256,
        len(result.op_types),
        time.perf_counter() - started,
    )
    print(result.sha256)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
