"""Persistence: tables, the engine for SQLite or PostgreSQL, repositories and migrations."""

from tutela.store.db import Database, normalise_url

__all__ = ["Database", "normalise_url"]
