#!/usr/bin/env python3
"""The scanner as an HTTP service with a web page (FastAPI, uvicorn; API docs at /docs).

The command itself lives in deepfake_scanner/cli/serve.py (installed as `deepfake-serve`);
this file keeps `python serve.py` working from a checkout."""

import sys

from deepfake_scanner.cli.serve import main

if __name__ == "__main__":
    sys.exit(main())
