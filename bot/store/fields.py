"""Front-matter mapping -> :class:`Article`: field types, defaults, cleaning and the id rule.

Required: ``title`` (non-empty once cleaned), a URL (``webUrl`` or ``originalUrl``; an empty string
counts as missing) and a parseable ``publishedDateTime``. A top-level field of the wrong type
("type drift": a list as ``title``, ``quality: high``, a mapping as ``topics``) rejects the file with
a :class:`FieldError` naming the field, because guessing would put wrong data in front of users.
Inside the lists the loader is lenient instead: a malformed ``images`` or ``related`` entry, or a
topic that is not a string, is dropped with a warning and the rest of the file is kept.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final

from bot.store.keys import topic_key
from bot.store.limits import HEAT, IMAGE_SIDE, MAX_ID_LENGTH, QUALITY, IntRange
from bot.store.models import Article, Image, Provider, RelatedRef
from bot.store.text import clean_text
from bot.store.urls import host_of, link_problem, normalize_url

__all__ = [
    "FieldError",
    "MalformedEntry",
    "RelatedEntry",
    "article_id",
    "build_article",
    "parse_datetime",
    "related_entry",
]

_INT_RE = re.compile(r"[+-]?[0-9]{1,18}\Z")
_TRUE_WORDS = frozenset({"true", "yes", "on"})
_FALSE_WORDS = frozenset({"false", "no", "off"})
_ID_HASH_CHARS = 8
_PROVIDERS: dict[tuple[str, str, str | None], Provider] = {}
_PROVIDERS_MAX: Final = 4096


class FieldError(Exception):
    """A field makes the file unusable. ``field`` names the top-level key, when there is one."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


def article_id(stem: str) -> str:
    """The article id for a file whose name without extension is ``stem``.

    The id is the stem lowercased. Ids longer than ``MAX_ID_LENGTH`` (90) characters are cut to
    their first 81 characters, then ``-`` and the first 8 hex digits of the SHA-1 of the stem as
    written (UTF-8), so long slugs stay unique and stable across runs.
    """
    slug = stem.lower()
    if len(slug) <= MAX_ID_LENGTH:
        return slug
    digest = hashlib.sha1(stem.encode("utf-8", "surrogatepass")).hexdigest()[:_ID_HASH_CHARS]
    return f"{slug[: MAX_ID_LENGTH - _ID_HASH_CHARS - 1]}-{digest}"


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    return type(value).__name__


def _shown(value: Any) -> str:
    if isinstance(value, int) and value.bit_length() > 192:
        # repr of a huge int is slow, and refused past 4,300 digits; the size is what matters.
        return f"a number of about {int(value.bit_length() * 0.30103) + 1:,} digits"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _described(value: Any) -> str:
    if isinstance(value, dict | list):
        return _kind(value)
    return f"{_kind(value)} {_shown(value)}"


