"""normalize_url: two spellings of the same page get the same key; different pages do not."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.store.urls import host_of, normalize_url

CANONICAL = "https://example.org/news/widgets?a=1&b=2"


@pytest.mark.parametrize(
    "variant",
    [
        "https://example.org/news/widgets?a=1&b=2",
        "http://example.org/news/widgets?a=1&b=2",
        "HTTPS://EXAMPLE.ORG/news/widgets?a=1&b=2",
        "https://www.example.org/news/widgets?a=1&b=2",
        "https://example.org:443/news/widgets?a=1&b=2",
        "http://example.org:80/news/widgets?a=1&b=2",
        "https://example.org/news/widgets/?a=1&b=2",
        "https://example.org/news/widgets?b=2&a=1",
        "https://example.org/news/widgets?a=1&b=2#comments",
        "https://example.org/news/widgets?a=1&utm_source=feed&b=2&utm_medium=rss",
        "https://example.org/news/widgets?a=1&b=2&fbclid=XYZ&gclid=abc&ocid=msn",
        "https://example.org/news/widgets?a=1&b=2&_amp=true",
        "https://example.org/news/widgets?amp&a=1&b=2",
        "  https://example.org/news/widgets?a=1&b=2  ",
    ],
)
def test_trivial_variants_share_a_key(variant: str) -> None:
    assert normalize_url(variant) == normalize_url(CANONICAL)


@pytest.mark.parametrize(
    "other",
    [
        "https://example.org/news/widget?a=1&b=2",  # different path
        "https://example.org/News/widgets?a=1&b=2",  # paths are case-sensitive
        "https://example.org/news/widgets?a=1&b=3",  # different query value
        "https://example.org/news/widgets?a=1",
        "https://example.com/news/widgets?a=1&b=2",  # different host
        "https://blog.example.org/news/widgets?a=1&b=2",
        "https://example.org:8443/news/widgets?a=1&b=2",  # non-default port
    ],
)
def test_different_pages_keep_different_keys(other: str) -> None:
    assert normalize_url(other) != normalize_url(CANONICAL)


def test_percent_escapes_and_non_ascii_paths_compare_equal() -> None:
    assert normalize_url("https://example.org/caf%c3%a9/") == normalize_url("https://example.org/café")


def test_strings_that_are_not_urls_come_back_stripped() -> None:
    assert normalize_url("  not a url ") == "not a url"
    assert normalize_url("http://[broken") == "http://[broken"
    assert normalize_url("") == ""


def test_host_of() -> None:
    assert host_of("https://WWW.Example.org/x") == "example.org"
    assert host_of("https://news.example.org:8080/") == "news.example.org"
    assert host_of("nonsense") == ""
    assert host_of("http://[broken") == ""


_url_parts = st.fixed_dictionaries(
    {
        "scheme": st.sampled_from(["http", "https", "HTTP", "Https"]),
        "www": st.booleans(),
        "host": st.from_regex(r"[a-z][a-z0-9-]{0,10}\.(org|com|net)", fullmatch=True),
        "port": st.sampled_from(["", ":80", ":443", ":8080"]),
        "path": st.lists(st.from_regex(r"[A-Za-z0-9._~é%-]{1,8}", fullmatch=True), max_size=4),
        "slash": st.booleans(),
        "query": st.lists(
            st.tuples(
                st.sampled_from(["a", "b", "id", "utm_source", "fbclid", "page"]),
                st.from_regex(r"[a-z0-9]{0,4}", fullmatch=True),
            ),
            max_size=4,
        ),
        "fragment": st.sampled_from(["", "#top", "#x=1"]),
    }
)


def _build(parts: dict[str, object], *, reorder: bool = False) -> str:
    path = "/" + "/".join(parts["path"]) if parts["path"] else ""  # type: ignore[arg-type]
    if parts["slash"]:
        path += "/"
    query = list(parts["query"])  # type: ignore[call-overload]
    if reorder:
        query.reverse()
    query_text = "&".join(f"{k}={v}" for k, v in query)
    host = ("www." if parts["www"] else "") + str(parts["host"])
    return f"{parts['scheme']}://{host}{parts['port']}{path}{'?' + query_text if query_text else ''}{parts['fragment']}"


@given(_url_parts)
def test_idempotent_on_urls(parts: dict[str, object]) -> None:
    key = normalize_url(_build(parts))
    assert normalize_url(key) == key


@given(st.text())
def test_idempotent_and_total_on_any_text(text: str) -> None:
    key = normalize_url(text)
    assert normalize_url(key) == key


@given(_url_parts)
def test_scheme_case_www_slash_fragment_and_order_do_not_matter(parts: dict[str, object]) -> None:
    varied = {**parts, "scheme": "HTTP", "www": not parts["www"], "slash": not parts["slash"], "fragment": "#frag"}
    assert normalize_url(_build(varied, reorder=True)) == normalize_url(_build(parts))
