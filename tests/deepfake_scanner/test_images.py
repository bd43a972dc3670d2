import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnn_detector.errors import MediaError
from cnn_detector.registry import PROJECT_ROOT
from deepfake_scanner.images import iter_input_files, read_image


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims width x height pixels, with almost no data (decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    )


@pytest.fixture
def good_jpeg(tmp_path):
    path = tmp_path / "good.jpg"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)).save(path, quality=90)
    return path


def test_reads_rgb(good_jpeg, tmp_path):
    image = read_image(good_jpeg)
    assert image.shape == (40, 60, 3) and image.dtype == np.uint8
    gray = tmp_path / "gray.png"
    Image.fromarray(np.zeros((10, 12), np.uint8)).save(gray)
    assert read_image(gray).shape == (10, 12, 3)
    deep = tmp_path / "deep.png"
    Image.fromarray(np.full((8, 8), 4000, np.uint16)).save(deep)
    assert read_image(deep).max() == 255


def test_exif_orientation_is_applied(tmp_path):
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    Image.fromarray(np.zeros((20, 50, 3), np.uint8)).save(path, exif=exif)
    assert read_image(path).shape == (50, 20, 3)


def test_bad_inputs_have_clear_reasons(tmp_path, good_jpeg):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.jpg"
    text.write_text("these are not pixels")
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(good_jpeg.read_bytes()[:300])
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header_only(60000, 60000))
    cases = {
        tmp_path / "missing.jpg": "no such file",
        empty: "file is empty",
        text: "not a recognised image",
        truncated: "truncated or corrupt",
        bomb: "3600 megapixels",
    }
    small_bomb = tmp_path / "small_bomb.png"
    small_bomb.write_bytes(png_header_only(9000, 9000))
    cases[small_bomb] = "9000x9000"
    for path, reason in cases.items():
        with pytest.raises(MediaError) as err:
            read_image(path)
        assert str(path) in str(err.value) and reason in str(err.value)


def test_unreadable_file(good_jpeg):
    """A file without read permission. As root (CI) the check runs in a child process that
    imports the project as root, then drops to user nobody before reading: it passes wherever
    the checkout and the virtual environment sit, readable by nobody or not."""
    folder = Path(tempfile.mkdtemp(prefix="unreadable-"))
    try:
        folder.chmod(0o755)
        target = folder / "secret.jpg"
        shutil.copy(good_jpeg, target)
        target.chmod(0)
        if os.geteuid() != 0:
            with pytest.raises(MediaError, match="permission denied"):
                read_image(target)
            return
        code = (
            "import os, pwd, sys\n"
            "from cnn_detector.errors import MediaError\n"
            "from deepfake_scanner.images import read_image\n"
            "import cv2, numpy, PIL.Image, PIL.ImageOps  # what read_image imports lazily, loaded before dropping\n"
            "nobody = pwd.getpwnam('nobody')\n"
            "os.setgroups([]); os.setgid(nobody.pw_gid); os.setuid(nobody.pw_uid)\n"
            "try: read_image(sys.argv[1])\n"
            "except MediaError as e: print(e)"
        )
        result = subprocess.run(
            [sys.executable, "-c", code, str(target)],
            capture_output=True,
            text=True,
            cwd=PROJECT_ROOT,
            env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
            timeout=60,
        )
        assert f"{target}: permission denied" in result.stdout, result.stderr
    finally:
        shutil.rmtree(folder)


def test_iter_input_files(tmp_path, good_jpeg):
    nested = tmp_path / "a dir" / "sub"
    nested.mkdir(parents=True)
    (nested / "visage été.PNG").write_bytes(b"x")
    (nested / "notes.txt").write_text("skip me")
    items = list(iter_input_files([tmp_path / "a dir", good_jpeg, tmp_path / "nope.jpg", nested / "notes.txt"]))
    assert [i.path.name for i in items] == ["visage été.PNG", "good.jpg", "nope.jpg", "notes.txt"]
    assert [bool(i.error) for i in items] == [False, False, True, True]
    assert "unsupported extension '.txt'" in items[3].error
