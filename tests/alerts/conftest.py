"""The alert tests run on each backend: the ``db`` fixture of the database tests (SQLite, PostgreSQL)."""

from tests.db.conftest import database_url, db  # noqa: F401  (the fixtures)
from tests.postgres import postgres_url  # noqa: F401  (the session fixture)
