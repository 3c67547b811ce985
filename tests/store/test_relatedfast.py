"""The regex fast path for ``related`` entries gives exactly what the line-based path gives, or declines.

The reference is ``relatedblock._parse_chunk`` (dedent, :func:`parse_simple_yaml`, ``related_entry``)
and, one level down, :func:`parse_simple_yaml` itself: whenever :func:`related_data` answers, its
mapping must be the one ``parse_simple_yaml`` builds, with the same types, and where the whole front
matter is checked, the one libyaml builds.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bot.store import relatedblock
from bot.store.fastyaml import parse_simple_yaml
from bot.store.fields import related_entry
from bot.store.models import Provider, RelatedRef
from bot.store.relatedblock import parse_with_related_cache, split_related_block
from bot.store.relatedfast import related_data
from tests.store.conftest import SEED, RawFile

# --- references ---------------------------------------------------------------------------------


def same(left: Any, right: Any) -> bool:
    """Equality that also tells ``True`` from ``1`` and an aware datetime from a naive one."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(same(left[key], right[key]) for key in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, datetime):
        return left == right and left.utcoffset() == right.utcoffset()
    return bool(left == right)


def dedented(chunk: str, indent: int) -> str:
    """What ``relatedblock._parse_chunk`` hands to ``parse_simple_yaml`` (when it gets that far)."""
    lines = chunk.split("\n")
    return "\n".join([lines[0]] + [line[indent:] if line.startswith(" " * indent) else "" for line in lines[1:]])


def assert_chunk_agrees(chunk: str, indent: int) -> dict[str, Any] | None:
    """The fast mapping is None or parse_simple_yaml's, and the entry is always the reference's."""
    reference = relatedblock._parse_chunk(chunk, indent)
    data = related_data(chunk, indent)
    if data is not None:
        assert reference is not relatedblock._UNUSABLE, chunk
        expected = parse_simple_yaml(dedented(chunk, indent))
        assert same(data, expected), (chunk, data, expected)
        assert related_entry(data) == reference
    entry = relatedblock._parse_chunk_fast(chunk, indent)
    if reference is relatedblock._UNUSABLE:
        assert entry is relatedblock._UNUSABLE
    else:
        assert entry == reference
    return data


_OLD_KEY_RE = re.compile(r"^related: *\n", re.M)
_OLD_BLOCK_END_RE = re.compile(r"\n(?=[^ \n#])")


def old_split_related_block(front_matter: str) -> tuple[str, int, list[str]] | None:
    """split_related_block as it was before its searches were made cheaper, kept as the oracle."""
    match = _OLD_KEY_RE.search(front_matter)
    if match is None or _OLD_KEY_RE.search(front_matter, match.end()) is not None:
        return None
    start = match.end()
    end_match = _OLD_BLOCK_END_RE.search(front_matter, start - 1)
    end = end_match.start() + 1 if end_match else len(front_matter)
    block = front_matter[start:end].lstrip("\n")
    indent_match = re.match(r"( +)- ", block)
    if indent_match is None:
        return None
    indent = indent_match.group(1)
    chunks = ("\n" + block).split("\n" + indent + "- ")
    if chunks[0]:
        return None
    return front_matter[: match.start()] + front_matter[end:], len(indent), chunks[1:]


# --- examples -----------------------------------------------------------------------------------

_GENERATED = """\
title: "Lawsuit Highlights Legal Risks of Facial \\"Recognition\\" Tech\\u2019s \\\\ Edge"
    excerpt: "Multiple Minnesota: # not a comment, caf\\xe9 and \\U0001F600"
    publishedDateTime: 2023-07-13T20:23:00Z
    webUrl: "https://www.govtech.com/public-safety/lawsuit"
    ampWebUrl: "https://www.govtech.com/public-safety/lawsuit?_amp=true"
    cdnAmpWebUrl: "https://www-govtech-com.cdn.ampproject.org/c/s/www.govtech.com/lawsuit"
    type: article
    provider:
      name: Government Technology's Börsennews & Co.
      domain: govtech.com
    quality: 59
    images:
      - url: "https://images.example.net/a.jpg"
        width: 840
        height: 438
        isCached: true
      - url: "https://images.example.net/b.jpg"
        width: 0
        height: -1

"""


