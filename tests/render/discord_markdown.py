"""Where a Discord client would put links in a piece of rendered markdown, for tests.

Discord's client parses message and embed markdown with a fork of simple-markdown
(https://github.com/ariabuckles/simple-markdown, ``src/index.js``; MIT). This is a Python port of
that library's inline parser, restricted to the rules that decide where links are: ``escape``,
``autolink``, ``mailto``, ``url``, ``link`` (masked links, label parsed again as inline markdown),
``em``/``strong``/``u`` (same order, longest match wins, as simple-markdown's ``quality``),
``del``, ``inlineCode`` and ``text``, plus Discord's ``||spoiler||``. The regular expressions are
simple-markdown's, translated from JavaScript: ``\\w`` and ``\\b`` made ASCII as in JavaScript, ``$``
written ``\\Z``, and every match anchored at the current position like ``^`` on the remaining source.

It errs towards finding more links than Discord, never fewer: Discord adds checks of its own
before showing a masked link (for example on the target's scheme), but does not add link syntax.
Reference-style links and images are left out: Discord renders neither.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["masked", "url", "autolink", "mailto"]

# simple-markdown's LINK_INSIDE and LINK_HREF_AND_TITLE, verbatim apart from the string escaping.
_LINK_INSIDE = r"(?:\[[^\]]*\]|[^\[\]]|\](?=[^\[]*\]))*"
_LINK_HREF_AND_TITLE = r"\s*<?((?:\([^)]*\)|[^\s\\]|\\.)*?)>?(?:\s+['\"]([\s\S]*?)['\"])?\s*"
_UNESCAPE_URL = re.compile(r"\\([^0-9A-Za-z\s])")

_ESCAPE = re.compile(r"\\([^0-9A-Za-z\s])")
_AUTOLINK = re.compile(r"<([^: >]+:/[^ >]+)>")
_MAILTO = re.compile(r"<([^ >]+@[^ >]+)>")
_URL = re.compile(r"(https?://[^\s<]+[^<.,:;\"')\]\s])")
_LINK = re.compile(r"\[(" + _LINK_INSIDE + r")\]\(" + _LINK_HREF_AND_TITLE + r"\)")
_EM = re.compile(
    r"\b_((?:__|\\[\s\S]|[^\\_])+?)_\b"
    r"|\*(?=\S)((?:\*\*|\\[\s\S]|\s+(?:\\[\s\S]|[^\s\*\\]|\*\*)|[^\s\*\\])+?)\*(?!\*)",
    re.ASCII,
)
_STRONG = re.compile(r"\*\*((?:\\[\s\S]|[^\\])+?)\*\*(?!\*)")
_U = re.compile(r"__((?:\\[\s\S]|[^\\])+?)__(?!_)")
_DEL = re.compile(r"~~(?=\S)((?:\\[\s\S]|~(?!~)|[^\s~]|\s(?!~~))+?)~~")
_SPOILER = re.compile(r"\|\|([\s\S]+?)\|\|")
_INLINE_CODE = re.compile(r"(`+)([\s\S]*?[^`])\1(?!`)")
_TEXT = re.compile(r"[\s\S]+?(?=[^0-9A-Za-z\s\u00c0-\uffff]|\n\n| {2,}\n|[A-Za-z0-9_]+:\S|\Z)")


@dataclass(frozen=True, slots=True)
class Link:
    kind: Kind
    target: str
    text: str  # what the reader sees as the clickable part


def _inline(source: str, links: list[Link]) -> str:
    """Parse ``source`` as inline markdown; append every link found to ``links``; return the shown text."""
    shown: list[str] = []
    while source:
        if m := _ESCAPE.match(source):
            shown.append(m[1])
        elif m := _AUTOLINK.match(source):
            links.append(Link("autolink", m[1], m[1]))
            shown.append(m[1])
        elif m := _MAILTO.match(source):
            target = m[1] if re.search("mailto:", m[1], re.IGNORECASE) else "mailto:" + m[1]
            links.append(Link("mailto", target, m[1]))
            shown.append(m[1])
        elif m := _URL.match(source):
            links.append(Link("url", m[1], m[1]))
            shown.append(m[1])
        elif m := _LINK.match(source):
            inner: list[Link] = []
            text = _inline(m[1], inner)
            links.append(Link("masked", _UNESCAPE_URL.sub(r"\1", m[2]), text))
            links.extend(inner)
            shown.append(text)
        elif m := _emphasis(source):
            shown.append(_inline(m[2] or m[1] if m.re is _EM else m[1], links))
        elif (m := _DEL.match(source)) or (m := _SPOILER.match(source)):
            shown.append(_inline(m[1], links))
        elif m := _INLINE_CODE.match(source):
            shown.append(m[2])
        else:
            m = _TEXT.match(source)
            assert m is not None, source  # the text rule matches any non-empty source
            shown.append(m[0])
        source = source[len(m[0]) :]
    return "".join(shown)


def _emphasis(source: str) -> re.Match[str] | None:
    # em, strong and u share one order in simple-markdown; the longest match wins, em on ties.
    best: re.Match[str] | None = None
    best_quality = -1.0
    for pattern, bonus in ((_EM, 0.2), (_STRONG, 0.1), (_U, 0.0)):
        m = pattern.match(source)
        if m is not None and len(m[0]) + bonus > best_quality:
            best, best_quality = m, len(m[0]) + bonus
    return best


def links_in(markdown: str) -> list[Link]:
    """Every link a reader could click in ``markdown``, outermost first."""
    found: list[Link] = []
    # Discord parses each line's inline content; block rules (quotes, lists, headings) never create links.
    _inline(markdown, found)
    return found


def shown_text(markdown: str) -> str:
    """What the reader sees: escapes resolved, link syntax gone."""
    return _inline(markdown, [])


# --- what looks like an address to a reader --------------------------------------------------

_INVISIBLE = re.compile(
    r"[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ufe00-\ufe0f]|[\U000e0000-\U000e0fff]"
)
_DOT = "[.\u3002\uff0e\uff61]"
# Written independently of the renderer: a scheme followed by slashes, or a dotted name whose last part
# starts with a letter and has two characters or more ("support.example", "www.evil.example").
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*\s*[:\uff1a]\s*[/\\\uff0f\uff3c]")
_DOMAIN_RE = re.compile(rf"(?<![\w-])(?:[\w-]+{_DOT})+[^\W\d_][\w-]+", re.IGNORECASE)


def address_like(text: str) -> list[str]:
    """Every part of ``text`` a reader could take for a web address, invisible characters ignored."""
    visible = _INVISIBLE.sub("", text)
    found = [m[0] for m in _SCHEME_RE.finditer(visible)]
    found += [re.sub(_DOT, ".", m[0]).lower() for m in _DOMAIN_RE.finditer(visible)]
    return found
