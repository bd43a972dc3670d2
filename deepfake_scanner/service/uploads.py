"""Uploads from strangers: a multipart body streamed to a temporary file (never whole in memory),
its size capped while it arrives, its type told by its first bytes rather than its name, and
the name it came with kept only as display text.

`receive_upload` raises `UploadError` with the HTTP status to answer (400, 408, 413, 415); the
temporary file is removed on every failure, so a refused or broken upload leaves nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

# Magic numbers of what the scanner reads: (offset, bytes, kind, extension).
_SIGNATURES = (
    (0, b"\xff\xd8\xff", "image", ".jpg"),
    (0, b"\x89PNG\r\n\x1a\n", "image", ".png"),
    (0, b"GIF87a", "image", ".gif"),
    (0, b"GIF89a", "image", ".gif"),
    (4, b"ftyp", "video", ".mp4"),
    (0, b"\x1a\x45\xdf\xa3", "video", ".mkv"),
)
MAX_FIELD_BYTES = 10_000  # a caption or reason
MAX_FIELDS = 8  # text fields per upload
STILL_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis")
MAX_NAME_CHARS = 120


class UploadError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def sniff(head: bytes) -> tuple[str, str] | None:
    """(kind, extension) of a file from its first bytes, or None when the scanner cannot read it."""
    if head[:2] == b"BM" and len(head) >= 10 and head[6:10] == b"\0\0\0\0":  # BMP: reserved bytes zero
        return "image", ".bmp"
    if head[4:8] == b"ftyp" and head[8:12] in STILL_BRANDS:  # HEIC / AVIF stills: not read by the scanner
        return None
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image", ".webp"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "video", ".avi"
    for offset, magic, kind, extension in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return kind, extension
    return None


def display_name(name: str | None) -> str:
    """A file name as harmless display text: the last path part only, control characters out,
    at most MAX_NAME_CHARS characters; never used as a path."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in unicodedata.normalize("NFC", name) if unicodedata.category(c)[0] != "C")
    return name.strip()[:MAX_NAME_CHARS] or "upload"


@dataclass
class Upload:
    """The file part of a multipart body, on disk, and its text fields."""

    path: Path
    filename: str
    size: int
    sha256: str
    kind: str
    extension: str
    fields: dict[str, str] = field(default_factory=dict)

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


class _Collector:
    """python-multipart callbacks: the one file part to disk, text fields to memory (capped)."""

    def __init__(self, handle, max_bytes: int, file_field: str):
        self.handle, self.max_bytes, self.file_field = handle, max_bytes, file_field
        self.digest = hashlib.sha256()
        self.size = 0
        self.head = b""
        self.filename: str | None = None
        self.fields: dict[str, str] = {}
        self._header_name = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._name: str | None = None
        self._is_file = False
        self._text = bytearray()
        self.files = 0

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self.part_begin,
            "on_part_data": self.part_data,
            "on_part_end": self.part_end,
            "on_header_field": lambda data, start, end: self._add(data, start, end, "_header_name"),
            "on_header_value": lambda data, start, end: self._add(data, start, end, "_header_value"),
            "on_header_end": self.header_end,
            "on_headers_finished": self.headers_finished,
        }

    def _add(self, data: bytes, start: int, end: int, attribute: str) -> None:
        setattr(self, attribute, getattr(self, attribute) + data[start:end])

    def part_begin(self) -> None:
        self._headers, self._name, self._is_file, self._text = {}, None, False, bytearray()

    def header_end(self) -> None:
        self._headers[self._header_name.strip().lower()] = self._header_value.strip()
        self._header_name, self._header_value = b"", b""

    def headers_finished(self) -> None:
        from python_multipart.multipart import parse_options_header

        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        self._is_file = b"filename" in options or self._name == self.file_field
        if self._is_file:
            self.files += 1
            if self.files > 1 or self._name != self.file_field:
                raise UploadError(400, f"one file, in the field {self.file_field!r}, per upload")
            self.filename = options.get(b"filename", b"").decode("utf-8", "replace")

    def part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._is_file:
            self.size += len(chunk)
            if self.size > self.max_bytes:
                raise UploadError(413, f"the file is larger than the limit of {self.max_bytes} bytes")
            if len(self.head) < 16:
                self.head += chunk[: 16 - len(self.head)]
            self.digest.update(chunk)
            self.handle.write(chunk)
        else:
            self._text += chunk
            if len(self._text) > MAX_FIELD_BYTES:
                raise UploadError(413, f"the field {self._name!r} is longer than {MAX_FIELD_BYTES} bytes")

    def part_end(self) -> None:
        if not self._is_file and self._name:
            if len(self.fields) >= MAX_FIELDS:
                raise UploadError(413, f"more than {MAX_FIELDS} text fields")
            self.fields[self._name] = self._text.decode("utf-8", "replace")


async def receive_upload(
    request, folder: Path, max_bytes: int, file_field: str = "file", deadline_s: float = 300.0
) -> Upload:
    """The multipart body of ``request`` streamed into a temporary file in ``folder``."""
    from python_multipart import MultipartParser
    from python_multipart.multipart import parse_options_header
    from starlette.requests import ClientDisconnect

    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or not options.get(b"boundary"):
        raise UploadError(400, "send the media as multipart/form-data")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + 2 * MAX_FIELD_BYTES + 65_536:
        raise UploadError(413, f"the upload is larger than the limit of {max_bytes} bytes")
    folder.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(prefix=".upload-", dir=folder)
    path = Path(name)
    deadline = time.monotonic() + deadline_s
    done = False
    try:
        with os.fdopen(descriptor, "wb") as handle:
            collector = _Collector(handle, max_bytes, file_field)
            parser = MultipartParser(options[b"boundary"], collector.callbacks())
            chunks = request.stream().__aiter__()
            while True:
                try:  # a client that stops sending is cut off at the deadline, not waited for
                    chunk = await asyncio.wait_for(chunks.__anext__(), max(0.0, deadline - time.monotonic()))
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    raise UploadError(408, f"the upload took longer than {deadline_s:.0f} s") from None
                if time.monotonic() > deadline:
                    raise UploadError(408, f"the upload took longer than {deadline_s:.0f} s")
                parser.write(chunk)
            parser.finalize()
        if collector.files == 0 or collector.size == 0:
            raise UploadError(400, f"no file in the field {file_field!r}")
        sniffed = sniff(collector.head)
        if sniffed is None:
            raise UploadError(415, "not an image or video the scanner reads (told by its content, not its name)")
        upload = Upload(
            path,
            display_name(collector.filename),
            collector.size,
            collector.digest.hexdigest(),
            *sniffed,
            fields=collector.fields,
        )
        done = True
        return upload
    except ClientDisconnect:
        raise UploadError(400, "the client went away before the upload ended") from None
    except UploadError:
        raise
    except Exception as err:  # a malformed body: python-multipart's own errors
        raise UploadError(400, f"malformed multipart body ({type(err).__name__})") from None
    finally:  # also when the handler is cancelled (shutdown): nothing half-written stays
        if not done:
            path.unlink(missing_ok=True)


def clear_incoming(folder: Path) -> int:
    """Remove what uploads cut off by a stopped process left in ``folder``; how many."""
    removed = 0
    for leftover in Path(folder).glob(".upload-*") if Path(folder).is_dir() else ():
        leftover.unlink(missing_ok=True)
        removed += 1
    return removed