def test_the_generators_layout_takes_the_fast_path() -> None:
    data = assert_chunk_agrees(_GENERATED, 4)
    assert data is not None
    assert data["title"] == 'Lawsuit Highlights Legal Risks of Facial "Recognition" Tech\u2019s \\ Edge'
    assert data["excerpt"] == "Multiple Minnesota: # not a comment, caf\xe9 and \U0001f600"
    assert data["publishedDateTime"] == datetime(2023, 7, 13, 20, 23, tzinfo=UTC)
    assert data["provider"] == {"name": "Government Technology's Börsennews & Co.", "domain": "govtech.com"}
    assert data["images"][1] == {"url": "https://images.example.net/b.jpg", "width": 0, "height": -1}
    entry = related_entry(data)
    assert isinstance(entry, RelatedRef)
    assert entry.provider == Provider("Government Technology's Börsennews & Co.", "govtech.com")
    assert entry.image_url == "https://images.example.net/a.jpg"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("    quality: 59\n", ""),  # optional keys may be missing
        ("    images:" + _GENERATED.split("    images:")[1], ""),
        ("    type: article\n    provider:\n", "    provider:\n"),
        ('    webUrl: "https://www.govtech.com/public-safety/lawsuit"', '    webUrl: ""'),
        ("        isCached: true\n", ""),
        ("\n\n", ""),
    ],
)
def test_optional_parts_still_take_the_fast_path(old: str, new: str) -> None:
    assert old in _GENERATED
    assert assert_chunk_agrees(_GENERATED.replace(old, new, 1), 4) is not None


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("type: article", "type: yes"),  # a bool to PyYAML
        ("type: article", "type: null"),
        ("name: Government Technology's Börsennews & Co.", "name: 2023-07-13"),  # a date
        ("domain: govtech.com", "domain: 0x1F"),
        ("domain: govtech.com", "domain: govtech.com # comment"),
        ("domain: govtech.com", "domain: a: b"),
        ("domain: govtech.com", "domain: &anchor x"),
        ("quality: 59", "quality: 012"),  # octal
        ("quality: 59", "quality: 1_000"),
        ("quality: 59", 'quality: "59"'),
        ("isCached: true", "isCached: yes"),
        ("2023-07-13T20:23:00Z", "2023-02-30T20:23:00Z"),  # no such day
        ("2023-07-13T20:23:00Z", "2023-07-13"),
        ("caf\\xe9", "caf\\q"),  # unknown escape
        ("\\u2019", "\\ud83d"),  # lone surrogate
        ('lawsuit"\n', 'lawsuit" # comment\n'),
        ('lawsuit"\n', 'lawsuit"  \n'),
        ("    type: article\n", "    type: article\n    heat: 3\n"),  # a key the layout does not have
        ("    quality: 59\n", "    quality: 59\n    type: article\n"),  # twice: the full parser reports it
        ("      domain: govtech.com\n", ""),
        ("Multiple", "Multiple\t"),  # characters parse_simple_yaml refuses
        ("Multiple", "Multiple\u2028"),
        ("Multiple", "Multiple\x85"),
        ("Multiple", "Multiple\ufeff"),
        ("Government", "Government\x9d"),
        ("\n\n", "\n  # a comment\n"),
        ("      - url", "    - url"),  # a compact sequence
        ("    quality: 59\n", "    quality: 59\n\n"),  # a blank line inside the entry
    ],
)
def test_anything_unusual_is_declined(old: str, new: str) -> None:
    assert old in _GENERATED
    assert assert_chunk_agrees(_GENERATED.replace(old, new, 1), 4) is None


def test_keys_out_of_order_are_declined() -> None:
    chunk = _GENERATED.replace("    type: article\n", "").replace(
        "    quality: 59\n", "    quality: 59\n    type: article\n"
    )
    assert relatedblock._parse_chunk(chunk, 4) is not relatedblock._UNUSABLE  # fine for YAML
    assert assert_chunk_agrees(chunk, 4) is None


@pytest.mark.parametrize("value", ["1e3", "0o17", "9to5mac.com", "1.2.3", "-x", "x:y", "a#b", "Yahoo! News"])
def test_plain_scalars_that_stay_strings_take_the_fast_path(value: str) -> None:
    # PyYAML 1.1 reads these as strings: its float needs a dot, its octal is 0[0-7]+.
    data = assert_chunk_agrees(_GENERATED.replace("domain: govtech.com", f"domain: {value}"), 4)
    assert data is not None
    assert data["provider"]["domain"] == value


def test_other_indentations_take_the_fast_path() -> None:
    for indent in (1, 2, 3, 6, 10):
        chunk = _GENERATED.replace("\n    ", "\n" + " " * indent)
        assert assert_chunk_agrees(chunk, indent) is not None
    assert related_data(_GENERATED, 2) is None
    assert related_data(_GENERATED.replace("\n    ", "\n" + " " * 40), 40) is None  # beyond the bound


