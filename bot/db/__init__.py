"""The database layer: the only place with SQL.

``await open_database(settings.database)`` returns SQLite's ``Database`` or PostgreSQL's
``PgDatabase``, both with ``articles`` (``ArticleRepository``), ``index`` (``IndexStore``, for
``bot.content.indexing``), ``meta``, ``digests``, ``guilds`` and ``audit``.
"""

from bot.db.database import Database
from bot.db.factory import DatabaseHandle, open_database, target_of
from bot.db.repository import ArticleRepository, CatalogEntry, IndexStore, MetaRepository

__all__ = [
    "ArticleRepository",
    "CatalogEntry",
    "Database",
    "DatabaseHandle",
    "IndexStore",
    "MetaRepository",
    "open_database",
    "target_of",
]
