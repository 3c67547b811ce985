"""The two ways names are compared: topics (case and spacing) and words (accents and punctuation too)."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from bot.store.keys import plain_words, topic_key


@given(st.text())
def test_plain_words_are_stable_words_without_accents_or_case(text: str) -> None:
    words = plain_words(text)
    assert plain_words(words) == words, "folding twice changes nothing"
    assert words == words.strip() and "  " not in words
    assert not any(unicodedata.combining(ch) for ch in unicodedata.normalize("NFKD", words))
    assert plain_words(text.upper()) == plain_words(text.lower()) or not text.isascii()


def test_accents_punctuation_and_case_do_not_split_or_change_words() -> None:
    assert plain_words("Café: Straße!  ") == "cafe strasse"
    assert plain_words("Tour-de-France") == "tour de france"
    assert plain_words("Pokémon") == plain_words("POKEMON")
    # A voiced kana decomposes into the kana and a combining mark outside the Latin accent blocks:
    # the mark goes, and the word stays one word (the catalog used to split it in two).
    assert plain_words("ガイド") == plain_words("カイト") == "カイト"
    assert plain_words("日本語のニュース") == "日本語のニュース"


@given(st.text(), st.lists(st.sampled_from([" ", "  ", "\t", "\n"]), min_size=1))
def test_topics_differing_in_case_or_spacing_are_one_topic(name: str, spaces: list[str]) -> None:
    spaced = spaces[0] + spaces[-1].join(name.split()) + spaces[-1]
    assert topic_key(spaced) == topic_key(name) == topic_key(topic_key(name))
    assert topic_key(name.upper()).casefold() == topic_key(name.upper())


def test_topics_differing_in_punctuation_stay_apart() -> None:
    assert topic_key("C++") != topic_key("C#")
    assert topic_key("  AI   News ") == topic_key("ai news") == "ai news"