def test_seed_file_takes_the_fast_path() -> None:
    if not SEED.is_file():
        pytest.skip(f"../shared/seed not present: expected at {SEED.resolve()}")
    front_matter = SEED.read_text("utf-8").split("\n---\n", 1)[0].removeprefix("---\n") + "\n"
    split = split_related_block(front_matter)
    assert split is not None
    _, indent, chunks = split
    assert chunks
    for chunk in chunks:
        assert assert_chunk_agrees(chunk, indent + 2) is not None


def test_the_memo_keeps_its_bound_and_its_newest_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(relatedblock, "_CACHE", {})
    monkeypatch.setattr(relatedblock, "_CACHE_MAX", 8)
    monkeypatch.setattr(relatedblock, "_CACHE_EVICT", 2)
    chunks = [_GENERATED.replace("quality: 59", f"quality: {number}") for number in range(20)]
    assert relatedblock._related_entries(chunks, 2) == [relatedblock._parse_chunk(chunk, 4) for chunk in chunks]
    assert len(relatedblock._CACHE) <= 8
    assert (4, chunks[-1]) in relatedblock._CACHE
    assert (4, chunks[0]) not in relatedblock._CACHE


# --- the real corpus ------------------------------------------------------------------------------


@pytest.mark.corpus
def test_every_real_entry_agrees_and_most_take_the_fast_path(corpus_raw: dict[str, RawFile]) -> None:
    total = fast = 0
    checked: set[tuple[int, str]] = set()
    for rel_path, item in corpus_raw.items():
        split = split_related_block(item.front_matter)
        if split is None:
            assert not item.data.get("related"), rel_path
            continue
        _, indent, chunks = split
        expected = item.data["related"]
        assert len(chunks) == len(expected), rel_path
        for chunk, libyaml_entry in zip(chunks, expected, strict=True):
            total += 1
            data = related_data(chunk, indent + 2)
            if data is None:
                continue
            fast += 1
            assert same(data, libyaml_entry), (rel_path, chunk)
            if (indent, chunk) not in checked:
                checked.add((indent, chunk))
                assert_chunk_agrees(chunk, indent + 2)
    assert total > 50_000
    assert fast >= 0.95 * total, f"fast path took {fast} of {total} real entries"
    assert len(checked) > 3_000


# --- generated entries ----------------------------------------------------------------------------

# Fragments that mean something to YAML or to the fast path's patterns.
_PIECES = [
    *['"', "'", "\\", '\\"', "\\\\", "\\n", "\\t", "\\x41", "\\xe9", "\\u00e9", "\\u2028", "\\U0001F600"],
    *["\\ud83d", "\\q", "\\ ", "\\/", "\\N", "\\_", "\\0", "#", " #", "# ", ":", ": ", " :", "- ", "-", "?"],
    *["&a", "*a", "!!str ", "!", "|", ">", "%", "@", "`", "[", "]", "{", "}", ",", " ", "  ", "~"],
    *["yes", "No", "on", "OFF", "true", "False", "null", "Null", "~", "1e3", "0x1F", "0o17", "012", "1_000"],
    *["1:30", "-1", "0", "+5", ".5", ".inf", "2023-07-13", "2023-07-13T20:23:00Z", "=", "<<"],
    *["é", "’", "Ã¼", "â€”", "日本", "\U0001f600", "\xa0", "\t", "\x85", "\u2028", "\ufeff", "\x9d", "\x00", "\r"],
    *["x", "Word", "Two Words", "https://example.org/a?b=c&d=e#f", "\n"],
]
_soup = st.lists(st.sampled_from(_PIECES), max_size=6).map("".join)
# Text without the characters parse_simple_yaml refuses in the file (escaped, they are fine).
_REFUSED_RE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")


def _escape(char: str) -> str:
    if char == '"':
        return '\\"'
    if char == "\\":
        return "\\\\"
    if _REFUSED_RE.match(char):
        return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"
    return char


def quote(text: str) -> str:
    """``text`` as a YAML double-quoted scalar."""
    return '"' + "".join(_escape(char) for char in text) + '"'


