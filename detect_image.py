#!/usr/bin/env python3
"""Detect deepfake artifacts in still images; CSV rows on stdout, logs on stderr.

The command itself lives in deepfake_scanner/cli/detect_image.py (installed as `detect-image`);
this file keeps `python detect_image.py` working from a checkout."""

import sys

from deepfake_scanner.cli.detect_image import main

if __name__ == "__main__":
    sys.exit(main())
