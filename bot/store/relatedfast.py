"""A fast path for ``related`` entries written in the generator's fixed layout.

Most of a file is its ``related`` list, and :func:`bot.store.fastyaml.parse_simple_yaml` tokenises
each entry line by line. The generator always writes an entry the same way (the same keys in the
same order, one line each, the same quoting), so one anchored regex recognises a whole entry and
captures its values, and :func:`related_data` builds the mapping from the groups directly:

    title: "..."                      double-quoted: title, excerpt and the URLs
        excerpt: "..."
        publishedDateTime: 2023-07-13T20:23:00Z
        webUrl: "..."
        ampWebUrl: "..."              optional, like every key but the title
        cdnAmpWebUrl: "..."
        type: article                 plain: type and the provider's name and domain
        provider:
          name: Government Technology   (both or no provider)
          domain: govtech.com
        quality: 59
        images:
          - url: "..."
            width: 840
            height: 438
            isCached: true

The contract is :func:`parse_simple_yaml`'s, narrowed: the result is exactly the mapping
``parse_simple_yaml`` returns for the same (dedented) entry, or ``None`` ("not sure") for anything
else, and the caller then takes the line-based path. Values are decoded by ``fastyaml``'s own
functions (escapes, plain scalars that PyYAML resolves to the very same string) or restricted to
shapes whose meaning is fixed: decimal integers, ``true`` and ``false``, and UTC timestamps (read
with ``datetime.fromisoformat``, as ``fastyaml`` reads them).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Final

from bot.store.fastyaml import decode_double_quoted, is_plain_string

__all__ = ["related_data"]

# Characters parse_simple_yaml refuses anywhere in its input: C0 controls (line breaks and tabs
# included), DEL, C1 controls, line and paragraph separators, the BOM, non-characters and lone
# surrogates. No group can capture one, and the rest of a match is literal ASCII, so a matching entry
# passes that screening as a whole.
_REFUSED: Final = r"\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff"
# Value shapes, to be put in a group. Inside double quotes: up to the first quote not escaped (the
# escapes themselves are checked when decoding).
_QUOTED_BODY: Final = rf'[^"\\{_REFUSED}]*(?:\\[ -~][^"\\{_REFUSED}]*)*'
_PLAIN: Final = rf"[^ {_REFUSED}](?:[^{_REFUSED}]*[^ {_REFUSED}])?"
# Decimal only: PyYAML reads 012 as octal and 1_000 as 1000. Bounded well below int()'s digit limit.
_INT: Final = r"0|-?[1-9][0-9]{0,17}"
_BOOL: Final = r"true|false"
_TIMESTAMP: Final = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"
_MAX_INDENT: Final = 32
_PLAIN_CACHE_MAX: Final = 4096

_Patterns = tuple[re.Pattern[str], re.Pattern[str]]
_PATTERNS: dict[int, _Patterns] = {}
# Plain scalars (types, provider names and domains) repeat across entries.
_PLAIN_STRINGS: dict[str, bool] = {}


def _compile(indent: int) -> _Patterns:
    """The entry and image patterns for entries whose keys (after the first) are indented by ``indent``."""
    key = "\n" + " " * indent

    def image(group: str) -> str:
        """One ``images`` item; ``group`` opens its groups: "(?:" to check items, "(" to capture values."""
        return (
            rf'{key}  - url: "{group}{_QUOTED_BODY})"(?:{key}    width: {group}{_INT}))?'
            rf"(?:{key}    height: {group}{_INT}))?(?:{key}    isCached: {group}{_BOOL}))?"
        )

    entry = re.compile(
        rf'title: "({_QUOTED_BODY})"'
        rf'(?:{key}excerpt: "({_QUOTED_BODY})")?'
        rf"(?:{key}publishedDateTime: ({_TIMESTAMP}))?"
        rf'(?:{key}webUrl: "({_QUOTED_BODY})")?'
        rf'(?:{key}ampWebUrl: "({_QUOTED_BODY})")?'
        rf'(?:{key}cdnAmpWebUrl: "({_QUOTED_BODY})")?'
        rf"(?:{key}type: ({_PLAIN}))?"
        rf"(?:{key}provider:{key}  name: ({_PLAIN}){key}  domain: ({_PLAIN}))?"
        rf"(?:{key}quality: ({_INT}))?"
        rf"(?:{key}images:((?:{image('(?:')})+))?"
        r"(?:\n *)*\Z"  # the last item of the block keeps the blank lines after it
    )
    return entry, re.compile(image("("))


def _plain_string(text: str) -> bool:
    known = _PLAIN_STRINGS.get(text)
    if known is None:
        known = is_plain_string(text)
        if len(_PLAIN_STRINGS) >= _PLAIN_CACHE_MAX:
            _PLAIN_STRINGS.clear()
        _PLAIN_STRINGS[text] = known
    return known


def _decoded(bodies: tuple[str | None, ...]) -> list[str | None] | None:
    """Each double-quoted body decoded (``None`` stays ``None``); ``None`` if any escape is unusual."""
    values: list[str | None] = []
    for body in bodies:
        if body is not None:
            body = decode_double_quoted(body)
            if body is None:
                return None
        values.append(body)
    return values


def _images(text: str, pattern: re.Pattern[str]) -> list[dict[str, Any]] | None:
    images: list[dict[str, Any]] = []
    for match in pattern.finditer(text):
        body, width, height, cached = match.groups()
        url = decode_double_quoted(body)
        if url is None:
            return None
        image: dict[str, Any] = {"url": url}
        if width is not None:
            image["width"] = int(width)
        if height is not None:
            image["height"] = int(height)
        if cached is not None:
            image["isCached"] = cached == "true"
        images.append(image)
    return images


def related_data(chunk: str, indent: int) -> dict[str, Any] | None:
    """The mapping :func:`~bot.store.fastyaml.parse_simple_yaml` makes of one ``related`` item, or
    ``None`` when the item is not in the generator's layout or holds anything unusual.

    ``chunk`` is the item's text after its ``- `` marker (as cut by
    :func:`~bot.store.relatedblock.split_related_block`) and ``indent`` the column of its keys, so
    the reference is ``parse_simple_yaml`` on ``chunk`` with ``indent`` spaces removed from every
    line but the first.
    """
    patterns = _PATTERNS.get(indent)
    if patterns is None:
        if not 0 < indent <= _MAX_INDENT:
            return None
        patterns = _PATTERNS.setdefault(indent, _compile(indent))
    match = patterns[0].match(chunk)
    if match is None:
        return None
    title, excerpt, when, web_url, amp_url, cdn_amp_url, kind, name, domain, quality, images = match.groups()
    if "\\" in chunk:  # one entry in ten; without one, every quoted value is the text between its quotes
        decoded = _decoded((title, excerpt, web_url, amp_url, cdn_amp_url))
        if decoded is None:
            return None
        title, excerpt, web_url, amp_url, cdn_amp_url = decoded
    data: dict[str, Any] = {"title": title}
    if excerpt is not None:
        data["excerpt"] = excerpt
    if when is not None:
        try:
            data["publishedDateTime"] = datetime.fromisoformat(when)
        except ValueError:
            return None  # 2023-02-30 and the like: the full parser reports them
    if web_url is not None:
        data["webUrl"] = web_url
    if amp_url is not None:
        data["ampWebUrl"] = amp_url
    if cdn_amp_url is not None:
        data["cdnAmpWebUrl"] = cdn_amp_url
    if kind is not None:
        if not _plain_string(kind):
            return None
        data["type"] = kind
    if name is not None:
        if not (_plain_string(name) and _plain_string(domain)):
            return None
        data["provider"] = {"name": name, "domain": domain}
    if quality is not None:
        data["quality"] = int(quality)
    if images is not None:
        image_list = _images(images, patterns[1])
        if image_list is None:
            return None
        data["images"] = image_list
    return data
