"""Migrations from an empty database, on SQLite and PostgreSQL, and no drift from the models."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData, inspect, text

import identity.models
import keys.models
import licenses.models
import licenses.wallet.models  # its tables join licenses.models.metadata
import wallet_api.models
from tests.support.databases import postgres_schema_url
from wallet_api.db import make_engine
from wallet_api.migrate import alembic_config, current_revisions, head_revisions, upgrade

ALL_METADATA = [
    keys.models.metadata,
    identity.models.metadata,
    licenses.models.metadata,
    wallet_api.models.metadata,
]


def _model_tables() -> set[str]:
    return {name for metadata in ALL_METADATA for name in metadata.tables}


def test_upgrade_from_empty_creates_every_table(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        assert current_revisions(engine) == ()
        upgrade(engine)
        assert current_revisions(engine) == head_revisions()
        tables = set(inspect(engine).get_table_names())
        assert _model_tables() <= tables
        assert "alembic_version" in tables
    finally:
        engine.dispose()


def test_upgrade_is_idempotent(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        upgrade(engine)
        assert current_revisions(engine) == head_revisions()
    finally:
        engine.dispose()


def test_migrations_match_the_models(database_url: str) -> None:
    """Autogenerate finds nothing to do: every model change has its migration."""
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        combined = MetaData()
        for metadata in ALL_METADATA:
            for table in metadata.tables.values():
                table.to_metadata(combined)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diffs = compare_metadata(context, combined)
        assert diffs == []
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        engine.dispose()


def _credential_storage(engine: Engine) -> str:
    with engine.connect() as connection:
        storage: str = connection.execute(
            text(
                "SELECT attstorage::text FROM pg_attribute "
                "WHERE attrelid = 'licenses_license'::regclass AND attname = 'credential'"
            )
        ).scalar_one()
        return storage


def test_credentials_are_stored_without_a_compression_attempt() -> None:
    """licenses_0003 (PostgreSQL only; SQLite has no storage strategies): the credential
    is stored out of line as it is (EXTERNAL), instead of first trying pglz on base64
    text that never shrinks enough; its downgrade restores the default (EXTENDED)."""
    with postgres_schema_url() as url:
        engine = make_engine(url)
        try:
            upgrade(engine)
            assert _credential_storage(engine) == "e"
            with engine.begin() as connection:
                config = alembic_config()
                config.attributes["connection"] = connection
                command.downgrade(config, "licenses_0002")
            assert _credential_storage(engine) == "x"
            upgrade(engine)
            assert _credential_storage(engine) == "e"
            assert current_revisions(engine) == head_revisions()
        finally:
            engine.dispose()
