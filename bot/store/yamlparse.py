"""Front matter: splitting it off the file and parsing it safely into plain Python data.

Parsing goes through :mod:`bot.store.fastyaml` first and falls back to PyYAML's safe loader (the C
one when libyaml is available), extended to reject what real article files never contain and what
would be dangerous or ambiguous: duplicate keys (PyYAML silently keeps the last), aliases and anchors
(the "billion laughs" expansion), and any tag beyond the plain JSON-like types. Nesting depth is
checked by scanning the text before any parser sees it. Every failure is a :class:`FrontMatterError`
with a specific reason and, when known, the 1-based line number in the file.
"""

from __future__ import annotations

import re
from typing import Any, Final

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from bot.store.fastyaml import parse_simple_yaml
from bot.store.limits import MAX_NESTING_DEPTH

__all__ = ["FrontMatterError", "parse_front_matter", "split_front_matter"]

_BaseLoader: type[yaml.SafeLoader] | type[yaml.CSafeLoader]
try:
    _BaseLoader = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    _BaseLoader = yaml.SafeLoader

_OPENING_RE = re.compile(r"---[ \t]*\n")
# What may follow ``---`` or ``...`` on a closing line: spaces and tabs, then the line's end.
_CLOSING_TAIL_RE = re.compile(r"[ \t]*(?=\n|\Z)")
_CLOSING_MARKS: Final = ("---", "...")
_YAML_PREFIX: Final = "tag:yaml.org,2002:"
_ALLOWED_TAGS = frozenset(
    f"{_YAML_PREFIX}{name}" for name in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map")
)
_QUOTED_RE = re.compile(r""""(?:[^"\\\n]|\\.)*"|'(?:[^'\n]|'')*'""")
_FLOW_RE = re.compile(r"[\[\]{}]")
_OPEN_QUOTE_RE = re.compile(r"""^ *(?:- +)*(?:[^ #"'][^:]*: +)?(["'])""")
_DOUBLE_CLOSED_RE = re.compile(r'(?:[^"\\]|\\.)*"')
_SINGLE_CLOSED_RE = re.compile(r"(?:[^']|'')*'")
# Characters libyaml refuses outright. They are swapped for private-use stand-ins while parsing and
# swapped back afterwards, so a stray C1 control from mojibake (``â€\x9d``) does not cost the file.
_REFUSED_CHARS_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f]")
_STAND_IN_BASE: Final = 0xF700
_TO_STAND_IN = {cp: _STAND_IN_BASE + cp for cp in (*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F)}
_TO_STAND_IN.update({cp: _STAND_IN_BASE + cp for cp in range(0x80, 0xA0) if cp != 0x85})
_FROM_STAND_IN = {stand_in: chr(cp) for cp, stand_in in _TO_STAND_IN.items()}


