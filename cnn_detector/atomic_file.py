"""Write files so a reader sees the old content or the new, never half of it."""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    with _UMASK_LOCK:  # os.umask can only be read by setting it; set it straight back
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def new_file_mode() -> int:
    """The mode an ordinary new file gets under the user's umask (0o666 & ~umask)."""
    return 0o666 & ~current_umask()


def new_folder_mode() -> int:
    """The mode an ordinary new folder gets under the user's umask (0o777 & ~umask)."""
    return 0o777 & ~current_umask()


def sync_folder(path: Path) -> None:
    """fsync the folder holding ``path``, so that a file created or renamed there survives a
    power cut (the file's own fsync does not cover its name)."""
    fd = os.open(Path(path).parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temporary_sibling(path: Path, suffix: str = ".tmp") -> tuple[int, str]:
    """(fd, name) of a new hidden file beside ``path``, with the mode a new file would get
    (mkstemp makes 0600 files, which a rename would carry onto the result)."""
    path = Path(path)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.chmod(name, path.stat().st_mode & 0o777 if path.exists() else new_file_mode())
    return fd, name


@contextlib.contextmanager
def atomic_writer(
    path: Path,
    mode: str = "w",
    encoding: str | None = "utf-8",
    newline: str | None = None,
    errors: str | None = None,
) -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success fsync and rename it over ``path``.

    On any exception the temporary file is removed and ``path`` is left as it was.
    ``errors="surrogateescape"`` writes file names that are not UTF-8 with their own bytes.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = temporary_sibling(path)
    binary = "b" in mode
    text = {} if binary else {"encoding": encoding, "newline": newline, "errors": errors}
    try:
        with os.fdopen(fd, mode, **text) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
        sync_folder(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    with atomic_writer(path, "w") as handle:
        handle.write(text)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_writer(path, "wb") as handle:
        handle.write(data)
