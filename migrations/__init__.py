"""Alembic migrations for every govwallet package (one history, all MetaData combined)."""

from pathlib import Path

SCRIPT_LOCATION = str(Path(__file__).parent)
