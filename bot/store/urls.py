"""URL keys for de-duplication and for resolving ``related`` links to articles.

The key is only ever used for comparison. The URL stored on a record and shown to users is kept
exactly as the file wrote it.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

__all__ = ["host_of", "normalize_url"]

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
