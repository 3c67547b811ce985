"""The fast YAML subset parser agrees with libyaml whenever it answers at all."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.store.fastyaml import parse_simple_yaml
from tests.store.conftest import RawFile


def reference(text: str) -> Any:
    return yaml.load(text, Loader=yaml.CSafeLoader)


def assert_agrees(text: str) -> Any:
    """The fast result is None ("not sure") or exactly what libyaml says; libyaml failing means None."""
    fast = parse_simple_yaml(text)
    try:
        expected = reference(text)
    except (yaml.YAMLError, ValueError, RecursionError):
        assert fast is None, f"fast parser accepted what libyaml rejects: {text!r}"
        return None
    if fast is not None:
        assert fast == expected
        assert type(fast) is type(expected)
    return fast


def test_generator_layout_is_inside_the_subset() -> None:
    text = """category: news
title: "Widgets \\"two\\" \\u00e9t\\u00e9 \\\\ done"
excerpt: 'It''s here'
publishedDateTime: 2024-03-01T10:30:00Z
type: article
quality: 57
heat: -1
published: false
ratio: 1.5
nothing:
empty: ""
provider:
  name: Example Daily
  domain: example.org
topics:
  - Widgets
  - "Gears"
related:
  - title: "A"
    images:
      - url: "https://example.org/a.png"
        width: 10
  - title: "B"   # a comment after a quoted value
compact:
- one
- two
"""
    fast = assert_agrees(text)
    assert fast is not None
    assert fast["title"] == 'Widgets "two" été \\ done'
    assert fast["publishedDateTime"] == datetime(2024, 3, 1, 10, 30, tzinfo=UTC)
    assert fast["related"][0]["images"][0]["width"] == 10
    assert fast["nothing"] is None
    assert fast["compact"] == ["one", "two"]


@pytest.mark.parametrize(
    "text",
    [
        "a: [1, 2]\n",  # flow collections
        "a: {b: 1}\n",
        "a: |\n  block\n",  # block scalars
        "a: >\n  folded\n",
        'a: "two\n  lines"\n',  # multi-line scalars
        "a: plain\n  continued\n",
        "a: &x 1\nb: *x\n",  # anchors, aliases, tags
        "a: !!str 1\n",
        "a: 1\na: 2\n",  # duplicate keys: left to the full parser, which rejects them
        "a: plain # comment\n",
        "a:\tb\n",
        "a: b\r\n",
        "a: '\x85'\n",
        "a: \ufeffb\n",
        "a: \x9d\n",
        "? complex\n: key\n",
        "true: x\n",  # a key that is not a string
        "--- \na: 1\n",
        "a: 2023-13-45T00:00:00Z\n",  # libyaml fails on this date
        'a: "\\ud83d"\n',  # a lone surrogate escape
    ],
)
def test_outside_the_subset_is_declined(text: str) -> None:
    assert parse_simple_yaml(text) is None
    assert_agrees(text)


def test_nesting_beyond_the_limit_is_declined() -> None:
    text = "".join(" " * depth + f"k{depth}:\n" for depth in range(40)) + " " * 40 + "leaf: 1\n"
    assert parse_simple_yaml(text) is None


@pytest.mark.corpus
def test_every_corpus_file_is_inside_the_subset_and_agrees(corpus_raw: dict[str, RawFile]) -> None:
    for rel_path, item in corpus_raw.items():
        fast = parse_simple_yaml(item.front_matter)
        assert fast is not None, rel_path
        assert fast == item.data, rel_path


# Structured data the generator could plausibly write, dumped by PyYAML in several styles.
_keys = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.sampled_from(["yes", "No", "null", "~", "0x1F", "0o17", "1_000", "1:30", "-1", ".5", "2024-01-01", "=", "<<"]),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 1, 1)),
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)),
)
_data = st.recursive(
    _scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(_keys, children, max_size=4)),
    max_leaves=25,
)


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=300)
@given(
    data=st.dictionaries(_keys, _data, min_size=1, max_size=6),
    style=st.sampled_from([None, '"', "'"]),
    width=st.sampled_from([40, 80, 10_000]),
    indent=st.sampled_from([2, 4]),
    unicode=st.booleans(),
)
def test_agrees_with_libyaml_on_dumped_data(
    data: dict[str, Any], style: str | None, width: int, indent: int, unicode: bool
) -> None:
    text = yaml.safe_dump(
        data, default_flow_style=False, default_style=style, width=width, indent=indent, allow_unicode=unicode
    )
    assert_agrees(text)


# Line soup: YAML-significant fragments in random order, to find disagreements on broken input.
_fragments = st.sampled_from(
    [
        "key: ",
        "other: ",
        "- ",
        "  ",
        " ",
        '"',
        "'",
        "\\",
        '\\"',
        "#",
        " #",
        ":",
        ": ",
        "[",
        "]",
        "{",
        "}",
        ",",
        "&a ",
        "*a",
        "!!str ",
        "|",
        ">",
        "?",
        "%",
        "---",
        "...",
        "x",
        "1",
        "-1",
        "true",
        "null",
        "~",
        "é",
        "’",
        "\t",
        "\x85",
        "\u2028",
        "\x9d",
        "2023-01-01T00:00:00Z",
        "2023-01-01",
        "\\u00e9",
        "\\x41",
        "\\q",
    ]
)
_lines = st.lists(st.lists(_fragments, max_size=6).map("".join), min_size=1, max_size=8)


@settings(max_examples=500)
@given(_lines)
def test_agrees_with_libyaml_on_line_soup(lines: list[str]) -> None:
    assert_agrees("\n".join(lines) + "\n")


_BLOCK_LINES = ["a: 1", "b: x", "- y", "c:", "  d: 2", "  - e", "    f: g", "- h: i", "", " - j", "   k: 3"]
_BLOCK_LINES += ["# c", "  # c", "-", "  -", "- - z", "-  l: 4", "   m: 5"]


@settings(max_examples=300)
@given(st.lists(st.sampled_from(_BLOCK_LINES), max_size=12))
def test_agrees_with_libyaml_on_block_structure(lines: list[str]) -> None:
    assert_agrees("\n".join(lines) + "\n")