def parse_datetime(value: Any) -> datetime | None:
    """An aware UTC datetime from a YAML datetime or date, or an ISO-like string; else ``None``.

    Naive values are taken to be UTC. Strings may use ``T`` or a space, ``Z`` or a ``+hh:mm``
    offset, fractional seconds, or be a bare date (midnight UTC).
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT_RE.match(value.strip()):
        return int(value)
    return None


def _int_field(data: dict[Any, Any], name: str, default: int, allowed: IntRange) -> int:
    value = data.get(name)
    if value is None:
        return default
    number = _int_or_none(value)
    if number is None:
        raise FieldError(f"{name!r} must be an integer, got {_described(value)}", name)
    if number not in allowed:
        raise FieldError(f"{name!r} must be from {allowed}, got {_shown(number)}", name)
    return number


def _out_of_range(value: Any, allowed: IntRange) -> str | None:
    """Why an optional number inside a list entry is unusable (``None`` when it is fine or absent)."""
    if value is None:
        return None
    number = _int_or_none(value)
    if number is None:
        return f"is not an integer ({_described(value)})"
    if number not in allowed:
        return f"is {_shown(number)}, outside {allowed}"
    return None


def _str_field(data: dict[Any, Any], name: str) -> str | None:
    value = data.get(name)
    if value is None or isinstance(value, str):
        return value
    raise FieldError(f"{name!r} must be a string, got {_described(value)}", name)


def _url_field(data: dict[Any, Any], name: str) -> str | None:
    value = _str_field(data, name)
    if value is None:
        return None
    return value.strip() or None


def _published(data: dict[Any, Any]) -> bool:
    value = data.get("published")
    if value is None:
        return True  # Jekyll: a document is published unless it says otherwise
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    raise FieldError(f"'published' must be true or false, got {_described(value)}", "published")


def _first_image_url(value: Any) -> str | None:
    if isinstance(value, list) and value:
        first = value[0]
        if isinstance(first, dict):
            url = first.get("url")
            if isinstance(url, str) and url.strip():
                return url.strip()
    return None


def _provider(data: dict[Any, Any], url: str) -> Provider:
    value = data.get("provider")
    if value is None:
        value = {}
    elif not isinstance(value, dict):
        raise FieldError(f"'provider' must be a mapping, got {_described(value)}", "provider")
    name = value.get("name")
    domain = value.get("domain")
    if isinstance(name, bool) or not isinstance(name, str | int | float | None):
        raise FieldError(f"'provider.name' must be a string, got {_described(name)}", "provider")
    if domain is not None and not isinstance(domain, str):
        raise FieldError(f"'provider.domain' must be a string, got {_described(domain)}", "provider")
    return _make_provider(name, domain, value.get("images"), url)


def _make_provider(name: Any, domain: Any, images: Any, url: str) -> Provider:
    logo_url = _first_image_url(images)
    domain_text = domain.strip().lower() if isinstance(domain, str) else ""
    if domain_text.startswith("www."):
        domain_text = domain_text[4:]
    if not domain_text:
        return _new_provider(name, host_of(url), logo_url)
    if not isinstance(name, str):
        return _new_provider(name, domain_text, logo_url)
    # The same provider comes back in nearly every related entry, and cleaning its name is most of
    # the work here; records are immutable, so one instance can serve them all.
    key = (name, domain_text, logo_url)
    provider = _PROVIDERS.get(key)
    if provider is None:
        provider = _new_provider(name, domain_text, logo_url)
        if len(_PROVIDERS) >= _PROVIDERS_MAX:
            _PROVIDERS.clear()
        _PROVIDERS[key] = provider
    return provider


def _new_provider(name: Any, domain_text: str, logo_url: str | None) -> Provider:
    if isinstance(name, str):
        name_text = clean_text(name)
    elif isinstance(name, int | float) and not isinstance(name, bool):
        name_text = str(name)
    else:
        name_text = ""
    return Provider(name=name_text or domain_text, domain=domain_text, logo_url=logo_url)


def _topics(data: dict[Any, Any], warnings: list[str]) -> tuple[str, ...]:
    value = data.get("topics")
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    elif not isinstance(value, list):
        raise FieldError(f"'topics' must be a list of strings or a string, got {_kind(value)}", "topics")
    topics: list[str] = []
    seen: set[str] = set()
    for item in value:
        if not isinstance(item, str):
            warnings.append(f"dropped topic {_shown(item)}: topics must be strings")
            continue
        topic = clean_text(item)
        folded = topic_key(topic)
        if topic and folded not in seen:
            seen.add(folded)
            topics.append(topic)
    return tuple(topics)


def _images(data: dict[Any, Any], warnings: list[str]) -> tuple[Image, ...]:
    value = data.get("images")
    if value is None:
        return ()
    if not isinstance(value, list):
        raise FieldError(f"'images' must be a list, got {_described(value)}", "images")
    images: list[Image] = []
    for number, item in enumerate(value, start=1):
        url = item.get("url") if isinstance(item, dict) else None
        if not isinstance(url, str) or not url.strip():
            warnings.append(f"dropped images entry {number}: it has no url")
            continue
        url = url.strip()
        problem = link_problem(url)
        if problem is not None:
            warnings.append(f"dropped images entry {number}: its url {problem}")
            continue
        sides: list[int | None] = []
        for side in ("width", "height"):
            side_value = item.get(side)
            wrong = _out_of_range(side_value, IMAGE_SIDE)
            if wrong is not None:
                warnings.append(f"images entry {number}: {side} {wrong}; left out")
            sides.append(None if side_value is None or wrong is not None else _int_or_none(side_value))
        images.append(Image(url=url, width=sides[0], height=sides[1]))
    return tuple(images)


@dataclass(frozen=True, slots=True)
class MalformedEntry:
    """A ``related`` entry that is unusable as written; reported as a warning, then dropped."""

    reason: str = "not a mapping"


RelatedEntry = RelatedRef | MalformedEntry | None


def related_entry(entry: Any) -> RelatedEntry:
    """One ``related`` entry, leniently: ``None`` when it has no title or URL (silently dropped),
    :class:`MalformedEntry` when what it has is unusable (dropped with a warning).

    The URL is ``webUrl``, else ``originalUrl``: the first of them that is a usable web link.
    The result depends on ``entry`` alone, so callers may cache it (entries repeat across files).
    """
    if not isinstance(entry, dict):
        return MalformedEntry()
    url: Any = None
    problem = None
    for key in ("webUrl", "originalUrl"):
        candidate = entry.get(key)
        if isinstance(candidate, str) and candidate.strip():
            problem = link_problem(candidate.strip())
            if problem is None:
                url = candidate
                break
    if url is None:
        return MalformedEntry(f"its link {problem}") if problem is not None else None
    title = entry.get("title")
    if not isinstance(title, str):
        return None
    title = clean_text(title)
    if not title:
        return None
    url = url.strip()
    # A copy's quality is never stored; one outside the range counts as unknown, like a non-number.
    quality = _int_or_none(entry.get("quality"))
    excerpt = entry.get("excerpt")
    provider = entry.get("provider")
    return RelatedRef(
        title=title,
        url=url,
        excerpt=clean_text(excerpt) if isinstance(excerpt, str) else "",
        published_at=parse_datetime(entry.get("publishedDateTime")),
        provider=(
            _make_provider(provider.get("name"), provider.get("domain"), provider.get("images"), url)
            if isinstance(provider, dict)
            else None
        ),
        quality=quality if quality in QUALITY else None,
        image_url=_first_image_url(entry.get("images")),
    )


def _related(
    data: dict[Any, Any], entries: Sequence[RelatedEntry] | None, self_key: str, warnings: list[str]
) -> tuple[RelatedRef, ...]:
    """The ``related`` list without entries lacking a title or URL, self-links and repeats.

    Repeats and self-links are common in the source data (the lists are denormalised copies) and
    are dropped silently, as are entries whose URL is empty; a non-mapping entry is a warning.
    """
    if entries is None:
        value = data.get("related")
        if value is None:
            return ()
        if not isinstance(value, list):
            raise FieldError(f"'related' must be a list, got {_described(value)}", "related")
        entries = [related_entry(item) for item in value]
    refs: list[RelatedRef] = []
    seen = {self_key}
    for number, entry in enumerate(entries, start=1):
        if entry is None:
            continue
        if isinstance(entry, MalformedEntry):
            warnings.append(f"dropped related entry {number}: {entry.reason}")
            continue
        key = normalize_url(entry.url)
        if key not in seen:
            seen.add(key)
            refs.append(entry)
    return tuple(refs)


def build_article(
    data: dict[Any, Any], rel_path: str, body: str = "", related_entries: Sequence[RelatedEntry] | None = None
) -> tuple[Article, list[str]]:
    """Normalise one file's front matter into an :class:`Article`.

    ``related_entries``, when given, replaces ``data["related"]`` with entries already passed
    through :func:`related_entry` (see :mod:`bot.store.relatedblock`).

    Returns the article and warning messages (dropped topics, images or related entries). Raises
    :class:`FieldError` when a required field is missing or a field has the wrong type.
    """
    warnings: list[str] = []
    title_value = data.get("title")
    if title_value is None:
        raise FieldError("missing required field 'title'", "title")
    if not isinstance(title_value, str):
        raise FieldError(f"'title' must be a string, got {_described(title_value)}", "title")
    title = clean_text(title_value)
    if not title:
        raise FieldError("required field 'title' is empty", "title")

    web_url = _url_field(data, "webUrl")
    original_url = _url_field(data, "originalUrl")
    if web_url is None and original_url is None:
        raise FieldError("missing required field 'webUrl' or 'originalUrl'")
    # An article is a link to a story: without a web link users could open, there is nothing to serve.
    web_problem = link_problem(web_url) if web_url is not None else None
    original_problem = link_problem(original_url) if original_url is not None else None
    if web_problem is None and web_url is not None:
        url = web_url
    elif original_problem is None and original_url is not None:
        url = original_url
    else:
        name, problem = ("webUrl", web_problem) if web_problem is not None else ("originalUrl", original_problem)
        raise FieldError(f"no usable link: {name!r} {problem}", name)
    if web_problem is not None:
        warnings.append(f"'webUrl' not used: it {web_problem}")
    if original_problem is not None:
        warnings.append(f"'originalUrl' left out: it {original_problem}")
        original_url = None

    when_value = data.get("publishedDateTime")
    if when_value is None:
        raise FieldError("missing required field 'publishedDateTime'", "publishedDateTime")
    published_at = parse_datetime(when_value)
    if published_at is None:
        raise FieldError(f"unparseable publishedDateTime: {_shown(when_value)}", "publishedDateTime")

    excerpt = _str_field(data, "excerpt")
    kind = _str_field(data, "type")
    secured = data.get("secured")
    featured = data.get("featuredContent")
    stem = rel_path.rsplit("/", 1)[-1]
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    article = Article(
        id=article_id(stem),
        path=rel_path,
        title=title,
        url=url,
        published_at=published_at,
        provider=_provider(data, url),
        excerpt=clean_text(excerpt) if excerpt else "",
        body=body.strip(),
        original_url=original_url,
        topics=_topics(data, warnings),
        images=_images(data, warnings),
        related=_related(data, related_entries, normalize_url(url), warnings),
        quality=_int_field(data, "quality", 0, QUALITY),
        heat=_int_field(data, "heat", -1, HEAT),
        published=_published(data),
        type=(kind.strip() if kind else "") or "article",
        has_featured_content=bool(featured.strip() if isinstance(featured, str) else featured),
        secured=secured if isinstance(secured, str) else None,
    )
    return article, warnings
