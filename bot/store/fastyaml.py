"""A fast parser for the block-style YAML subset that the article generator writes.

libyaml builds a node object (with two position marks) for every scalar before PyYAML's Python
constructor turns it into a value; on article files with a hundred ``related`` entries that costs
more than everything else the loader does. The generator only ever writes block mappings and
sequences of one-line scalars, which a line-based parser handles several times faster.

The contract is deliberately one-sided: :func:`parse_simple_yaml` returns exactly what
``yaml.load(text, Loader=yaml.CSafeLoader)`` would, or ``None`` ("not sure") for anything outside
the subset: flow collections, block or multi-line scalars, anchors, aliases, tags, comments after
plain scalars, duplicate keys, tabs, unusual characters, excessive nesting. Callers then use the
full parser, which also produces the error messages. Plain scalars are resolved with PyYAML's own
resolver and constructors, so ``yes``, ``0x1F`` or ``2023-07-13`` mean what they mean to PyYAML.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Final

import yaml
from yaml.nodes import ScalarNode

from bot.store.limits import MAX_NESTING_DEPTH

__all__ = ["decode_double_quoted", "is_plain_string", "parse_simple_yaml"]

_DASH: Final = 0
_KEY: Final = 1
_SCALAR: Final = 2

# Characters libyaml reads as something other than a plain character: tab, CR, NEL, line and
# paragraph separators, BOM, non-characters, and (checked on the UTF-8 bytes, which is several times
# faster than a regex over the text) C0 and C1 controls. Any of them sends the file to the full parser.
_SPECIAL_CHARS = ("\t", "\r", "\x85", "\u2028", "\u2029", "\ufeff", "\ufffe", "\uffff")
_ORDINARY_BYTES = b"\n" + bytes(range(0x20, 0x7F)) + bytes(range(0x80, 0x100))
_C1_UTF8_RE = re.compile(rb"\xc2[\x80-\x9f]")
_TRAILING_COMMENT_RE = re.compile(r" +#.*\Z", re.S)
_ESCAPE_RE = re.compile(r"\\(?:x([0-9A-Fa-f]{2})|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))", re.S)
_SIMPLE_ESCAPES = {
    "0": "\x00",
    "a": "\x07",
    "b": "\x08",
    "t": "\t",
    "n": "\n",
    "v": "\x0b",
    "f": "\x0c",
    "r": "\r",
    "e": "\x1b",
    " ": " ",
    '"': '"',
    "/": "/",
    "\\": "\\",
    "N": "\x85",
    "_": "\xa0",
    "L": "\u2028",
    "P": "\u2029",
}
# First characters that make a scalar something other than a plain scalar.
_INDICATORS = frozenset("[]{},#&*!|>'\"%@`")
# The one timestamp shape the generator writes, built without going through the resolver.
_UTC_TIMESTAMP_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\Z")

_RESOLVER = yaml.resolver.Resolver()
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_SCALAR_TAGS = ("str", "int", "float", "bool", "null", "timestamp")
_SCALAR_CONSTRUCTORS = {
    f"tag:yaml.org,2002:{name}": yaml.constructor.SafeConstructor.yaml_constructors[f"tag:yaml.org,2002:{name}"]
    for name in _SCALAR_TAGS
}
# Plain scalars repeat a lot across files ("article", "true", "-1", provider names); values are
# immutable, so they can be shared. Cleared when full to bound memory.
_PLAIN_CACHE: dict[str, Any] = {}
_PLAIN_CACHE_MAX: Final = 8192
_KEY_CACHE: dict[str, str] = {}
_MISSING: Final = object()

_Token = tuple[int, int, str, str]


class _OutsideSubset(Exception):
    """Raised internally when the text needs the full YAML parser."""


def _resolve_plain(value: str) -> Any:
    try:
        return _PLAIN_CACHE[value]
    except KeyError:
        pass
    if _UTC_TIMESTAMP_RE.match(value):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            raise _OutsideSubset from None
    tag = _RESOLVER.resolve(ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    construct = _SCALAR_CONSTRUCTORS.get(tag)
    if construct is None:
        raise _OutsideSubset
    try:
        result = construct(_CONSTRUCTOR, ScalarNode(tag, value))
    except (ValueError, yaml.YAMLError):
        raise _OutsideSubset from None
    if len(_PLAIN_CACHE) >= _PLAIN_CACHE_MAX:
        _PLAIN_CACHE.clear()
    _PLAIN_CACHE[value] = result
    return result


def _resolve_key(text: str) -> str:
    key = _resolve_plain(text)
    if not isinstance(key, str):
        raise _OutsideSubset  # "true:", "null:" and the like are not string keys
    if len(_KEY_CACHE) >= _PLAIN_CACHE_MAX:
        _KEY_CACHE.clear()
    _KEY_CACHE[text] = key
    return key


def _unescape(match: re.Match[str]) -> str:
    simple = match.group(4)
    if simple is not None:
        try:
            return _SIMPLE_ESCAPES[simple]
        except KeyError:
            raise _OutsideSubset from None
    code = int(match.group(1) or match.group(2) or match.group(3), 16)
    if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
        raise _OutsideSubset
    return chr(code)


def _double_quoted(value: str) -> str:
    start = 1
    while True:
        end = value.find('"', start)
        if end < 0:
            raise _OutsideSubset  # continues on the next line
        backslash = end - 1
        while value[backslash] == "\\":
            backslash -= 1
        if (end - 1 - backslash) % 2 == 0:
            break
        start = end + 1
    rest = value[end + 1 :]
    if rest and not _TRAILING_COMMENT_RE.match(rest):
        raise _OutsideSubset
    body = value[1:end]
    return _ESCAPE_RE.sub(_unescape, body) if "\\" in body else body


def _single_quoted(value: str) -> str:
    start = 1
    while True:
        end = value.find("'", start)
        if end < 0:
            raise _OutsideSubset
        if value.startswith("'", end + 1):
            start = end + 2
            continue
        break
    rest = value[end + 1 :]
    if rest and not _TRAILING_COMMENT_RE.match(rest):
        raise _OutsideSubset
    return value[1:end].replace("''", "'")


def _scalar(value: str) -> Any:
    first = value[0]
    if first == '"':
        return _double_quoted(value)
    if first == "'":
        return _single_quoted(value)
    if first in _INDICATORS:
        raise _OutsideSubset
    if first in "-?:" and (len(value) == 1 or value[1] == " "):
        raise _OutsideSubset
    if ": " in value or value.endswith(":") or " #" in value:
        raise _OutsideSubset
    return _resolve_plain(value)


def _tokenize(text: str) -> list[_Token]:
    """One ``(column, kind, text, value)`` token per mapping key, sequence dash or scalar line.

    ``value`` is the scalar written after ``key:`` on the same line, or ``""`` when the key's value
    is the nested block below it (or null).
    """
    tokens: list[_Token] = []
    append = tokens.append
    for line in text.split("\n"):
        stripped = line.lstrip(" ")
        if not stripped:
            continue
        column = len(line) - len(stripped)
        first = stripped[0]
        if first == "#":
            continue
        if column == 0 and (first == "%" or stripped.startswith(("---", "..."))):
            raise _OutsideSubset  # directives and document markers
        if first == "-":
            while first == "-" and (len(stripped) == 1 or stripped[1] == " "):
                append((column, _DASH, "", ""))
                rest = stripped[1:].lstrip(" ")
                column += len(stripped) - len(rest)
                stripped = rest
                if not rest or rest[0] == "#":
                    break
                first = rest[0]
            if not stripped or stripped[0] == "#":
                continue
        key, sep, value = stripped.partition(": ")
        if not sep:
            stripped = stripped.rstrip(" ")
            if stripped[-1] == ":":
                key = stripped[:-1]
                sep = ":"
        if sep and key.isidentifier() and key.isascii():
            append((column, _KEY, key, value.strip(" ")))
        else:
            append((column, _SCALAR, stripped.rstrip(" "), ""))
    return tokens


class _Parser:
    __slots__ = ("pos", "tokens")

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    def node(self, depth: int) -> Any:
        if depth > MAX_NESTING_DEPTH:
            raise _OutsideSubset
        column, kind, text, _ = self.tokens[self.pos]
        if kind == _DASH:
            return self.sequence(column, depth)
        if kind == _KEY:
            return self.mapping(column, depth)
        self.pos += 1
        return _scalar(text)

    def mapping(self, column: int, depth: int) -> dict[Any, Any]:
        tokens = self.tokens
        count = len(tokens)
        keys = _KEY_CACHE
        plain = _PLAIN_CACHE
        result: dict[Any, Any] = {}
        pos = self.pos
        while pos < count:
            col, kind, text, value = tokens[pos]
            if col != column:
                if col > column:
                    raise _OutsideSubset  # e.g. a plain scalar continued on the next line
                break
            if kind != _KEY:
                raise _OutsideSubset
            key = keys.get(text) or _resolve_key(text)
            if key in result:
                raise _OutsideSubset  # duplicate keys are reported by the full parser
            pos += 1
            if value:
                if value[0] == '"' and value[-1] == '"' and value.count('"') == 2 and "\\" not in value:
                    result[key] = value[1:-1]
                else:
                    # A cache hit means the same text already passed _scalar's checks as a plain scalar.
                    cached = plain.get(value, _MISSING)
                    result[key] = _scalar(value) if cached is _MISSING else cached
                continue
            if pos < count:
                col, kind = tokens[pos][:2]
                if col > column or (col == column and kind == _DASH):
                    self.pos = pos
                    result[key] = self.node(depth + 1)
                    pos = self.pos
                    continue
            result[key] = None
        self.pos = pos
        return result

    def sequence(self, column: int, depth: int) -> list[Any]:
        tokens = self.tokens
        count = len(tokens)
        result: list[Any] = []
        while self.pos < count:
            col, kind = tokens[self.pos][:2]
            if col != column:
                if col > column:
                    raise _OutsideSubset
                break
            if kind != _DASH:
                break
            self.pos += 1
            if self.pos < count and tokens[self.pos][0] > column:
                result.append(self.node(depth + 1))
            else:
                result.append(None)
        return result


def decode_double_quoted(body: str) -> str | None:
    """The value of the one-line double-quoted scalar ``"body"`` as :func:`parse_simple_yaml` reads
    it, or ``None`` for an escape outside the subset.

    ``body`` is the text between the quotes: it must not contain an unescaped ``"``, a line break or
    any character :func:`parse_simple_yaml` refuses outright (the caller checks that).
    """
    if "\\" not in body:
        return body
    try:
        return _ESCAPE_RE.sub(_unescape, body)
    except _OutsideSubset:
        return None


def is_plain_string(text: str) -> bool:
    """Whether :func:`parse_simple_yaml` reads ``text``, written as a plain scalar after ``key: ``, as
    the string ``text`` itself: not ``yes``, ``null``, ``0x1F`` or ``2023-07-13``, which PyYAML
    resolves to other types, and nothing outside the subset (``a # b``, ``a: b``, ``&a``).

    ``text`` must be one line without leading or trailing spaces or characters
    :func:`parse_simple_yaml` refuses outright (the caller checks that).
    """
    try:
        value = _scalar(text)
    except _OutsideSubset:
        return False
    return isinstance(value, str) and value == text


def parse_simple_yaml(text: str) -> Any | None:
    """Parse ``text`` if it is within the simple subset, else return ``None``.

    A document that is within the subset and equals YAML ``null`` is also reported as ``None``;
    the caller's full parser then decides.
    """
    if any(char in text for char in _SPECIAL_CHARS):
        return None
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError:
        return None  # lone surrogates
    if encoded.translate(None, _ORDINARY_BYTES) or _C1_UTF8_RE.search(encoded) is not None:
        return None
    try:
        tokens = _tokenize(text)
        if not tokens or tokens[0][0] != 0:
            return None
        parser = _Parser(tokens)
        result = parser.node(1)
        if parser.pos != len(tokens):
            return None
    except _OutsideSubset:
        return None
    return result