# Raw text between double quotes that stays on its line and has no bare quote: escapes, good and bad.
_ESCAPES = ["\\\\", '\\"', "\\n", "\\t", "\\x41", "\\xe9", "\\x9d", "\\u00e9", "\\u2028", "\\U0001F600"]
_ESCAPES += ["\\ud83d", "\\q", "\\ ", "\\/", "\\N", "\\_", "\\0", "\\e", "\\L", "\\x4", "\\u12", "\\U0011FFFF"]
_WORDS = ["x", "Word", " ", "#", " #", ": ", "'", "é", "’", "日本", "\U0001f600", "\xa0", "https://example.org/a?b=c#f"]
_escaped_body = st.lists(st.sampled_from(_ESCAPES + _WORDS), max_size=6).map("".join)
_texts = st.one_of(st.text(max_size=30), _soup)
_quoted = st.one_of(
    _texts.map(quote), _escaped_body.map(lambda body: f'"{body}"'), _soup.map(lambda raw: f'"{raw}"'), _soup
)
_names = st.from_regex(r"[BCDGHJKLMPQRSVWXZ][a-z]{1,8}(?: [A-Za-z][a-z.&']{0,8}){0,2}", fullmatch=True)
# Plain scalars PyYAML reads as something other than a string, or that are not plain scalars at all,
# and a few that stay strings.
_TRICKY_PLAIN = ["yes", "No", "on", "OFF", "True", "null", "Null", "~", "1e3", "0x1F", "0o17", "012", "-1", ".5"]
_TRICKY_PLAIN += ["=", "<<", "2023-07-13", "1:30"]
_TRICKY_PLAIN += ["a: b", "a #b", "a#b", "- a", "-a", "?a", "&a", "*a", "!a", "%a", "@a", "`a", "'a'", "a:"]
_plain = st.one_of(
    _names,
    st.sampled_from(["article", "video", "Börsennews", "Le Lézard", "9to5mac.com", "Yahoo! News", "U.S. News & World"]),
    st.sampled_from(_TRICKY_PLAIN),
    _soup,
)
_int = st.one_of(st.integers(-(10**20), 10**20).map(str), st.sampled_from(["012", "1_000", "0x1F", "+5", "-0", "1e3"]))
_bool = st.sampled_from(["true", "false", "True", "yes", "no", "on", "null", "1", '"true"'])
_real_timestamp = st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31)).map(
    lambda when: when.strftime("%Y-%m-%dT%H:%M:%SZ")
)
_timestamp = st.one_of(
    _real_timestamp,
    st.sampled_from(["2023-02-30T00:00:00Z", "2023-07-13", "2023-07-13 20:23:00", "2023-07-13T20:23:00+02:00"]),
    st.sampled_from(["2023-07-13T24:00:00Z", "2023-7-13T20:23:00Z", '"2023-07-13T20:23:00Z"', "0023-07-13T20:23:00Z"]),
)
# Lines the generator does not write, with their depth: extra keys, a repeated key, comments, blanks.
_EXTRA_LINES = [(0, 'originalUrl: "https://example.org/x"'), (0, "heat: 3"), (0, 'title: "again"'), (0, "# note")]
_EXTRA_LINES += [(0, ""), (1, "images:"), (1, "# note"), (2, "extra: 1"), (0, "type:"), (0, "- stray"), (1, "")]

_Line = tuple[int, str]


_VALID_VALUES = {
    "quoted": st.text(max_size=30).map(quote),
    "plain": _names,
    "integer": st.integers(-(10**17), 10**17).map(str),
    "boolean": st.sampled_from(["true", "false"]),
    "timestamp": _real_timestamp,
}
_ODD_VALUES = {"quoted": _quoted, "plain": _plain, "integer": _int, "boolean": _bool, "timestamp": _timestamp}


@st.composite
def entries(draw: st.DrawFn, *, valid: bool = False) -> list[_Line]:
    """One ``related`` entry as (depth, text) lines, in the generator's layout or close to it.

    ``valid`` keeps to values the fast path must accept (well-quoted text, ordinary names,
    integers, ``true``/``false``, real timestamps) and to the layout. Otherwise about one value in
    eight is odd, and now and then a line is added or has something after its value, so that most
    entries are almost right, which is where a fast path goes wrong.
    """

    def value(kind: str) -> str:
        odd = not valid and draw(st.integers(0, 7)) == 0
        return draw((_ODD_VALUES if odd else _VALID_VALUES)[kind])

    def maybe() -> bool:
        return draw(st.booleans())

    lines: list[_Line] = [(0, f"title: {value('quoted')}")]
    for key, kind in (("excerpt", "quoted"), ("publishedDateTime", "timestamp"), ("webUrl", "quoted")):
        if maybe():
            lines.append((0, f"{key}: {value(kind)}"))
    for key in ("ampWebUrl", "cdnAmpWebUrl"):
        if maybe():
            lines.append((0, f"{key}: {value('quoted')}"))
    if maybe():
        lines.append((0, f"type: {value('plain')}"))
    if maybe():
        lines += [(0, "provider:"), (1, f"name: {value('plain')}"), (1, f"domain: {value('plain')}")]
    if maybe():
        lines.append((0, f"quality: {value('integer')}"))
    if maybe():
        lines.append((0, "images:"))
        for _ in range(draw(st.integers(1, 3))):
            lines.append((1, f"- url: {value('quoted')}"))
            for key, kind in (("width", "integer"), ("height", "integer"), ("isCached", "boolean")):
                if maybe():
                    lines.append((2, f"{key}: {value(kind)}"))
    if not valid:
        for _ in range(draw(st.sampled_from([0, 0, 0, 0, 1, 2]))):
            lines.insert(draw(st.integers(1, len(lines))), draw(st.sampled_from(_EXTRA_LINES)))
        if draw(st.integers(0, 5)) == 0:
            position = draw(st.integers(0, len(lines) - 1))
            depth, text = lines[position]
            lines[position] = (depth, text + draw(st.sampled_from([" ", "  ", " # c", "\t"])))
    return lines


