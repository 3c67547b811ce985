"""What counts as a usable link, and URL keys for de-duplication and resolving ``related`` links.

The key is only ever used for comparison. The URL stored on a record and shown to users is kept
exactly as the file wrote it; :func:`web_url` gives the form to put in a Discord link.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import unicodedata
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

__all__ = ["MAX_URL", "host_of", "link_problem", "normalize_url", "web_url"]

#: The longest link Discord accepts in an embed (URL, author or image link).
MAX_URL = 2048

# Query parameters that identify a campaign, a click or an AMP rendering, never the page itself.
_TRACKING_PARAMS = frozenset(
    {
        "_amp",
        "amp",
        "dclid",
        "fbclid",
        "gclid",
        "gclsrc",
        "igshid",
        "mc_cid",
        "mc_eid",
        "msclkid",
        "ocid",
        "twclid",
        "yclid",
        "_ga",
        "_gl",
    }
)
_TRACKING_PREFIXES = ("utm_",)
_WEB_SCHEMES = frozenset({"http", "https"})
_DEFAULT_PORTS = frozenset({80, 443})
_PERCENT_RE = re.compile(r"%[0-9a-fA-F]{2}")
# Characters left as they are in a path: RFC 3986 unreserved and sub-delims, ':', '@', '/', and '%'
# so existing escapes survive. Everything else (spaces, non-ASCII) is percent-encoded as UTF-8.
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"


def _upper_escape(match: re.Match[str]) -> str:
    return match.group().upper()


def _is_tracking(key: str) -> bool:
    lowered = key.lower()
    return lowered in _TRACKING_PARAMS or lowered.startswith(_TRACKING_PREFIXES)


@functools.lru_cache(maxsize=1 << 14)
def normalize_url(url: str) -> str:
    """Return the comparison key of ``url``.

    Lowercases scheme and host, drops a leading ``www.``, default ports, the fragment, a trailing
    slash on the path and tracking parameters (``utm_*``, ``fbclid``, ``gclid``, ``ocid``, ``amp``,
    ``_amp`` ...); sorts the remaining query parameters; treats ``http`` and ``https`` alike (the key
    says ``https``). Percent escapes are upper-cased and non-ASCII path characters encoded, so
    ``/caf%c3%a9`` and ``/café`` compare equal. Something that does not parse as a URL with a host
    is returned stripped but otherwise unchanged. Idempotent; never raises for a ``str``.
    """
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
        host = parts.hostname or ""
    except ValueError:
        return text
    if not host:
        return text
    scheme = parts.scheme.lower()
    if scheme in _WEB_SCHEMES:
        scheme = "https"
        if port in _DEFAULT_PORTS:
            port = None
    host = host.rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"

    path = _PERCENT_RE.sub(_upper_escape, quote(parts.path, safe=_PATH_SAFE)).rstrip("/")
    query = ""
    if parts.query:
        pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)]
        query = urlencode(sorted(pairs), quote_via=quote)
    result = f"{scheme}://{netloc}{path}" if scheme else f"//{netloc}{path}"
    return f"{result}?{query}" if query else result


def host_of(url: str) -> str:
    """The lowercased host of ``url`` without a leading ``www.``; empty when there is none."""
    try:
        host = urlsplit(url.strip()).hostname or ""
    except ValueError:
        return ""
    host = host.rstrip(".")
    return host[4:] if host.startswith("www.") else host


# --- usable links ------------------------------------------------------------------------------

_LINK_SAFE = "!#$&'()*+,-./:;=?@[]_~"
_LONE_PERCENT_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST_RE = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")
_NETLOC_RE = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@\[\]%]+")
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


def _valid_host(host: str) -> bool:
    if _HOST_RE.fullmatch(host):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _checked(url: str) -> tuple[str | None, str]:
    """``(link, "")`` for a usable link, ``(None, why not)`` otherwise (see :func:`web_url`)."""
    if not url:
        return None, "is empty"
    if len(url) > MAX_URL * 3:
        return None, f"is longer than {MAX_URL:,} characters"
    if not url.isascii() or not url.isprintable():
        for ch in url:
            if ch != " " and (ch.isspace() or unicodedata.category(ch) in _UNSAFE_CATEGORIES):
                return None, f"contains a line break, tab or invisible character (U+{ord(ch):04X})"
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for an out-of-range port
    except ValueError:
        return None, "is not a valid URL"
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        shown = f"{parts.scheme[:20]!r}" if parts.scheme else "no scheme"
        return None, f"is not an http(s) link ({shown})"
    if not hostname:
        return None, "has no host"
    prefix = f"{parts.scheme}://{parts.netloc}"
    if url[: len(prefix)].lower() != prefix.lower():
        return None, "is not an absolute http(s) link (expected scheme://host)"
    netloc = parts.netloc
    if not netloc.isascii():
        if netloc.lower() != hostname:
            return None, "has a user name or port next to a non-ASCII host"
        try:
            netloc = hostname.encode("idna").decode("ascii")
        except UnicodeError:
            return None, "has an invalid host name"
        hostname = netloc.lower()
    if not _NETLOC_RE.fullmatch(netloc) or not _valid_host(hostname):
        return None, "has an invalid host name"
    rest = quote(_LONE_PERCENT_RE.sub("%25", url[len(prefix) :]), safe=_LINK_SAFE + "%")
    link = f"{scheme}://{netloc}{rest}"
    if len(link) > MAX_URL:
        return None, f"is longer than {MAX_URL:,} characters"
    return link, ""


def web_url(url: str | None) -> str | None:
    """``url`` in the form Discord accepts for a link or an image, or ``None`` if it is not usable.

    Usable means: an absolute ``http`` or ``https`` URL with a valid host name (or IP address), no
    line breaks, tabs or invisible characters, at most ``MAX_URL`` characters once spaces,
    non-ASCII and unsafe characters are percent-encoded (the same address, written the way a
    browser sends it and Discord expects; real feeds do have links such as
    ``https://apnews.com/PR Newswire/...``). This is the one definition of a usable link: the
    loader rejects an article without one, and the renderers put nothing else in a link.
    """
    return _checked(url)[0] if url else None


def link_problem(url: str) -> str | None:
    """Why ``url`` is not a usable link (see :func:`web_url`), as the end of a sentence such as
    "'webUrl' is not an http(s) link ('javascript')"; ``None`` when it is usable."""
    link, problem = _checked(url)
    return None if link is not None else problem
