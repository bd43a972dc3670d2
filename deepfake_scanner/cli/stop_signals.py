"""Ctrl-C, SIGTERM (a `timeout`, a container stop, a batch scheduler) and SIGHUP all stop a
scan the same way: the finished work is kept and the command exits with 128 + the signal."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

from deepfake_scanner.interrupts import in_native_section

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class ScanInterrupted(KeyboardInterrupt):
    """A stop signal arrived; ``exit_code`` is 128 + its number, as a shell reports it."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.exit_code = 128 + signum


class StopSignals:
    """While entered (in the main thread), a stop signal raises ScanInterrupted, except inside
    `protected()` blocks (writing a journal line, the final files) and native sections
    (deepfake_scanner.interrupts: code called back from C), where it waits for the next
    protected block to end, so that nothing is half-written and no signal is lost. Previous
    handlers come back on exit."""

    def __init__(self):
        self._previous: dict[int, object] = {}
        self._depth = 0
        self._pending: int | None = None

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                if signal.getsignal(signum) is signal.SIG_IGN:
                    continue  # nohup, or `cmd &` from a script: the user asked to ignore it
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _handle(self, signum, frame) -> None:
        # Kept even when raised: an exception raised inside a callback from native code is dropped,
        # and the next protected block then raises it.
        self._pending = self._pending or signum
        if self._depth or in_native_section():
            return
        raise ScanInterrupted(signum)

    @contextlib.contextmanager
    def protected(self, raise_pending: bool = True) -> Iterator[None]:
        """Signals wait until the block ends; then the first one is raised (unless
        ``raise_pending`` is False: the scan is ending anyway)."""
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
        if self._depth == 0 and self._pending is not None and raise_pending:
            signum, self._pending = self._pending, None
            raise ScanInterrupted(signum)
