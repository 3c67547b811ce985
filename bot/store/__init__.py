"""Files to immutable article records. No discord import and no database import here."""

from bot.store.loader import (
    FileEntry,
    LoadResult,
    dedupe,
    discover,
    load_directory,
    load_file,
    parse_article,
    parse_files,
)
from bot.store.models import Article, Image, LoadIssue, Provider, RelatedRef
from bot.store.text import clean_text
from bot.store.urls import normalize_url

__all__ = [
    "Article",
    "FileEntry",
    "Image",
    "LoadIssue",
    "LoadResult",
    "Provider",
    "RelatedRef",
    "clean_text",
    "dedupe",
    "discover",
    "load_directory",
    "load_file",
    "normalize_url",
    "parse_article",
    "parse_files",
]
