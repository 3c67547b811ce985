"""Every text field the loader puts on a record is cleaned: no bidirectional controls get through."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.store.loader import parse_article
from bot.store.models import Article
from tests.store.conftest import front_matter, related_yaml
from tests.store.test_text import _BIDI_CONTROL_PROPERTY, _BIDI_INSERTS, insert_anywhere

# Words a title, excerpt, provider or topic could hold, in both directions, with YAML's specials.
_WORDS = st.lists(
    st.sampled_from(["Security", "update", "https://support.example", "](", "[read]", "שלום", "مرحبا", "#", ": ", "'"]),
    min_size=1,
    max_size=6,
).map(" ".join)


def _yaml_string(text: str, escaped: bool) -> str:
    # A JSON string is a YAML double-quoted scalar: with ``escaped`` the controls are written as
    # ``\u202e`` escapes, otherwise as the raw characters.
    return json.dumps(text, ensure_ascii=escaped)


def _text_fields(article: Article) -> list[str]:
    texts = [article.title, article.excerpt, article.provider.name, *article.topics]
    for ref in article.related:
        texts += [ref.title, ref.excerpt]
        if ref.provider is not None:
            texts.append(ref.provider.name)
    return texts


@settings(max_examples=150, deadline=None)
@given(
    words=st.lists(_WORDS, min_size=8, max_size=8),
    inserts=st.lists(_BIDI_INSERTS, min_size=8, max_size=8),
    escaped=st.booleans(),
)
def test_no_bidi_control_reaches_a_record(
    words: list[str], inserts: list[list[tuple[int, str]]], escaped: bool
) -> None:
    # Numbered, so that the two topics never fold into one.
    words = [f"{number} {text}" for number, text in enumerate(words)]
    hostile = [_yaml_string(insert_anywhere(text, where), escaped) for text, where in zip(words, inserts, strict=True)]
    title, excerpt, provider, topic_one, topic_two, related_title, related_excerpt, related_provider = hostile
    text = front_matter(
        title=title,
        excerpt=excerpt,
        provider=f"\n  name: {provider}\n  domain: example.org",
        topics=f"\n  - {topic_one}\n  - {topic_two}",
        related=related_yaml(
            {
                "title": related_title,
                "excerpt": related_excerpt,
                "webUrl": '"https://example.org/news/other"',
                "provider": "",
            }
        ).replace("    provider: ", f"    provider:\n      name: {related_provider}\n      domain: other.example"),
    )
    article, issues = parse_article(text.encode("utf-8"), "news/2024-03-01-hostile.md")
    assert article is not None, issues
    texts = _text_fields(article)
    assert not set("".join(texts)) & set(_BIDI_CONTROL_PROPERTY)
    assert texts == [" ".join(text.split()) for text in words]
