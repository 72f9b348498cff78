"""The govwallet FastAPI application, its settings, database wiring and CLI."""
