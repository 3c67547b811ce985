"""parse_article: what ends up on the record, and why a bad file is turned away."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.store import loader
from bot.store.fields import article_id
from bot.store.limits import MAX_FILE_BYTES, MAX_NESTING_DEPTH
from bot.store.loader import parse_article
from bot.store.models import Article, LoadIssue
from tests.store.conftest import front_matter, related_yaml

PATH = "news/2024-03-01-widgets-two.md"


def accept(text: str | bytes, rel_path: str = PATH) -> tuple[Article, list[LoadIssue]]:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    article, issues = parse_article(raw, rel_path)
    assert article is not None, issues
    assert all(issue.severity == "warning" for issue in issues)
    return article, issues


def reject(text: str | bytes) -> LoadIssue:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    article, issues = parse_article(raw, PATH)
    assert article is None
    assert len(issues) == 1, issues
    (issue,) = issues
    assert issue.severity == "error"
    assert issue.path == PATH
    return issue


# ---------------------------------------------------------------------------------------------
# The record


def test_a_typical_file() -> None:
    article, issues = accept(
        front_matter(
            images=(
                '\n  - url: "https://example.org/img/widget.png"\n    width: 800\n    height: 600\n    isCached: true'
            ),
            provider=(
                "\n  name: Example Daily\n  domain: Example.org"
                '\n  images:\n    - url: "https://example.org/logo.png"\n      width: 50\n      height: 50'
            ),
        )
        + "\nBody text *in markdown*.\n\n"
    )
    assert issues == []
    assert article.id == "2024-03-01-widgets-two"
    assert article.path == PATH
    assert article.title == "Example Widgets ships version two"
    assert article.excerpt == "The widget maker released a new version with faster gears."
    assert article.body == "Body text *in markdown*."
    assert article.url == "https://www.example.org/news/widgets-two"  # stored exactly as written
    assert article.original_url == "https://www.example.org/news/widgets-two"
    assert article.published_at == datetime(2024, 3, 1, 10, 30, tzinfo=UTC)
    assert article.provider.name == "Example Daily"
    assert article.provider.domain == "example.org"
    assert article.provider.logo_url == "https://example.org/logo.png"
    assert article.topics == ("Widgets", "Gears")
    assert [(image.url, image.width, image.height) for image in article.images] == [
        ("https://example.org/img/widget.png", 800, 600)
    ]
    assert article.image_url == "https://example.org/img/widget.png"
    assert (article.quality, article.heat, article.published, article.type) == (57, 12, True, "article")
    assert article.has_featured_content is False
    assert article.secured == "ZmFrZS1zZWNyZXQ=;ZmFrZQ=="


def test_secured_is_kept_but_never_shown_in_repr() -> None:
    article, _ = accept(front_matter())
    assert article.secured == "ZmFrZS1zZWNyZXQ=;ZmFrZQ=="
    assert "ZmFrZS1zZWNyZXQ" not in repr(article)
    assert "ZmFrZS1zZWNyZXQ" not in str(article)


def test_defaults_for_optional_fields() -> None:
    article, _ = accept(
        front_matter(
            excerpt=None,
            type=None,
            quality=None,
            heat=None,
            published=None,
            provider=None,
            topics=None,
            secured=None,
            originalUrl=None,
        )
    )
    assert article.excerpt == ""
    assert (article.type, article.quality, article.heat, article.published) == ("article", 0, -1, True)
    assert (article.topics, article.images, article.related) == ((), (), ())
    assert article.secured is None
    assert article.original_url is None
    # No provider block: the domain comes from the URL's host, and names the provider too.
    assert (article.provider.name, article.provider.domain) == ("example.org", "example.org")


def test_video_items_without_web_url_use_the_original_url() -> None:
    article, _ = accept(
        front_matter(
            webUrl=None,
            type="video",
            originalUrl='"https://video.example.org/watch?v=abc"',
            featuredContent='"<iframe src=\\"https://video.example.org/embed/abc\\"></iframe>"',
        )
    )
    assert article.type == "video"
    assert article.url == article.original_url == "https://video.example.org/watch?v=abc"
    assert article.has_featured_content is True


def test_empty_web_url_counts_as_missing() -> None:
    article, _ = accept(front_matter(webUrl='""', originalUrl='"https://example.org/original"'))
    assert article.url == "https://example.org/original"


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2023-07-13T05:34:00Z", datetime(2023, 7, 13, 5, 34, tzinfo=UTC)),
        ("2023-07-13T07:34:00+02:00", datetime(2023, 7, 13, 5, 34, tzinfo=UTC)),
        ("2023-07-13 05:34:00", datetime(2023, 7, 13, 5, 34, tzinfo=UTC)),  # naive: UTC
        ("2023-07-13", datetime(2023, 7, 13, tzinfo=UTC)),
        ('"2023-07-13T05:34:00Z"', datetime(2023, 7, 13, 5, 34, tzinfo=UTC)),
        ('"2023-07-13T05:34:00+00:00"', datetime(2023, 7, 13, 5, 34, tzinfo=UTC)),
        ('"2023-07-13 05:34:00"', datetime(2023, 7, 13, 5, 34, tzinfo=UTC)),
        ('"2023-07-13"', datetime(2023, 7, 13, tzinfo=UTC)),
        ('"2023-07-13T05:34:00.250Z"', datetime(2023, 7, 13, 5, 34, 0, 250000, tzinfo=UTC)),
    ],
)
def test_published_date_forms(written: str, expected: datetime) -> None:
    article, _ = accept(front_matter(publishedDateTime=written))
    assert article.published_at == expected
    assert article.published_at.tzinfo is UTC


def test_text_fields_are_cleaned_but_urls_are_not() -> None:
    article, _ = accept(
        front_matter(
            title='"Volker TÃ¼rk &amp; the  widgets\\\\n"',
            excerpt='"It&#8217;s   here&nbsp;now\\n"',
            webUrl='"https://example.org/caf%C3%A9/TÃ¼rk?x=1&amp;y=2"',
            provider="\n  name: Caf&eacute; News\n  domain: ' EXAMPLE.org '",
            topics="\n  - ' Widgets '\n  - 'widgets'\n  - Gears&amp;Cogs",
        )
    )
    assert article.title == "Volker Türk & the widgets"
    assert article.excerpt == "It’s here now"
    assert article.url == "https://example.org/caf%C3%A9/TÃ¼rk?x=1&amp;y=2"
    assert article.provider.name == "Café News"
    assert article.provider.domain == "example.org"
    assert article.topics == ("Widgets", "Gears&Cogs")  # case-insensitive duplicate dropped


def test_topics_as_a_single_string() -> None:
    article, _ = accept(front_matter(topics=" Widgets"))
    assert article.topics == ("Widgets",)


def test_non_string_topics_are_dropped_with_a_warning() -> None:
    article, issues = accept(front_matter(topics="\n  - Widgets\n  - 2024\n  - [nested]\n  - Gears"))
    assert article.topics == ("Widgets", "Gears")
    assert [issue.reason for issue in issues] == [
        "dropped topic 2024: topics must be strings",
        "dropped topic ['nested']: topics must be strings",
    ]


def test_lenient_image_entries() -> None:
    article, issues = accept(
        front_matter(
            images=(
                '\n  - url: "https://example.org/a.png"\n    width: wide\n    height: "300"'
                "\n  - width: 10"
                '\n  - url: "https://example.org/b.png"\n    width: true\n    height: -5'
            )
        )
    )
    assert [(image.url, image.width, image.height) for image in article.images] == [
        ("https://example.org/a.png", None, 300),
        ("https://example.org/b.png", None, None),
    ]
    assert [issue.reason for issue in issues] == [
        "images entry 1: width is not an integer (string 'wide'); left out",
        "dropped images entry 2: it has no url",
        "images entry 3: width is not an integer (bool True); left out",
        "images entry 3: height is -5, outside 1 to 65,535; left out",
    ]


def test_related_entries() -> None:
    article, issues = accept(
        front_matter(
            related=related_yaml(
                {
                    "title": '"Gears get faster"',
                    "excerpt": '"TÃ¼rk said so."',
                    "publishedDateTime": "2024-02-01T08:00:00Z",
                    "webUrl": '"https://example.org/news/gears"',
                    "quality": "40",
                },
                {"title": '"Self link"', "webUrl": '"http://example.org/news/widgets-two/"'},
                {"title": '"No web URL"', "webUrl": '""', "originalUrl": '"https://example.org/original-only"'},
                {"title": '"Nothing to link"', "webUrl": '""'},
                {"title": '"Gears again"', "webUrl": '"https://www.example.org/news/gears?utm_source=x"'},
                {"title": '"Bad date"', "webUrl": '"https://example.org/bad-date"', "publishedDateTime": "soon"},
            )
            + "\n  - just a string"
        )
    )
    assert [(ref.title, ref.url) for ref in article.related] == [
        ("Gears get faster", "https://example.org/news/gears"),
        ("No web URL", "https://example.org/original-only"),
        ("Bad date", "https://example.org/bad-date"),
    ]
    first = article.related[0]
    assert first.excerpt == "Türk said so."
    assert first.published_at == datetime(2024, 2, 1, 8, tzinfo=UTC)
    assert first.quality == 40
    assert article.related[2].published_at is None
    assert [issue.reason for issue in issues] == ["dropped related entry 7: not a mapping"]


def test_related_entry_details() -> None:
    article, _ = accept(
        front_matter(
            related=(
                "\n  - title: Nested"
                '\n    webUrl: "https://example.org/nested"'
                "\n    provider:\n      name: Other&amp;Co\n      domain: Other.example.org"
                '\n    images:\n      - url: "https://example.org/n.png"\n        width: 5'
            )
        )
    )
    (ref,) = article.related
    assert ref.provider is not None
    assert (ref.provider.name, ref.provider.domain) == ("Other&Co", "other.example.org")
    assert ref.image_url == "https://example.org/n.png"


@pytest.mark.parametrize(
    ("written", "expected"), [("true", True), ("false", False), ('"false"', False), ("'True'", True)]
)
def test_published_flag(written: str, expected: bool) -> None:
    article, _ = accept(front_matter(published=written))
    assert article.published is expected


def test_numeric_strings_are_accepted_for_counts() -> None:
    article, _ = accept(front_matter(quality='"42"', heat="'-1'"))
    assert (article.quality, article.heat) == (42, -1)


@pytest.mark.parametrize(
    ("stem", "expected"),
    [
        ("2024-03-01-Widgets-Two", "2024-03-01-widgets-two"),
        ("x" * 90, "x" * 90),
    ],
)
def test_id_is_the_lowercased_stem(stem: str, expected: str) -> None:
    article, _ = accept(front_matter(), f"deep/folder/{stem}.md")
    assert article.id == expected


def test_long_ids_are_shortened_with_a_hash() -> None:
    stem = "a-very-long-slug-" * 10
    article, _ = accept(front_matter(), f"{stem}.md")
    assert len(article.id) == 90
    assert article.id.startswith(stem[:81] + "-")
    assert article.id == article_id(stem)
    assert article_id(stem + "x") != article.id  # differs even though the first 81 chars agree
    assert article_id(stem.upper()) != article.id  # hashed as written


def test_crlf_and_bom_give_the_same_article() -> None:
    text = front_matter() + "\nBody\n"
    plain, _ = accept(text)
    crlf, crlf_issues = accept(text.replace("\n", "\r\n"))
    bom, bom_issues = accept(b"\xef\xbb\xbf" + text.encode())
    assert crlf == plain
    assert bom == plain
    assert crlf_issues == bom_issues == []


def test_cp1252_file_is_accepted_with_a_warning() -> None:
    article, issues = accept(front_matter(title='"Café owners’ “favourite” widgets"').encode("cp1252"))
    assert article.title == "Café owners’ “favourite” widgets"
    assert [(issue.severity, issue.reason) for issue in issues] == [
        ("warning", "not valid UTF-8 (byte 0xE9 at line 3); decoded as cp1252")
    ]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_utf16_with_bom_is_decoded_with_a_warning(encoding: str) -> None:
    raw = front_matter(title='"Widgets für alle"').encode(encoding)
    if encoding == "utf-16-be":
        raw = b"\xfe\xff" + raw
    article, issues = accept(raw)
    assert article.title == "Widgets für alle"
    assert [issue.reason for issue in issues] == [
        "decoded as UTF-16 (byte order mark found); please save article files as UTF-8"
    ]


@pytest.mark.parametrize("style", ['"{}"', "{}"])
def test_c1_controls_from_mojibake_are_repaired_not_rejected(style: str) -> None:
    # libyaml refuses U+009D outright ("unacceptable character"); the loader still reads the file.
    article, issues = accept(front_matter(title=style.format("â€œWidgetsâ€\x9d are back")))
    assert article.title == "“Widgets” are back"
    assert issues == []


def test_c1_control_in_a_url_is_read_as_written_and_makes_it_unusable() -> None:
    # The parser's stand-in for U+009D is swapped back, so the link is judged as written: a control
    # character makes it unusable, and the article falls back to its originalUrl.
    article, issues = accept(front_matter(webUrl='"https://example.org/a\x9db"'))
    assert article.url == "https://www.example.org/news/widgets-two"
    assert [issue.reason for issue in issues] == [
        "'webUrl' not used: it contains a line break, tab or invisible character (U+009D)"
    ]


# ---------------------------------------------------------------------------------------------
# Rejections: one error each, with a specific reason


@pytest.mark.parametrize(
    ("text", "reason", "line"),
    [
        (front_matter(provider="\n  name: X\n domain: y"), "malformed YAML: did not find expected key", 14),
        (front_matter(title='"Unclosed title'), "malformed YAML: unclosed quoted string", 3),
        (front_matter(excerpt="'Unclosed excerpt"), "malformed YAML: unclosed quoted string", 4),
        (front_matter(provider="\n\tname: X"), "malformed YAML: tab character used for indentation", 13),
        (front_matter(topics=" [Widgets, Gears"), "malformed YAML: did not find expected ',' or ']'", 16),
        (front_matter(title="{unclosed: mapping"), "malformed YAML: did not find expected ',' or '}'", 4),
        (front_matter(title="a: b: c"), "malformed YAML: mapping values are not allowed in this context", 3),
    ],
)
def test_malformed_yaml_is_reported_with_its_line(text: str, reason: str, line: int) -> None:
    issue = reject(text)
    assert issue.reason.startswith(reason)
    assert issue.line == line


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("title: no delimiters\n", "no YAML front matter (file must start with ---)"),
        ("\n---\ntitle: x\n---\n", "no YAML front matter (file must start with ---)"),
        ("---\ntitle: never closed\n", "unterminated YAML front matter (no closing --- line)"),
        ("---", "unterminated YAML front matter (no closing --- line)"),
        ("", "empty file"),
        (" \n\n\t\n", "empty file"),
        ("---\n- a\n- b\n---\n", "front matter must be a mapping of fields, got a list"),
        (
            "---\njust a sentence\n---\n",
            "front matter must be a mapping of fields, got a single value ('just a sentence')",
        ),
        ("---\n42\n---\n", "front matter must be a mapping of fields, got a single value (42)"),
        (
            "---\n---\nbody only\n",
            "front matter must be a mapping of fields, got nothing (the front matter is empty or null)",
        ),
        ("---\n~\n---\n", "front matter must be a mapping of fields, got nothing (the front matter is empty or null)"),
    ],
)
def test_front_matter_shape(text: str, reason: str) -> None:
    assert reject(text).reason == reason


def test_duplicate_keys_are_rejected_at_the_second_one() -> None:
    text = front_matter().replace("type: article\n", "type: article\ntitle: Another title\n")
    issue = reject(text)
    assert issue.reason == "duplicate key 'title'"
    assert issue.line == 9


def test_duplicate_keys_in_nested_mappings_are_rejected() -> None:
    issue = reject(front_matter(provider="\n  name: A\n  domain: example.org\n  name: B"))
    assert issue.reason == "duplicate key 'name'"
    assert issue.line == 15


def test_duplicate_related_key_is_rejected() -> None:
    text = front_matter(related=related_yaml({"title": "A", "webUrl": "https://example.org/a"}))
    text = text.replace("---\n", "related: []\n---\n", 2).replace("related: []\n", "", 1)
    assert text.count("related") == 2
    assert reject(text).reason == "duplicate key 'related'"


@pytest.mark.parametrize(
    ("overrides", "reason", "line"),
    [
        ({"title": None}, "missing required field 'title'", None),
        ({"title": '"  &nbsp; "'}, "required field 'title' is empty", 3),
        ({"webUrl": None, "originalUrl": None}, "missing required field 'webUrl' or 'originalUrl'", None),
        ({"webUrl": '""', "originalUrl": '"  "'}, "missing required field 'webUrl' or 'originalUrl'", None),
        ({"publishedDateTime": None}, "missing required field 'publishedDateTime'", None),
        ({"publishedDateTime": "yesterday"}, "unparseable publishedDateTime: 'yesterday'", 5),
        ({"publishedDateTime": "12345"}, "unparseable publishedDateTime: 12345", 5),
        ({"publishedDateTime": '"13/07/2023"'}, "unparseable publishedDateTime: '13/07/2023'", 5),
    ],
)
def test_required_fields(overrides: dict[str, str | None], reason: str, line: int | None) -> None:
    issue = reject(front_matter(**overrides))
    assert (issue.reason, issue.line) == (reason, line)


def test_impossible_timestamp_is_rejected() -> None:
    issue = reject(front_matter(publishedDateTime="2023-13-45T00:00:00Z"))
    assert issue.reason == "invalid value '2023-13-45T00:00:00Z': month must be in 1..12"
    assert issue.line == 5


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"title": "\n  - a\n  - b"}, "'title' must be a string, got list"),
        ({"title": "2024"}, "'title' must be a string, got int 2024"),
        ({"excerpt": "\n  text: x"}, "'excerpt' must be a string, got mapping"),
        ({"webUrl": "\n  - https://example.org/x"}, "'webUrl' must be a string, got list"),
        ({"quality": "high"}, "'quality' must be an integer, got string 'high'"),
        ({"quality": "true"}, "'quality' must be an integer, got bool True"),
        ({"heat": "1.5"}, "'heat' must be an integer, got float 1.5"),
        ({"topics": "\n  a: 1"}, "'topics' must be a list of strings or a string, got mapping"),
        ({"topics": "42"}, "'topics' must be a list of strings or a string, got int"),
        ({"published": "maybe"}, "'published' must be true or false, got string 'maybe'"),
        ({"published": "1"}, "'published' must be true or false, got int 1"),
        ({"type": "\n  - video"}, "'type' must be a string, got list"),
        ({"provider": "\n  - Example"}, "'provider' must be a mapping, got list"),
        ({"provider": "\n  name:\n    - Example"}, "'provider.name' must be a string, got list"),
        ({"provider": "\n  domain: 42"}, "'provider.domain' must be a string, got int 42"),
        ({"images": "\n  url: x"}, "'images' must be a list, got mapping"),
        ({"related": " nope"}, "'related' must be a list, got string 'nope'"),
    ],
)
def test_type_drift_is_rejected_naming_the_field(overrides: dict[str, str], reason: str) -> None:
    text = front_matter(**overrides)
    issue = reject(text)
    assert issue.reason == reason
    assert issue.line == line_of(text, next(iter(overrides)))


def line_of(text: str, key: str) -> int:
    lines = text.split("\n")
    return next(number for number, line in enumerate(lines, start=1) if line.startswith(f"{key}:"))


def test_binary_content_is_rejected() -> None:
    issue = reject(front_matter().encode().replace(b"news", b"n\x00ews"))
    assert issue.reason == "binary file (contains NUL bytes)"
    assert issue.line == 2


def test_too_large_is_rejected_without_parsing() -> None:
    raw = front_matter().encode() + b"x" * MAX_FILE_BYTES
    started = time.perf_counter()
    issue = reject(raw)
    assert issue.reason.startswith("file too large (")
    assert f"the limit is {MAX_FILE_BYTES:,}" in issue.reason
    assert time.perf_counter() - started < 0.5


def test_bytes_that_are_neither_utf8_nor_cp1252_are_rejected() -> None:
    issue = reject(front_matter().encode().replace(b"news", b"n\x81ws"))
    assert issue.reason == "not UTF-8 text (byte 0x81 at line 2 is invalid in UTF-8 and cp1252)"


@pytest.mark.parametrize(
    "overrides",
    [
        {"topics": " " + "[" * 10_000},
        {"topics": " " + "{a: " * 5_000},
        {"provider": "".join("\n" + " " * (level + 1) + f"k{level}:" for level in range(200))},
        {"topics": "\n" + "".join("  " * level + "- \n" for level in range(100))},
        {"topics": "\n  " + "- " * 5_000 + "x"},
    ],
    ids=["flow-brackets", "flow-mappings", "block-mappings", "block-sequences", "compact-sequences"],
)
def test_deep_nesting_is_rejected_quickly(overrides: dict[str, str]) -> None:
    started = time.perf_counter()
    issue = reject(front_matter(**overrides))
    assert issue.reason == f"nesting too deep (more than {MAX_NESTING_DEPTH} levels)"
    assert issue.line is not None
    assert time.perf_counter() - started < 1.0


def test_reasonable_nesting_is_fine() -> None:
    accept(front_matter(related="\n  - title: x\n    webUrl: https://example.org/x\n    extra: [[[[[1]]]]]"))


BILLION_LAUGHS = """---
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
topics: *i
"""


def test_alias_bomb_is_rejected_quickly() -> None:
    started = time.perf_counter()
    issue = reject(BILLION_LAUGHS + front_matter(topics=None)[4:])
    assert issue.reason == "YAML aliases (*name) are not supported"
    assert issue.line == 3  # the first *a
    assert time.perf_counter() - started < 1.0


def test_a_single_alias_is_rejected() -> None:
    issue = reject(front_matter(excerpt="&summary Widgets are back", title="*summary"))
    # The alias comes before its anchor here, which libyaml reports itself.
    assert issue.reason == "malformed YAML: found undefined alias"
    issue = reject(front_matter(title="&t Widgets are back", excerpt="*t"))
    assert (issue.reason, issue.line) == ("YAML aliases (*name) are not supported", 4)


def test_merge_keys_are_rejected() -> None:
    issue = reject(front_matter(provider="\n  <<: {name: Example}\n  domain: example.org"))
    assert issue.reason == "YAML merge keys (<<) are not supported"


@pytest.mark.parametrize(
    ("value", "tag"),
    [
        ("!!python/object/apply:os.system ['echo hi']", "!!python/object/apply:os.system"),
        ("!!python/name:os.system ''", "!!python/name:os.system"),
        ("!!binary aGVsbG8=", "!!binary"),
        ("!!set {a}", "!!set"),
        ("!custom x", "!custom"),
    ],
)
def test_unsafe_and_unusual_tags_are_rejected(value: str, tag: str) -> None:
    issue = reject(front_matter(title=value))
    assert (issue.reason, issue.line) == (f"unsupported YAML tag {tag!r}", 3)


def test_standard_tags_are_allowed() -> None:
    article, _ = accept(front_matter(title="!!str 2024", quality="!!int '7'"))
    assert (article.title, article.quality) == ("2024", 7)


# ---------------------------------------------------------------------------------------------
# Robustness


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_never_raises_on_arbitrary_bytes(raw: bytes) -> None:
    article, issues = parse_article(raw, PATH)
    errors = [issue for issue in issues if issue.severity == "error"]
    assert (article is None) == (len(errors) == 1)
    assert len(errors) <= 1


_VALID = front_matter(
    related=related_yaml({"title": '"Gears"', "webUrl": '"https://example.org/gears"', "quality": "3"}),
    images='\n  - url: "https://example.org/a.png"\n    width: 5',
)


_DAMAGE = ["", "\n", " ", "\t", '"', "'", ":", "- ", "[", "{", "&a ", "*a", "!!", "#", "\x00", "\x9d", "é", "\\"]
_DAMAGE += ["---\n", "related:\n", "  - ", "\r"]


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=len(_VALID)),
            st.integers(min_value=0, max_value=3),
            st.sampled_from(_DAMAGE),
        ),
        max_size=4,
    )
)
def test_never_raises_on_damaged_articles(edits: list[tuple[int, int, str]]) -> None:
    text = _VALID
    for position, deleted, inserted in edits:
        text = text[:position] + inserted + text[position + deleted :]
    raw = text.encode("utf-8", "surrogatepass")
    article, issues = parse_article(raw, PATH)
    errors = [issue for issue in issues if issue.severity == "error"]
    assert (article is None) == (len(errors) == 1)
    # The memoised ``related`` path must not change any outcome.
    with mock.patch.object(loader, "parse_with_related_cache", return_value=None):
        assert parse_article(raw, PATH) == (article, issues)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(
    titles=st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=6),
    urls=st.lists(st.sampled_from(["a", "b", "c", "a/", "A"]), min_size=1, max_size=6),
    padding=st.sampled_from(["", "\n", "\n\n"]),
)
def test_related_cache_gives_what_a_full_parse_gives(titles: list[str], urls: list[str], padding: str) -> None:
    entries = [
        {"title": '"' + title.replace("\\", "\\\\").replace('"', '\\"') + '"', "webUrl": f'"https://example.org/{url}"'}
        for title, url in zip(titles, urls, strict=False)
    ]
    raw = front_matter(related=related_yaml(*entries) + padding).encode("utf-8", "surrogatepass")
    cached = parse_article(raw, PATH)
    with mock.patch.object(loader, "parse_with_related_cache", return_value=None):
        full = parse_article(raw, PATH)
    assert cached == full
