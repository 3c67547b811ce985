"""The keyword language: what moderators type, how it matches, and which word an article fails."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.alerts.keywords import KeywordError, Text, parse
from bot.store.keys import plain_words as fold


def matches(query: str, *fields: str) -> bool:
    return parse(query).matches(Text.of(*fields))


def test_words_must_all_occur_in_title_excerpt_or_topics() -> None:
    assert matches("solar storage", "Solar farms", "with battery storage")
    assert matches("solar storage", "Farms", "news", ["Solar", "Storage"])
    assert not matches("solar storage", "Solar farms", "nothing else")


def test_case_and_accents_fold_like_search() -> None:
    assert matches("cafe", "Le CAFÉ du coin", "")
    assert matches("CAFÉ", "le cafe", "")
    assert fold("Café") == "cafe"


def test_whole_words_not_substrings() -> None:
    assert not matches("art", "Smart meters", "")
    assert matches("art", "Street art", "")


def test_phrases_need_their_words_in_a_row_within_one_field() -> None:
    assert matches('"heat pump"', "New heat pump rules", "")
    assert not matches('"heat pump"', "Heat and a pump", "")
    assert not matches('"heat pump"', "A new heat", "pump sales")


def test_exclusion_and_alternatives() -> None:
    assert matches("wind | tidal -oil", "Tidal power", "")
    assert not matches("wind | tidal -oil", "Tidal power", "and oil")
    assert not matches("wind | tidal", "Solar", "")


def test_first_failure_names_the_word() -> None:
    query = parse('solar "heat pump" -oil')
    failed = query.first_failure(Text.of("Solar heat pump oil", ""))
    assert failed is not None and failed.shown() == "-oil"
    failed = query.first_failure(Text.of("Solar", ""))
    assert failed is not None and failed.shown() == '"heat pump"'


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("-oil", "at least one word"),
        ("| wind", "between two"),
        ("wind |", "between two"),
        ("wind | -oil", "excluded word"),
        ('""', "empty phrase"),
        ("!!!", "no letters"),
        ("x" * 201, "at most 200"),
    ],
)
def test_bad_keywords_are_refused_with_the_reason(raw: str, message: str) -> None:
    with pytest.raises(KeywordError, match=message):
        parse(raw)


words = st.text(alphabet="abcdeéÉ", min_size=1, max_size=4)


@given(st.lists(words, min_size=1, max_size=5), st.lists(words, max_size=12))
def test_a_query_of_plain_words_matches_exactly_when_every_word_is_in_the_text(
    query_words: list[str], text_words: list[str]
) -> None:
    text = Text.of(" ".join(text_words))
    expected = all(fold(w) in {fold(t) for t in text_words} for w in query_words)
    assert parse(" ".join(query_words)).matches(text) == expected


@given(st.lists(words, min_size=1, max_size=5), st.lists(words, max_size=12))
def test_an_excluded_word_flips_the_answer(query_words: list[str], text_words: list[str]) -> None:
    text = Text.of(" ".join(text_words))
    base = parse("zzz")  # never present: the exclusion alone decides
    with_exclusion = parse("zzz -" + query_words[0])
    assert not base.matches(text) and not with_exclusion.matches(text)
    only = parse(f"{text_words[0]} -{query_words[0]}") if text_words else None
    if only is not None:
        assert only.matches(text) == (fold(query_words[0]) not in {fold(t) for t in text_words})


@given(st.lists(words, min_size=1, max_size=6), st.lists(words, max_size=10))
def test_index_keys_are_necessary(query_words: list[str], text_words: list[str]) -> None:
    query = parse(" | ".join(query_words[:2]) + " " + " ".join(query_words[2:]))
    text = Text.of(" ".join(text_words))
    if query.matches(text):
        assert query.index_keys() & text.words


@given(st.text(max_size=60))
def test_any_text_either_parses_or_is_refused_with_a_message(raw: str) -> None:
    try:
        query = parse(raw)
    except KeywordError as exc:
        message = str(exc)
        query = None
    if query is None:
        assert message
    else:
        # What `/alert list` shows reads back as the same query.
        assert parse(str(query)) == query
        assert any(not c.excluded for c in query.clauses)
