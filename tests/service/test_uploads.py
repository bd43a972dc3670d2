"""Uploads from strangers, at the level of the body: streamed to disk, capped, typed by content,
and nothing left behind when a client breaks off; the schema as the migrations make it."""

from __future__ import annotations

import asyncio

import pytest
from starlette.requests import Request

from deepfake_scanner.service.uploads import UploadError, display_name, receive_upload, sniff
from tests.service.conftest import FAKE_IMAGE, FAKE_VIDEO

BOUNDARY = "b0undary"


def _body(data: bytes, name: str = "f.jpg", caption: str | None = None) -> bytes:
    parts = b""
    if caption is not None:
        parts += f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="caption"\r\n\r\n{caption}\r\n'.encode()
    parts += f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'.encode()
    parts += b"Content-Type: application/octet-stream\r\n\r\n" + data + f"\r\n--{BOUNDARY}--\r\n".encode()
    return parts


def _request(chunks: list[bytes], then_disconnect: bool = False, pause: float = 0.0) -> Request:
    """A real Starlette request whose body arrives in ``chunks`` (each after ``pause`` seconds),
    then ends, or is cut by the client going away."""
    messages = [{"type": "http.request", "body": c, "more_body": True} for c in chunks]
    messages.append({"type": "http.disconnect"} if then_disconnect else {"type": "http.request", "body": b""})

    async def receive():
        await asyncio.sleep(pause)
        return messages.pop(0)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/scans",
        "headers": [(b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode())],
    }
    return Request(scope, receive)


def _chunks(body: bytes, size: int = 4096) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


def test_a_body_streams_to_disk_with_its_digest_type_and_fields(tmp_path):
    import hashlib

    data = FAKE_IMAGE.read_bytes()
    upload = asyncio.run(receive_upload(_request(_chunks(_body(data, "x.jpg", "hi"))), tmp_path, 10**7))
    assert upload.path.read_bytes() == data and upload.sha256 == hashlib.sha256(data).hexdigest()
    assert (upload.kind, upload.extension, upload.fields, upload.size) == (
        "image",
        ".jpg",
        {"caption": "hi"},
        len(data),
    )
    assert upload.path.parent == tmp_path


@pytest.mark.parametrize(
    "request_factory, status",
    [
        (lambda body: _request(_chunks(body)[:3], then_disconnect=True), 400),  # the client went away
        (lambda body: _request(_chunks(body, 1024), pause=0.02), 408),  # too slow for the deadline
        (lambda body: _request(_chunks(body)), 413),  # larger than the cap
    ],
)
def test_a_broken_slow_or_large_upload_is_refused_and_leaves_no_file(tmp_path, request_factory, status):
    body = _body(FAKE_VIDEO.read_bytes())
    cap = 10_000 if status == 413 else 10**8
    deadline = 0.2 if status == 408 else 60.0
    with pytest.raises(UploadError) as refused:
        asyncio.run(receive_upload(request_factory(body), tmp_path, cap, deadline_s=deadline))
    assert refused.value.status == status
    assert list(tmp_path.iterdir()) == []


def test_types_are_told_by_content():
    assert sniff(FAKE_IMAGE.read_bytes()[:16]) == ("image", ".jpg")
    assert sniff(FAKE_VIDEO.read_bytes()[:16]) == ("video", ".mp4")
    assert sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == ("image", ".webp")
    assert sniff(b"<html><script>") is None and sniff(b"MZ\x90\x00") is None


@pytest.mark.parametrize(
    "name, shown",
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\evil.jpg", "evil.jpg"),
        ("a\x00b\nc.jpg", "abc.jpg"),
        ("\u202egnp.exe", "gnp.exe"),
        ("", "upload"),
        ("x" * 500, "x" * 120),
    ],
)
def test_file_names_become_display_text(name, shown):
    assert display_name(name) == shown


def test_the_migrations_make_the_schema_the_models_describe(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from deepfake_scanner.service.database import migrate, open_engine
    from deepfake_scanner.service.models import Base

    engine = open_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    migrate(engine)
    migrate(engine)  # a second start changes nothing
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    engine.dispose()


def test_a_client_that_stops_sending_is_cut_off_at_the_deadline(tmp_path):
    async def receive():
        if not sent:
            sent.append(1)
            return {"type": "http.request", "body": _body(b"\xff\xd8\xff" + b"x" * 100)[:60], "more_body": True}
        await asyncio.sleep(3600)  # never another byte

    sent: list[int] = []
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/scans",
        "headers": [(b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode())],
    }
    with pytest.raises(UploadError) as refused:
        asyncio.run(receive_upload(Request(scope, receive), tmp_path, 10**6, deadline_s=0.3))
    assert refused.value.status == 408 and list(tmp_path.iterdir()) == []


def test_text_fields_are_capped_in_number_as_well_as_size(tmp_path):
    fields = "".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="f{k}"\r\n\r\nx\r\n' for k in range(20)
    ).encode()
    body = fields + _body(FAKE_IMAGE.read_bytes())
    with pytest.raises(UploadError) as refused:
        asyncio.run(receive_upload(_request(_chunks(body)), tmp_path, 10**7))
    assert refused.value.status == 413 and list(tmp_path.iterdir()) == []


def test_stills_the_scanner_cannot_read_are_refused_by_content():
    assert sniff(b"BM6\x00\x0c\x00\x00\x00\x00\x006\x00\x00\x00") == ("image", ".bmp")
    assert sniff(b"BMany text that starts so") is None
    assert sniff(b"\x00\x00\x00\x1cftypheic\x00\x00\x00\x00") is None
    assert sniff(b"\x00\x00\x00\x1cftypisom\x00\x00\x02\x00") == ("video", ".mp4")
