"""The public pages: every page renders, hostile article text is escaped, unsafe links are not
links, ``secured`` is never shown, the Atom feed is valid, and the pages are off unless enabled."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tests.panel.conftest import HOSTILE_ID, Site

ATOM = "{http://www.w3.org/2005/Atom}"
PAGES = ["/", "/topics", "/topics/Security", "/search?q=router", f"/articles/{HOSTILE_ID}"]


async def fetch(site: Site, path: str) -> tuple[int, dict[str, str], str]:
    async with site.client() as http, http.get(site.base + path, allow_redirects=False) as response:
        return response.status, dict(response.headers), await response.text()


@pytest.mark.parametrize("path", PAGES)
async def test_public_pages_render_with_strict_headers(site: Site, path: str) -> None:
    status, headers, body = await fetch(site, path)
    assert status == 200, body
    assert '<main id="main"' in body and "<h1>" in body
    csp = headers["Content-Security-Policy"]
    for directive in (
        "default-src 'none'",
        "style-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
    ):
        assert directive in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "style=" not in body and "<script" not in body.replace("&lt;script", "")


async def test_hostile_article_text_is_escaped_everywhere(site: Site) -> None:
    for path in ["/", "/topics/Security", "/search?q=bold", f"/articles/{HOSTILE_ID}"]:
        status, _, body = await fetch(site, path)
        assert status == 200
        assert "<script>" not in body and "<img src=x" not in body and "<b>bold</b>" not in body, path
        assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;" in body, path


async def test_article_page_links_only_safe_urls_and_hides_secured(site: Site) -> None:
    _, _, body = await fetch(site, f"/articles/{HOSTILE_ID}")
    assert 'href="https://evil.example.com/story?a=1&amp;b=%3C2%3E"' in body  # safe_url's encoding, then escaped
    assert "javascript:" not in body  # the store drops a related entry whose link is not http(s)
    assert "&lt;script&gt;alert(&#39;related&#39;)" in body  # a related title is escaped
    assert 'href="https://other.example.org/related-story"' in body
    assert "TOP-SECRET-BLOB" not in body


async def test_unknown_topic_suggests_close_ones(site: Site) -> None:
    status, _, body = await fetch(site, "/topics/Securty")
    assert status == 404
    assert 'href="/topics/Security"' in body


async def test_search_refuses_an_overlong_query_with_a_message(site: Site) -> None:
    status, _, body = await fetch(site, "/search?q=" + "a" * 201)
    assert status == 400
    assert "at most 200 characters" in body


async def test_bad_page_number_is_a_clear_400(site: Site) -> None:
    status, _, body = await fetch(site, "/topics/Security?page=zero")
    assert status == 400 and "page must be a whole number" in body


async def test_topic_feed_is_valid_atom(site: Site) -> None:
    status, headers, body = await fetch(site, "/topics/Security/feed.atom")
    assert status == 200
    assert headers["Content-Type"].startswith("application/atom+xml")
    feed = ET.fromstring(body.encode())
    assert feed.tag == f"{ATOM}feed"
    for tag in ("id", "title", "updated", "author"):
        assert feed.find(f"{ATOM}{tag}") is not None, tag
    assert feed.find(f"{ATOM}link[@rel='alternate']") is not None
    entries = feed.findall(f"{ATOM}entry")
    assert entries
    for entry in entries:
        for tag in ("id", "title", "updated", "summary"):
            assert (entry.findtext(f"{ATOM}{tag}") or "").strip(), tag
        assert entry.find(f"{ATOM}link[@rel='alternate']") is not None
    hostile = [e for e in entries if e.findtext(f"{ATOM}id", "").endswith(HOSTILE_ID)]
    assert hostile[0].findtext(f"{ATOM}title").startswith("<script>")  # escaped in XML, text again when parsed
    assert "TOP-SECRET-BLOB" not in body


@pytest.mark.parametrize(
    "path", ["/topics", "/topics/Security", "/topics/Security/feed.atom", "/search?q=x", f"/articles/{HOSTILE_ID}"]
)
async def test_public_pages_are_off_unless_enabled(private_site: Site, path: str) -> None:
    status, _, _ = await fetch(private_site, path)
    assert status == 404


async def test_home_offers_the_login_when_not_public(private_site: Site) -> None:
    status, _, body = await fetch(private_site, "/")
    assert status == 200
    assert 'href="/login"' in body and "Latest news" not in body


async def test_health_and_metrics_stay_where_they_are(site: Site) -> None:
    assert (await fetch(site, "/healthz"))[0] == 200
    assert (await fetch(site, "/metrics"))[0] == 200
