"""Read still images defensively: every failure is a `MediaError` naming the file and why.

Inputs are untrusted: empty files, text named .jpg, truncated data, decompression bombs
(a tiny file whose header claims 60000x60000 pixels) and unreadable files are refused
before or while decoding, never by running out of memory.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnn_detector.errors import MediaError

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".pgm", ".ppm"})
DEFAULT_MAX_PIXELS = 64_000_000


@dataclass(frozen=True, slots=True)
class InputItem:
    """One file to scan, or a path that could not even be listed (error set)."""

    path: Path
    error: str = ""


def iter_input_files(
    inputs: Sequence[Path | str], extensions: frozenset[str] = IMAGE_EXTENSIONS
) -> Iterator[InputItem]:
    """Files named directly, then files under folders (recursively, sorted, by extension).

    A missing path or a directly named file with an unsupported extension yields an
    InputItem with ``error`` set, so the caller reports it and goes on.
    """
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            for folder, dirs, files in os.walk(path, onerror=None):
                dirs.sort()
                for name in sorted(files):
                    candidate = Path(folder) / name
                    if candidate.suffix.lower() in extensions:
                        yield InputItem(candidate)
        elif path.exists() or path.is_symlink():
            if path.suffix.lower() in extensions:
                yield InputItem(path)
            else:
                allowed = ", ".join(sorted(e.lstrip(".") for e in extensions))
                yield InputItem(path, f"unsupported extension {path.suffix or '(none)'!r}; expected one of {allowed}")
        else:
            yield InputItem(path, "no such file or directory")


def _to_rgb_array(image) -> np.ndarray:
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float32)
        top = float(array.max()) or 1.0
        gray = np.clip(array * (255.0 / top), 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def check_readable_file(path: Path) -> None:
    """MediaError unless ``path`` is a non-empty regular file this process may read."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise MediaError(f"{path}: no such file") from None
    except OSError as err:
        raise MediaError(f"{path}: cannot read: {err.strerror}") from None
    if not path.is_file():
        raise MediaError(f"{path}: not a regular file")
    if size == 0:
        raise MediaError(f"{path}: file is empty (0 bytes)")
    try:
        with open(path, "rb") as handle:
            handle.read(1)
    except PermissionError:
        raise MediaError(f"{path}: permission denied") from None


def read_image(path: Path | str, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode an image file to an RGB uint8 array [H, W, 3], EXIF orientation applied.

    The first frame of an animated file is used. Raises MediaError for anything else.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    check_readable_file(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise MediaError(
                        f"{path}: image is {width}x{height} ({width * height / 1e6:.0f} megapixels); "
                        f"the limit is {max_pixels / 1e6:.0f} megapixels"
                    )
                if width < 1 or height < 1:
                    raise MediaError(f"{path}: image has no pixels ({width}x{height})")
                image.load()
                image = ImageOps.exif_transpose(image)
                return _to_rgb_array(image)
    except MediaError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        claimed = re.search(r"\((\d+) pixels\)", str(err))
        size_text = f"{int(claimed.group(1)) / 1e6:.0f} megapixels" if claimed else "too many pixels"
        raise MediaError(
            f"{path}: refused as a decompression bomb: the header claims {size_text}; "
            f"the limit is {max_pixels / 1e6:.0f} megapixels"
        ) from None
    except PermissionError:
        raise MediaError(f"{path}: permission denied") from None
    except UnidentifiedImageError:
        raise MediaError(f"{path}: not a recognised image (content is not JPEG, PNG, BMP, WebP, TIFF or PNM)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        raise MediaError(f"{path}: truncated or corrupt image data ({err})") from None
