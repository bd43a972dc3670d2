"""Read a small UTF-8 text file (a manifest, a labelmap) with a size limit, turning every
failure into the caller's error type with the file's name and the reason."""

from __future__ import annotations

from pathlib import Path


def read_small_text(path: Path, max_bytes: int, error: type[Exception], what: str, missing: str) -> str:
    """The file's text. ``what`` names it in messages ("labelmap"); ``missing`` is the
    message when it does not exist."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise error(f"{path}: {what} is {size} bytes; the limit is {max_bytes}")
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: {missing}") from None
    except UnicodeDecodeError as err:
        raise error(f"{path}: {what} is not UTF-8 text ({err.reason} at byte {err.start})") from None
    except OSError as err:
        raise error(f"{path}: cannot read {what}: {err.strerror}") from None
