#!/usr/bin/env python3
"""Annotate a video: boxes with 'detector:label score' on each face, and a running fake
probability from the judge; also writes the per-frame detections as CSV.

The command itself lives in deepfake_scanner/cli/detect_video.py (installed as `detect-video`);
this file keeps `python detect_video.py` working from a checkout."""

import sys

from deepfake_scanner.cli.detect_video import main

if __name__ == "__main__":
    sys.exit(main())
