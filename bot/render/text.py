"""Making untrusted article text safe and short enough for Discord.

Article titles and excerpts come from third-party feeds: they may contain markdown characters,
``@everyone`` or role-mention syntax, and they may be far longer than Discord allows. Everything
here is pure string work; the embed builders decide which function applies to which slot.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from urllib.parse import quote, urlsplit

ZWSP = "\u200b"
ELLIPSIS = "…"

# Discord autolinks bare URLs before applying markdown, so escaping inside them would put visible
# backslashes into links. Same shape as discord.utils' private URL pattern.
_URL = r"(?P<url><[^: >]+:/[^ >]+>|(?:https?|steam)://[^\s<]+[^<.,:;\"'\]\s])"
_INLINE_RE = re.compile(_URL + r"|(?P<md>[\\*_~`|\[\]])")
# Markers that only mean something at the start of a line: quotes, headings, subtext, lists.
_LINE_START_RE = re.compile(r"^(?P<indent>[ \t]*)(?:(?P<mark>>|#|-|\+)|(?P<num>\d+)\.(?=\s))", re.MULTILINE)
# Mentions still render (and can ping in message content) inside text we do not control. A
# zero-width space after the sigil breaks the syntax while looking the same.
_EVERYONE_RE = re.compile(r"@(?=everyone|here)", re.IGNORECASE)
_ANGLE_RE = re.compile(r"<(?=[@#/]|a?:|t:)")
_USER_MENTION_RE = re.compile(r"@(?=[!&]?\d{17,20})")

_URL_SAFE = "!#$&'()*+,-./:;=?@[]_~"
_PERCENT_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST_RE = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")
_NETLOC_RE = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@\[\]%]+")
MAX_URL = 2048


def neutralise_mentions(text: str) -> str:
    """Break ``@everyone``, ``@here``, ``<@…>``, ``<@&…>``, ``<#…>``, ``</…>`` and ``<t:…>`` syntax.

    Use this alone for embed slots that do not render markdown (author name, footer text).
    """
    text = _EVERYONE_RE.sub("@" + ZWSP, text)
    text = _USER_MENTION_RE.sub("@" + ZWSP, text)
    return _ANGLE_RE.sub("<" + ZWSP, text)


def escape_markdown(text: str) -> str:
    """Make ``text`` render literally in a markdown slot (title, description, field) and never ping.

    Bare URLs are left alone so that they stay clickable.
    """

    def inline(match: re.Match[str]) -> str:
        url = match.group("url")
        return url if url is not None else "\\" + match.group("md")

    def line_start(match: re.Match[str]) -> str:
        indent = match.group("indent")
        if match.group("num") is not None:
            return f"{indent}{match.group('num')}\\."
        return f"{indent}\\{match.group('mark')}"

    text = _INLINE_RE.sub(inline, text)
    text = _LINE_START_RE.sub(line_start, text)
    return neutralise_mentions(text)


def _is_extender(char: str) -> bool:
    """True for characters that belong to the previous one (combining marks, joiners, selectors)."""
    code = ord(char)
    return (
        unicodedata.combining(char) != 0
        or unicodedata.category(char) in ("Mn", "Me")
        or code in (0x200C, 0x200D)
        or 0xFE00 <= code <= 0xFE0F
        or 0x1F3FB <= code <= 0x1F3FF
        or 0xE0020 <= code <= 0xE007F
        or 0xDC00 <= code <= 0xDFFF
    )


def _safe_cut(text: str, cut: int) -> int:
    """Move ``cut`` left until ``text[:cut]`` ends on a whole character and a whole escape."""
    while 0 < cut < len(text) and (_is_extender(text[cut]) or text[cut - 1] == "\u200d"):
        cut -= 1
    if cut > 0 and 0xD800 <= ord(text[cut - 1]) <= 0xDBFF:
        cut -= 1
    backslashes = 0
    while backslashes < cut and text[cut - 1 - backslashes] == "\\":
        backslashes += 1
    # An odd run means the last backslash escapes the character we are about to drop.
    if backslashes % 2 == 1:
        cut -= 1
    return cut


def truncate(text: str, limit: int, *, placeholder: str = ELLIPSIS) -> str:
    """Shorten ``text`` to at most ``limit`` characters, ending with ``placeholder`` when shortened.

    The cut falls on the last whitespace when one exists in the last third of the allowed length,
    otherwise on a character boundary. It never splits a surrogate pair, a base character from its
    combining marks, or a backslash escape such as ``\\*``.
    """
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    if len(placeholder) >= limit:
        return placeholder[:limit]
    budget = limit - len(placeholder)
    cut = _safe_cut(text, budget)
    # A space right at the cut point is a word boundary too, hence budget + 1.
    space = max(text.rfind(" ", 0, cut + 1), text.rfind("\n", 0, cut + 1), text.rfind("\t", 0, cut + 1))
    if space >= (budget * 2) // 3 and space > 0:
        cut = space
    head = text[:cut].rstrip()
    head = head[: _safe_cut(head, len(head))]
    return head + placeholder


def single_line(text: str) -> str:
    """Collapse whitespace runs (including newlines) to single spaces, for titles and list lines."""
    return " ".join(text.split())


def safe_url(url: str | None) -> str | None:
    """Return ``url`` in a form Discord accepts for embed links and images, or ``None``.

    Only absolute http(s) URLs with a host are kept. Non-ASCII and unsafe characters are
    percent-encoded (the same address, written the way Discord's validator expects); anything that
    still does not fit in 2,048 characters is dropped rather than cut, since a cut URL is a wrong URL.
    """
    if not url or len(url) > MAX_URL * 3:
        return None
    if any(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in url):
        return None
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for an out-of-range port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not hostname:
        return None
    prefix = f"{parts.scheme}://{parts.netloc}"
    if url[: len(prefix)].lower() != prefix.lower():
        return None
    netloc = parts.netloc
    if not netloc.isascii():
        if netloc.lower() != hostname:
            return None  # userinfo or port next to a non-ASCII host: not worth guessing
        try:
            netloc = hostname.encode("idna").decode("ascii")
        except UnicodeError:
            return None
        hostname = netloc.lower()
    if not _NETLOC_RE.fullmatch(netloc) or not _valid_host(hostname):
        return None
    rest = url[len(prefix) :]
    rest = _PERCENT_RE.sub("%25", rest)
    rest = quote(rest, safe=_URL_SAFE + "%")
    result = f"{parts.scheme.lower()}://{netloc}{rest}"
    return result if len(result) <= MAX_URL else None


def _valid_host(host: str) -> bool:
    if _HOST_RE.fullmatch(host):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def safe_host(domain: str | None) -> str | None:
    """``https://{domain}`` when ``domain`` is a plain host name, else ``None``."""
    if not domain:
        return None
    domain = domain.strip().lower().rstrip(".")
    if not _HOST_RE.fullmatch(domain) or "." not in domain:
        return None
    return safe_url(f"https://{domain}")