class FrontMatterError(Exception):
    """The front matter cannot be used. ``reason`` is shown to the operator; ``line`` is 1-based."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


def split_front_matter(text: str) -> tuple[str, str]:
    """Split ``text`` into its YAML front matter and its body.

    The file must start with a ``---`` line; the front matter ends at the next line that is ``---``
    (or ``...``), as Jekyll does. Line endings must already be ``\\n``.
    """
    opening = _OPENING_RE.match(text)
    if opening is None:
        if text.rstrip() == "---":
            raise FrontMatterError("unterminated YAML front matter (no closing --- line)", 1)
        raise FrontMatterError("no YAML front matter (file must start with ---)", 1)
    start = opening.end()
    closing = _closing_line(text, start)
    if closing is None:
        raise FrontMatterError("unterminated YAML front matter (no closing --- line)", 1)
    return text[start : closing[0]], text[closing[1] :]


def _closing_line(text: str, start: int) -> tuple[int, int] | None:
    """Where the first ``---`` or ``...`` line at or after ``start`` (a line start, not 0) begins,
    and where its marker and trailing blanks end.

    The same as searching for ``^(?:---|\\.\\.\\.)[ \\t]*$`` (multi-line) from ``start``, with
    ``str.find`` doing the scanning: a regex starting with ``^`` is tried at every position.
    """
    best: tuple[int, int] | None = None
    for mark in _CLOSING_MARKS:
        needle = "\n" + mark
        # find() gives -1 when there is no such line, so ``found`` is 0 then, never a line start here.
        limit = len(text) if best is None else best[0]  # only an earlier line can be the closing one
        found = start if text.startswith(mark, start) else text.find(needle, start, limit) + 1
        while found:
            tail = _CLOSING_TAIL_RE.match(text, found + 3)
            if tail is not None:
                best = (found, tail.end())
                break
            found = text.find(needle, found + 3, limit) + 1
    return best


def _check_nesting(text: str) -> None:
    """Reject front matter nested deeper than MAX_NESTING_DEPTH, before a parser recurses into it.

    Counts strictly increasing indentation levels (each ``- `` entry opens one) plus open flow
    brackets outside quoted strings. It is an over-estimate at worst by the odd bracket inside a
    plain scalar, which needs dozens of them to matter.
    """
    indents: list[int] = []
    flow = 0
    for number, line in enumerate(text.split("\n"), start=2):
        stripped = line.lstrip(" ")
        if not stripped or stripped[0] == "#":
            continue
        if flow == 0:
            column = len(line) - len(stripped)
            while indents and indents[-1] >= column:
                indents.pop()
            indents.append(column)
            while stripped[:2] in ("- ", "? ", ": ") or stripped in ("-", "?", ":"):
                rest = stripped[1:].lstrip(" ")
                column += len(stripped) - len(rest)
                indents.append(column)
                stripped = rest
                if len(indents) > MAX_NESTING_DEPTH:
                    break
        if "[" in stripped or "{" in stripped or flow:
            for bracket in _FLOW_RE.findall(_QUOTED_RE.sub("", stripped)):
                flow = flow + 1 if bracket in "[{" else max(flow - 1, 0)
                if flow + len(indents) > MAX_NESTING_DEPTH:
                    break
        if len(indents) + flow > MAX_NESTING_DEPTH:
            raise FrontMatterError(f"nesting too deep (more than {MAX_NESTING_DEPTH} levels)", number)


def _tag_name(tag: str) -> str:
    return "!!" + tag[len(_YAML_PREFIX) :] if tag.startswith(_YAML_PREFIX) else tag


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 2  # +1 for 1-based, +1 for the opening --- line


class _AliasFound(Exception):
    """An alias was met while constructing; where it is written is looked up afterwards."""


def _first_alias_line(text: str) -> int | None:
    # The composed graph only has the anchored node; the events still know where the alias is.
    for event in yaml.parse(text, Loader=_BaseLoader):
        if isinstance(event, yaml.AliasEvent) and event.start_mark is not None:
            return int(event.start_mark.line) + 2
    return None


class _StrictLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """The safe loader, minus aliases, unusual tags and duplicate keys."""

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        if node in self.constructed_objects or node in self.recursive_objects:
            raise _AliasFound
        if node.tag not in _ALLOWED_TAGS:
            if node.tag == f"{_YAML_PREFIX}merge":
                raise FrontMatterError("YAML merge keys (<<) are not supported", _line(node))
            raise FrontMatterError(f"unsupported YAML tag {_tag_name(node.tag)!r}", _line(node))
        try:
            return super().construct_object(node, deep=deep)
        except ValueError as exc:  # e.g. a timestamp with month 13, an int with 5000 digits
            value = node.value if isinstance(node, ScalarNode) else node.tag
            if node.tag == f"{_YAML_PREFIX}int" and isinstance(value, str):
                raise FrontMatterError(f"number too long ({len(value):,} characters)", _line(node)) from None
            raise FrontMatterError(f"invalid value {str(value)[:60]!r}: {exc}", _line(node)) from None

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise FrontMatterError("mapping keys must be plain values, not lists or mappings", _line(key_node))
            key = self.construct_object(key_node, deep=deep)
            if key in mapping:
                raise FrontMatterError(f"duplicate key {str(key)[:60]!r}", _line(key_node))
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping


def _unclosed_quote(lines: list[str]) -> int | None:
    """Index of the first line whose value opens a quoted string without closing it."""
    for index, line in enumerate(lines):
        match = _OPEN_QUOTE_RE.match(line)
        if match is None:
            continue
        closing = _DOUBLE_CLOSED_RE if match.group(1) == '"' else _SINGLE_CLOSED_RE
        if closing.match(line, match.end()) is None:
            return index
    return None


def _yaml_error(exc: yaml.YAMLError, text: str) -> FrontMatterError:
    if isinstance(exc, yaml.reader.ReaderError):
        where = text.count("\n", 0, exc.position) + 2
        return FrontMatterError(f"unacceptable character U+{exc.character:04X} in front matter", where)
    if not isinstance(exc, yaml.MarkedYAMLError):
        return FrontMatterError(f"malformed YAML: {exc}")
    problem = exc.problem or "invalid YAML"
    context = exc.context or ""
    if "quoted scalar" in context and "end of stream" in problem:
        mark = exc.context_mark or exc.problem_mark
        return FrontMatterError("malformed YAML: unclosed quoted string", mark.line + 2 if mark else None)
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 2 if mark is not None else None
    if line is not None:
        lines = text.split("\n")
        source = lines[line - 2] if line - 2 < len(lines) else ""
        if "\t" in source[: len(source) - len(source.lstrip(" \t"))]:
            return FrontMatterError("malformed YAML: tab character used for indentation", line)
        # Article files never continue a quoted value on the next line, so a quote left open
        # before the point where the parser gave up is the likeliest cause.
        unclosed = _unclosed_quote(lines[: line - 1])
        if unclosed is not None:
            return FrontMatterError("malformed YAML: unclosed quoted string", unclosed + 2)
    detail = f" ({context})" if context else ""
    return FrontMatterError(f"malformed YAML: {problem}{detail}", line)


def _restore(value: Any) -> Any:
    if isinstance(value, str):
        return value.translate(_FROM_STAND_IN)
    if isinstance(value, list):
        return [_restore(item) for item in value]
    if isinstance(value, dict):
        return {_restore(key): _restore(item) for key, item in value.items()}
    return value


def _full_parse(text: str) -> Any:
    _check_nesting(text)
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text) from None
    except _AliasFound:
        raise FrontMatterError("YAML aliases (*name) are not supported", _first_alias_line(text)) from None
    except RecursionError:
        raise FrontMatterError(f"nesting too deep (more than {MAX_NESTING_DEPTH} levels)") from None
    except UnicodeEncodeError:
        raise FrontMatterError("front matter is not valid Unicode text (lone surrogate)") from None


def parse_front_matter(text: str) -> Any:
    """Parse front matter ``text`` into Python data (normally a ``dict``).

    Raises :class:`FrontMatterError` for anything unusable; never anything else for any ``str``.
    """
    data = parse_simple_yaml(text)
    if data is not None:
        return data
    if _REFUSED_CHARS_RE.search(text) is None:
        return _full_parse(text)
    substituted = text.translate(_TO_STAND_IN)
    data = parse_simple_yaml(substituted)
    if data is None:
        data = _full_parse(substituted)
    return _restore(data)
