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

# Discord's markdown (a fork of simple-markdown) turns two shapes into links on its own: its ``url``
# rule and its ``autolink`` rule. Text inside either is part of the link, so escaping it would put
# visible backslashes into the address; everything outside is escaped. The patterns are that
# library's own, narrowed to http(s) (lower case, as it matches): leaving alone anything Discord might
# *not* take for a link would leave its brackets and backslashes raw, and those can build a masked link.
# A URL that runs into a "<" is not left alone: Discord's rule would take the backslash escaping that
# "<" as the URL's last character and leave the "<" raw (it could open a mail link). Such a URL is
# defused like any other text, by escaping the colon of its scheme. (The group is atomic so that a
# shorter URL is never tried instead: Discord's would still be the long one.)
_URL = r"(?P<url><https?://[^ >]+>|(?>https?://[^\s<]+[^<.,:;\"')\]\s])(?![.,:;\"')\]]*<))"
# A "<" that would open any other autolink or a mail link ("<x:/y>", "<a@b>") is escaped, and so is
# the one of a user or role mention: the zero-width space ``neutralise_mentions`` puts after it would
# otherwise make "<\u200b@…>" a mail link.
_INLINE_RE = re.compile(_URL + r"|(?P<md>[\\*_~`|\[\]]|<(?=[^ >]*(?::/|@)[^ >]*>)|:(?=[/\\]))")
# Without links: brackets and parentheses (masked links), angle brackets (autolinks) and a colon
# before a slash (bare URLs) are escaped too, so nothing in the text can become a link.
_NO_LINK_RE = re.compile(r"(?P<md>[\\*_~`|\[\]()<>]|:(?=[/\\]))")
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


def escape_markdown(text: str, *, links: bool = True) -> str:
    """Make ``text`` render literally in a markdown slot (title, description, field) and never ping.

    With ``links`` (for excerpts and other prose), bare ``http(s)://`` URLs are left alone so that
    they stay clickable: such a link shows its own address, so it cannot lie. Without (for names and
    other text that sits next to our own links), nothing in ``text`` can become a link at all.
    """

    def inline(match: re.Match[str]) -> str:
        url = match.group("url") if links else None
        return url if url is not None else "\\" + match.group("md")

    def line_start(match: re.Match[str]) -> str:
        indent = match.group("indent")
        if match.group("num") is not None:
            return f"{indent}{match.group('num')}\\."
        return f"{indent}\\{match.group('mark')}"

    text = (_INLINE_RE if links else _NO_LINK_RE).sub(inline, text)
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


# --- links: the one way text becomes the clickable part of a link ---------------------------------

# Format characters are invisible: they would let "evil\u200b.example" slip past the rules below while
# reading as "evil.example". The zero-width joiner and tag characters are kept for emoji sequences,
# and the rules look through them and through variation selectors (equally invisible).
_KEEP_FORMAT = frozenset({0x200D, *range(0xE0020, 0xE0080)})
_JOINERS = "\u034f\u200d\ufe00-\ufe0f\U000e0020-\U000e007f\U000e0100-\U000e01ef"
_JOINER_RE = re.compile(f"[{_JOINERS}]")
_DOTS = ".\u3002\uff0e\uff61"  # what browsers accept as the dot between labels of a host name
# A dot between something and two letters or more ("support.example", "Node.js") reads as a host
# name; "3.12", "U.S." and "e.g." do not. Such dots show as "(.)", the usual way to defuse an address.
_HOSTISH_DOT_RE = re.compile(
    rf"(?<=[^\s{_DOTS}])[{_DOTS}](?=[{_JOINERS}]*[^\W\d_][{_JOINERS}]*[^\s{_DOTS}/\\\\:;,!?'\"()\[\]<>])"
)
# A run of characters that could be one host name, to compare with the link's own host.
_HOST_TOKEN_RE = re.compile(r"[^\s/\\?#@:;,!'\"()\[\]<>*|~`]+")
# A scheme's colon before a slash ("https://", "https:/\\", fullwidth forms): shown as "(:)".
_SCHEME_COLON_RE = re.compile(rf"[:\uff1a](?=[\s{_JOINERS}]*[/\\\\\uff0f\uff3c])")


