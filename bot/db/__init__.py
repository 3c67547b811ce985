"""The database layer: the only place with SQL.

``Database.open(path)`` returns an object with ``articles`` (``ArticleRepository``), ``index``
(``IndexStore``, for ``bot.indexing``) and ``meta`` (``MetaRepository``).
"""

from bot.db.database import Database
from bot.db.repository import ArticleRepository, CatalogEntry, IndexStore, MetaRepository

__all__ = ["ArticleRepository", "CatalogEntry", "Database", "IndexStore", "MetaRepository"]
