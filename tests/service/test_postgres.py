"""The service on PostgreSQL: the same migrations make the same schema, and scans, posts,
reports and moderation work through the API (a private server started for this module)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.service.conftest import FAKE_IMAGE, make_service, upload, wait_for

BINARIES = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
if not BINARIES:
    if os.environ.get("REQUIRE_POSTGRES") == "1":
        raise RuntimeError(
            "PostgreSQL's server binaries are missing, and REQUIRE_POSTGRES=1 (./run.sh test installs them as root)"
        )
    pytest.skip(
        "PostgreSQL's server is not installed (./run.sh test installs it where it can)", allow_module_level=True
    )


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run as the postgres user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture(scope="module")
def postgres_url():
    bindir = Path(BINARIES[-1])
    folder = Path(tempfile.mkdtemp(prefix="scanner-pg-"))
    folder.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    data, log = folder / "data", folder / "server.log"
    subprocess.run(
        _as_postgres([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "scanner"]),
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start"]),
        check=True,
        capture_output=True,
    )
    try:
        subprocess.run(
            _as_postgres([str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "scanner", "scanner"]),
            check=True,
            capture_output=True,
        )
        yield f"postgresql://scanner@127.0.0.1:{port}/scanner"
    finally:
        subprocess.run(
            _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]), capture_output=True
        )
        shutil.rmtree(folder, ignore_errors=True)


def test_the_migrations_make_the_models_schema_on_postgresql(postgres_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from deepfake_scanner.service.database import migrate, open_engine
    from deepfake_scanner.service.models import Base

    engine = open_engine(postgres_url)
    migrate(engine)
    migrate(engine)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    engine.dispose()


def test_the_service_runs_on_postgresql(postgres_url, tmp_path, scanner):
    from sqlalchemy import create_engine, text

    from deepfake_scanner.service.app import add_moderator

    with make_service(tmp_path / "data", scanner, db_url=postgres_url) as (client, app):
        post = upload(client, FAKE_IMAGE, "/api/posts", caption="'); DROP TABLE scans; --").json()
        scan = wait_for(client, post["scan_id"])
        assert scan["status"] == "done" and client.get(f"/api/posts/{post['id']}").json()["tags"] == ["#Deepfake"]
        report = client.post(f"/api/posts/{post['id']}/reports", json={"reason": "fake"}).json()
        token = add_moderator(app.state.sessions, "carol")
        decided = client.post(
            f"/api/reports/{report['id']}/decision",
            json={"decision": "real"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert decided.status_code == 200
    assert not (tmp_path / "data" / "service.sqlite3").exists()  # nothing went to the SQLite default
    engine = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT caption, tags FROM posts")).all() == [("'); DROP TABLE scans; --", "")]
        assert connection.execute(text("SELECT count(*) FROM scans WHERE status = 'done'")).scalar() >= 1
    engine.dispose()