def link_target(url: str | None) -> str | None:
    """``url`` as the target of a masked link ``[label](url)``, or ``None`` when it cannot be one.

    The target is part of the text: a parenthesis would end the link early (anywhere in the URL,
    user info included), and ``@everyone`` must not appear in it either.
    """
    safe = safe_url(url)
    if safe is None:
        return None
    scheme, _, rest = safe.partition("://")
    netloc, slash, path = rest.partition("/")
    if _EVERYONE_RE.search(netloc):
        return None
    rest = netloc + slash + _EVERYONE_RE.sub("%40", path)
    return f"{scheme}://{rest.replace('(', '%28').replace(')', '%29')}"


def _host_of(url: str | None) -> str | None:
    if not url:
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return host.removeprefix("www.") if host else None


def _normal_host(token: str) -> str:
    text = _JOINER_RE.sub("", token)
    for dot in _DOTS[1:]:
        text = text.replace(dot, ".")
    text = text.strip(".").lower().removeprefix("www.")
    try:
        return text.encode("idna").decode("ascii") if not text.isascii() else text
    except UnicodeError:
        return text


def _defuse_addresses(text: str, own_host: str | None) -> str:
    """Make every address-like part of ``text`` read as plain words, except the link's own host."""
    text = _SCHEME_COLON_RE.sub("(:)", text)

    def token(match: re.Match[str]) -> str:
        found = match.group(0)
        if not any(dot in found for dot in _DOTS):
            return found
        name = _normal_host(found)
        if own_host and name and (own_host == name or own_host.endswith("." + name)):
            return found
        return _HOSTISH_DOT_RE.sub("(.)", found)

    return _HOST_TOKEN_RE.sub(token, text)


def link_label(text: str, url: str | None, *, limit: int | None = None, markdown: bool = True) -> str:
    """``text`` made fit to be the clickable part of a link to ``url``; it cannot lie about where it goes.

    Whatever ``text`` holds, the result opens or closes no link, code span or autolink (brackets
    become parentheses; markdown characters are escaped), pings nobody, is one line, and names no
    address other than ``url``'s own host: other host names and schemes are defused ("evil(.)example",
    "https(:)//"). Use ``markdown=False`` for slots that show text as it is (an embed's author name).
    The result is at most ``limit`` characters long.
    """
    text = single_line("".join(ch for ch in text if unicodedata.category(ch) != "Cf" or ord(ch) in _KEEP_FORMAT))
    host = _host_of(url)
    label = _label(text, host, markdown)
    budget = len(text)
    # Shorten the text, not the label: a cut label could end in part of the link's own host name
    # ("news.exam…"), which is no longer its own. Escaping only lengthens, so this ends in a few rounds.
    while limit is not None and len(label) > limit and budget > 1:
        # In proportion to how much escaping lengthened it (text of markdown characters doubles), and
        # by at least one character a round, so it ends; never to nothing while some text would fit.
        budget = max(1, min(budget - 1, budget * limit // len(label)))
        label = _label(truncate(text, budget), host, markdown)
    if limit is not None and len(label) > limit:
        label = ELLIPSIS[
            :limit
        ]  # one character's escape alone is longer than a tiny limit; cutting it could end in "\"
    return label


def _label(text: str, host: str | None, markdown: bool) -> str:
    text = _defuse_addresses(text, host)
    if not markdown:
        return neutralise_mentions(text)
    # An unmatched bracket stays unmatched after escaping (the link pattern ignores backslashes) and
    # would break the link; parentheses inside a label are inert.
    text = text.replace("[", "(").replace("]", ")")
    return escape_markdown(text, links=False)


def masked_link(text: str, url: str | None, *, limit: int, max_url: int = MAX_URL) -> str:
    """``[text](url)``, the only way this package writes a masked link, with ``text`` at most ``limit`` long.

    The label goes through ``link_label``; the target through ``link_target``. When ``url`` cannot be a
    target, or is longer than ``max_url``, the label alone is returned, as plain text.
    """
    target = link_target(url)
    if target is not None and len(target) > max_url:
        target = None
    label = link_label(text, target, limit=limit)
    if target is None:
        return label
    # An empty label would make an invisible link.
    return f"[{label or link_label(_host_of(target) or 'link', target, limit=limit)}]({target})"


def code_span(text: str) -> str:
    """``text`` as inline code, on one line, whatever backticks it holds (so it cannot end the span early).

    The fence is one backtick longer than the longest run inside, and a space pads content that
    starts or ends with a backtick, as simple-markdown (Discord's parser) reads it.
    """
    text = single_line(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    if text.startswith("`") or text.endswith("`") or not text:
        text = f" {text} "
    return f"{fence}{text}{fence}"
