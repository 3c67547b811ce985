"""Limits that keep one hostile or broken file from costing more than a bounded amount of work.

Real article files are a few KiB to about 150 KiB, nest five levels deep and use no YAML aliases.
"""

from __future__ import annotations

#: Files larger than this are rejected without being read in full.
MAX_FILE_BYTES = 1024 * 1024

#: Deepest nesting of block indentation levels plus flow brackets accepted in front matter. It is
#: checked by scanning the text before any YAML parser sees it.
MAX_NESTING_DEPTH = 32

#: Article ids longer than this are shortened (see ``bot.store.fields.article_id``).
MAX_ID_LENGTH = 90
