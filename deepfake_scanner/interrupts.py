"""Sections of the main thread where a stop signal must not raise: Python code that native code
calls back (C2PA's reader seeks and reads the file through Python callbacks). An exception
raised there is printed and dropped by ctypes, so the signal would be lost and the scan would go
on. The command line's StopSignals (deepfake_scanner/cli/stop_signals.py) keeps a signal that
arrives in one, and raises it once the file being scanned is recorded."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

_depth = 0


@contextlib.contextmanager
def native_section() -> Iterator[None]:
    """Mark the enclosed code as called from native code (main thread only; elsewhere no signal
    handler runs)."""
    global _depth
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1


def in_native_section() -> bool:
    return _depth > 0
