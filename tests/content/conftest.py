"""Indexing tests that hold for every backend take ``database_url`` (SQLite, then PostgreSQL)."""

from tests.db.conftest import database_url  # noqa: F401  (the fixture)
from tests.postgres import postgres_url  # noqa: F401  (the session fixture)
