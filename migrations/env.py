"""Alembic environment: combines the MetaData of every domain package."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import identity.models
import identity.oidc.models
import keys.models
import licenses.archive.models
import licenses.audit.models
import licenses.clerks
import licenses.models
import licenses.recognition.models
import licenses.sharing.models
import licenses.wallet.models
import wallet_api.models

target_metadata = [
    keys.models.metadata,
    identity.models.metadata,
    licenses.models.metadata,
    wallet_api.models.metadata,
]


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from wallet_api.db import make_engine

    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL given to Alembic")
    engine = make_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline SQL generation is not supported; run `govwallet db upgrade`")
run_migrations_online()
