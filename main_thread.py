#!/usr/bin/env python3
"""Scan images and videos for deepfakes: frames -> faces -> every detector at once (threads)
-> RNN judge -> one verdict per file (CSV or JSON lines).

The command itself lives in deepfake_scanner/cli/main_thread.py (installed as `main-thread`);
this file keeps `python main_thread.py` working from a checkout."""

import sys

from deepfake_scanner.cli.main_thread import main

if __name__ == "__main__":
    sys.exit(main())
