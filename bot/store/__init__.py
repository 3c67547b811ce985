"""Files to immutable article records. No discord import and no database import here."""

from bot.store.models import Article, Image, LoadIssue, Provider, RelatedRef

__all__ = ["Article", "Image", "LoadIssue", "Provider", "RelatedRef"]
