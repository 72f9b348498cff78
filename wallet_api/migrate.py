"""Apply Alembic migrations programmatically (``govwallet db upgrade``, ``govwallet serve``)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from migrations import SCRIPT_LOCATION


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if engine is not None:
        config.set_main_option(
            "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
        )
    return config


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Apply migrations; ``heads`` = the newest revision of every package's branch."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revisions(engine: Engine) -> tuple[str, ...]:
    with engine.connect() as connection:
        return tuple(sorted(MigrationContext.configure(connection).get_current_heads()))


def head_revisions() -> tuple[str, ...]:
    """The revisions the version table holds when up to date.

    A head that another branch ``depends_on`` (``oidc_0001`` depends on
    ``identity_0001``) is implied by the dependent revision, so Alembic does not keep
    it in ``alembic_version``; it is left out here too.
    """
    script = ScriptDirectory.from_config(alembic_config())
    heads = set(script.get_heads())
    implied: set[str] = set()
    for head in heads:
        for revision in script.iterate_revisions(head, "base"):
            if revision is not None:
                implied.update(revision._resolved_dependencies or ())
    return tuple(sorted(heads - implied))