def related_front_matter(items: list[list[_Line]], marker: int, step: int, tail: str) -> str:
    """Front matter with a ``related`` list of ``items``: ``marker`` spaces before each ``- ``,
    nested lines ``step`` spaces deeper per level (the generator: 2 and 2)."""
    out = ['title: "Host"', 'webUrl: "https://example.org/host"', "related:"]
    for lines in items:
        (_, first), *rest = lines
        out.append(" " * marker + "- " + first)
        for depth, text in rest:
            # An images item's keys sit under its "- ", two columns in, whatever the step.
            column = marker + 2 + (step * depth if depth < 2 else step + 2)
            out.append(" " * column + text if text else "")
    return "\n".join(out) + "\n" + tail


_tails = st.sampled_from(["", "\n", "heat: 1\n", "\ntopics:\n  - a\n", "# end\nquality: 3\n", "related: again\n"])


def assert_front_matter_agrees(text: str) -> list[dict[str, Any] | None]:
    split = split_related_block(text)
    old = old_split_related_block(text)
    assert split == old
    results = []
    if split is not None:
        _, indent, chunks = split
        results = [assert_chunk_agrees(chunk, indent + 2) for chunk in chunks]
        for result in results:
            event("fast path" if result is not None else "declined")
    # End to end against libyaml, when the memoised path answers at all.
    cached = parse_with_related_cache(text)
    if cached is not None:
        data, related = cached
        full = yaml.load(text, Loader=yaml.CSafeLoader)
        assert same(data, {key: value for key, value in full.items() if key != "related"})
        assert related == [related_entry(item) for item in full["related"]]
    return results


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    items=st.lists(entries(), min_size=1, max_size=3),
    marker=st.sampled_from([2, 2, 2, 2, 0, 1, 4]),
    step=st.sampled_from([2, 2, 2, 2, 2, 1, 3, 4]),
    tail=_tails,
)
def test_adversarial_entries_agree_or_are_declined(items: list[list[_Line]], marker: int, step: int, tail: str) -> None:
    assert_front_matter_agrees(related_front_matter(items, marker, step, tail))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    items=st.lists(entries(valid=True), min_size=1, max_size=3),
    marker=st.integers(1, 6),
    tail=st.sampled_from(["", "\n", "\n\n", "heat: 1\n", "\ntopics:\n  - a\n"]),
)
def test_valid_entries_take_the_fast_path_and_agree(items: list[list[_Line]], marker: int, tail: str) -> None:
    results = assert_front_matter_agrees(related_front_matter(items, marker, 2, tail))
    assert len(results) == len(items)
    assert all(result is not None for result in results)


@settings(max_examples=300)
@given(st.text(max_size=40))
def test_any_text_survives_quoting(text: str) -> None:
    lines: list[_Line] = [(0, f"title: {quote(text)}"), (0, f"excerpt: {quote(text[::-1])}")]
    (result,) = assert_front_matter_agrees(related_front_matter([lines], 2, 2, ""))
    assert result == {"title": text, "excerpt": text[::-1]}


# --- the cut into items ---------------------------------------------------------------------------

_SPLIT_PIECES = ["related:", "related: ", "related:x", "\n", "  - ", "- ", " ", "#", "a: 1", "  b: 2", "x", "\n\n"]


@settings(max_examples=500)
@given(st.lists(st.sampled_from(_SPLIT_PIECES), max_size=14).map("".join), st.integers(0, 40))
def test_key_search_matches_the_regex(text: str, start: int) -> None:
    start = min(start, len(text))
    found = relatedblock._search_related_key(text, start)
    expected = _OLD_KEY_RE.search(text, start)
    assert (found and found.span()) == (expected and expected.span())
    assert split_related_block(text) == old_split_related_block(text)
