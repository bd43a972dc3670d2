"""Alembic's environment for the service: the connection comes from `database.migrate`
(config.attributes["connection"]), or from sqlalchemy.url when run by the alembic command."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from deepfake_scanner.service.models import Base

config = context.config
connection = config.attributes.get("connection")


def run(connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    run(connection)
else:
    engine = engine_from_config(
        config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with engine.connect() as opened:
        run(opened)
