"""Output paths checked before a scan starts: an output never replaces an input or another
output, and a path that cannot be written is refused at once, not after hours of scanning."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from cnn_detector.errors import DeepfakeScannerError


class OutputPathError(DeepfakeScannerError):
    """An output option names a path the scan must not or cannot write."""


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _writable_folder(option: str, path: Path) -> None:
    """The nearest existing ancestor of ``path`` must be a folder we may write into."""
    folder = path.parent
    while not folder.exists() and not folder.is_symlink() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise OutputPathError(f"{option} {path}: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputPathError(f"{option} {path}: no permission to write in {folder}")


def check_output_paths(
    outputs: Mapping[str, Path | None], inputs: Iterable[Path], reserved: Mapping[str, Path] | None = None
) -> None:
    """Raise OutputPathError unless every given output (option name -> path) can be written
    without replacing an input file, another output or a ``reserved`` file (what -> path,
    such as the scan's own journal).

    ``inputs`` are the files the scan will read (symbolic links and hard links to them count)."""
    given = {option: Path(path) for option, path in outputs.items() if path is not None}
    input_ids = {identity for identity in map(_identity, inputs) if identity is not None}
    seen: dict[str, str] = {os.path.realpath(path): what for what, path in (reserved or {}).items()}
    for option, path in given.items():
        if path.is_dir():
            raise OutputPathError(f"{option} {path}: is a folder; name a file to write")
        if path.exists() and not path.is_file():
            raise OutputPathError(f"{option} {path}: is not a regular file (a device, FIFO or socket)")
        identity = _identity(path)
        if identity is not None and identity in input_ids:
            raise OutputPathError(f"{option} {path}: is one of the inputs; it would be overwritten")
        _writable_folder(option, path)
        key = os.path.realpath(path)
        if key in seen:
            raise OutputPathError(f"{seen[key]} and {option} name the same file {path}")
        seen[key] = option
