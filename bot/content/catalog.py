"""The autocomplete catalog: a slim in-memory index of article titles and topics.

Discord asks for choices on every keystroke, so these lookups stay in memory and aim at well under
a millisecond at 100k articles:

* Articles are numbered newest first, so "the most recent matches" are "the smallest numbers".
* Folded titles (case, accents and punctuation removed, see ``bot.store.keys.plain_words``) are kept in one string,
  ``blob``, as ``"\n title one\n title two\n"``. ``str.find`` on it jumps, at C speed, to the next
  title containing a word starting with X (search ``" X"``) or starting with X (``"\n X"``).
* ``by_title`` lists the numbers in folded-title order, for prefix search by bisection.
* ``words`` is the sorted vocabulary of title words, with the numbers of the titles using each
  word (one flat array plus offsets): it tells how common a prefix is, and lists the titles of
  rare ones directly.
* Misspelt words are corrected with rapidfuzz (C, about 35 times faster than ``difflib`` here)
  against a slice of the vocabulary sharing their first two letters.
* Each call has a time budget (``BUDGET_SECONDS``): the better tiers run first, and the ones that
  scan titles stop early on pathological input rather than make Discord wait (without it, a
  mistyped word costs 8-10 ms at 100k articles, most of it the final substring scan).

Memory at 100k articles is about 40 MB, mostly the ids and display titles themselves.
"""

from __future__ import annotations

import asyncio
import time
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context

from rapidfuzz import fuzz, process

from bot.content.memory import release_free_memory
from bot.db import DatabaseHandle as Database
from bot.db.repository import CatalogEntry
from bot.db.types import ArticleChoice, TopicCount, Visibility
from bot.render.limits import MAX_CHOICES, choice_name
from bot.store.keys import plain_words, topic_key

#: Titles of a word (or prefix) used by at most this many titles are listed from the vocabulary;
#: commoner ones are found by scanning titles newest first, which meets the limit quickly
#: precisely because they are common.
GATHER_MAX = 3000
#: Time one ``complete_articles`` call may spend before it stops looking for more matches.
BUDGET_SECONDS = 0.0007
#: From this many articles on, the catalog is built in a worker process (see ``Catalog._build``).
ISOLATE_MIN_ARTICLES = 20_000
#: Vocabulary words considered when correcting one mistyped query word.
FUZZY_WORDS_MAX = 200
#: Least similarity (``fuzz.ratio``, 0..100: twice the matching characters over the total length)
#: of a vocabulary word offered as the correction of a query word, and of a topic name offered for
#: a misspelt topic.
WORD_CORRECTION_MIN_SCORE = 75
TOPIC_CORRECTION_MIN_SCORE = 60


@dataclass(frozen=True, slots=True)
class _Topic:
    name: str
    key: str
    folded: str
    published: int
    total: int


class _Strings:
    """A read-only sequence of strings kept as one UTF-8 blob plus offsets.

    100k separate ``str`` objects cost about 50 bytes of overhead each, and being long-lived
    small objects created among the build's temporaries, they keep the allocator from handing
    that memory back to the system. One blob has neither problem.
    """

    __slots__ = ("_blob", "_starts")

    def __init__(self, items: Iterable[str]) -> None:
        encoded = [item.encode("utf-8", "surrogatepass") for item in items]
        self._blob = b"".join(encoded)
        self._starts = array("q", bytes(8 * (len(encoded) + 1)))
        pos = 0
        for i, item in enumerate(encoded):
            self._starts[i] = pos
            pos += len(item)
        self._starts[len(encoded)] = pos

    def __len__(self) -> int:
        return len(self._starts) - 1

    def __getitem__(self, i: int) -> str:
        return self._blob[self._starts[i] : self._starts[i + 1]].decode("utf-8", "surrogatepass")

    def slice(self, lo: int, hi: int) -> list[str]:
        return [self[i] for i in range(max(0, lo), min(hi, len(self)))]


class _Snapshot:
    """Immutable once built; ``Catalog.refresh`` swaps in a new one."""

    def __init__(self, entries: list[CatalogEntry]) -> None:
        n = len(entries)
        self.ids = _Strings(e.id for e in entries)
        self.titles = _Strings(choice_name(e.title, e.id) for e in entries)
        self.published = bytearray(int(e.published) for e in entries)
        self.quality = array("i", (e.quality for e in entries))
        domains: dict[str, int] = {}
        self.domain = array("i", (domains.setdefault(e.provider_domain.lower(), len(domains)) for e in entries))
        self.domain_ids = domains
        self._index_topics(entries)

        folded = [plain_words(e.title) for e in entries]
        # Entry i is blob[starts[i]:starts[i + 1]] == " " + folded title + "\n".
        self.blob = "\n" + "".join(f" {t}\n" for t in folded)
        self.starts = array("q", bytes(8 * (n + 1)))
        pos = 1
        for i, text in enumerate(folded):
            self.starts[i] = pos
            pos += len(text) + 2
        self.starts[n] = pos
        self.by_title = array("i", sorted(range(n), key=folded.__getitem__))

        postings: dict[str, list[int]] = {}
        for i, text in enumerate(folded):
            for word in set(text.split()):
                postings.setdefault(word, []).append(i)
        words = sorted(postings)
        self.word_start = array("q", [0])
        self.word_postings = array("i")
        for word in words:
            self.word_postings.extend(postings[word])  # ascending: newest first
            self.word_start.append(len(self.word_postings))
        self.words = _Strings(words)

    def _index_topics(self, entries: list[CatalogEntry]) -> None:
        topics: dict[str, int] = {}
        names: list[str] = []
        published: list[int] = []
        total: list[int] = []
        self.topic_start = array("i", [0])
        self.topic_ids = array("i")
        for e in entries:
            seen: set[int] = set()
            for name in e.topics:
                key = topic_key(name)
                index = topics.get(key)
                if index is None:
                    index = topics[key] = len(names)
                    names.append(name)
                    published.append(0)
                    total.append(0)
                if index not in seen:
                    seen.add(index)
                    self.topic_ids.append(index)
                    total[index] += 1
                    published[index] += e.published
            self.topic_start.append(len(self.topic_ids))
        self.topic_index = topics
        self.topics = [
            _Topic(name, key, plain_words(name), published[i], total[i])
            for (key, i), name in zip(topics.items(), names, strict=True)
        ]

    def title_key(self, i: int) -> str:
        return self.blob[self.starts[i] + 1 : self.starts[i + 1] - 1]

    def at(self, pos: int) -> int:
        """The number of the title that blob position ``pos`` falls in."""
        return bisect_right(self.starts, pos) - 1

    def word_range(self, prefix: str) -> tuple[int, int]:
        lo = bisect_left(self.words, prefix)
        return lo, bisect_left(self.words, prefix + "\U0010ffff", lo)

    def uses(self, lo: int, hi: int) -> int:
        """How many (title, word) pairs the vocabulary range holds: an upper bound on titles."""
        return self.word_start[hi] - self.word_start[lo]

    def titles_using(self, ranges: Iterable[tuple[int, int]]) -> list[int]:
        found: set[int] = set()
        for lo, hi in ranges:
            found.update(self.word_postings[self.word_start[lo] : self.word_start[hi]])
        return sorted(found)

    def has(self, i: int, needle: str) -> bool:
        return self.blob.find(needle, self.starts[i], self.starts[i + 1]) >= 0


def _visible_test(snap: _Snapshot, vis: Visibility) -> Callable[[int], bool]:
    need_published = not vis.include_unpublished
    min_quality = vis.min_quality
    hidden = vis.hidden_ids
    blocked_domains = {snap.domain_ids[d.lower()] for d in vis.blocked_domains if d.lower() in snap.domain_ids}
    blocked_topics = {snap.topic_index[k] for k in map(topic_key, vis.blocked_topics) if k in snap.topic_index}
    published, quality, domain, ids = snap.published, snap.quality, snap.domain, snap.ids
    starts, topic_ids = snap.topic_start, snap.topic_ids

    def visible(i: int) -> bool:
        if need_published and not published[i]:
            return False
        if quality[i] < min_quality:
            return False
        if hidden and ids[i] in hidden:
            return False
        if blocked_domains and domain[i] in blocked_domains:
            return False
        return not (blocked_topics and any(topic_ids[k] in blocked_topics for k in range(starts[i], starts[i + 1])))

    return visible


def _build_snapshot(read: Callable[[], list[CatalogEntry]]) -> _Snapshot:
    return _Snapshot(read())


class _Clock:
    """A deadline. Reading the clock costs far less than one candidate's checks, so every poll reads it."""

    __slots__ = ("deadline",)

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline

    def expired(self) -> bool:
        return time.perf_counter() > self.deadline


class Catalog:
    """``await Catalog.load(db)``, then ``complete_*`` synchronously; ``await refresh()`` after a reindex."""

    def __init__(self, db: Database, snapshot: _Snapshot, version: int = -1) -> None:
        self._db = db
        self._snap = snapshot
        self._version = version

    @classmethod
    async def load(cls, db: Database) -> Catalog:
        version = await db.articles.version()  # read first: a change meanwhile means one more rebuild
        return cls(db, await cls._build(db), version)

    @staticmethod
    async def _build(db: Database) -> _Snapshot:
        total = (await db.articles.stats(Visibility(include_unpublished=True))).articles_total
        if total < ISOLATE_MIN_ARTICLES:
            entries = await db.articles.catalog_entries()
            return await asyncio.to_thread(_Snapshot, entries)
        # A large catalog is built in a worker process (a second or two at 100k articles): the
        # hundreds of thousands of short-lived objects it takes would otherwise stay as resident
        # memory of the bot; only the compact result comes back.
        loop = asyncio.get_running_loop()
        with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
            return await loop.run_in_executor(pool, _build_snapshot, db.articles.catalog_reader())

    async def refresh(self) -> None:
        """Rebuild if the served articles changed since the last build (in any process)."""
        version = await self._db.articles.version()
        if version != self._version:
            self._snap = await self._build(self._db)
            self._version = version
            release_free_memory()  # the snapshot it replaced

    def __len__(self) -> int:
        return len(self._snap.ids)

    # --- articles --------------------------------------------------------------------------------

    def complete_articles(self, text: str, vis: Visibility, limit: int = MAX_CHOICES) -> list[ArticleChoice]:
        """Best matches first: titles starting with ``text``; then titles where each word of
        ``text`` starts a word; then titles containing ``text``; then titles matching a corrected
        spelling of a word. Newest first within each group; empty ``text`` lists the newest."""
        snap = self._snap
        limit = max(1, min(limit, MAX_CHOICES))
        visible = _visible_test(snap, vis)
        started = time.perf_counter()
        budget = BUDGET_SECONDS
        query = plain_words(text)
        picked: list[int] = []
        seen: set[int] = set()

        def take(candidates: Iterable[int], clock: _Clock) -> bool:
            for i in candidates:
                if i not in seen and visible(i):
                    seen.add(i)
                    picked.append(i)
                    if len(picked) >= limit:
                        return True
                if clock.expired():
                    break
            return False

        if not query:
            take(range(len(snap.ids)), _Clock(started + budget))
            return [ArticleChoice(snap.ids[i], snap.titles[i]) for i in picked]
        words = query.split()
        # Each tier may run until its share of the budget is used; a slow tier ends early and
        # leaves the rest of the time to the next.
        # Corrections come before substrings: they only run when a word starts no title word
        # (a likely typo), and then no substring of the whole text can match either.
        tiers: list[tuple[float, Callable[[_Clock], Iterable[int]]]] = [
            (0.35, lambda clock: _title_prefix(snap, query, clock)),
            (
                0.6,
                lambda clock: _all_words(snap, [[snap.word_range(w)] for w in words], [f" {w}" for w in words], clock),
            ),
            (0.85, lambda clock: _corrected(snap, words, clock)),
            (1.0, lambda clock: _scan(snap, query, clock)),
        ]
        for share, tier in tiers:
            clock = _Clock(started + budget * share)
            if take(tier(clock), clock):
                break
        return [ArticleChoice(snap.ids[i], snap.titles[i]) for i in picked]

    # --- topics ----------------------------------------------------------------------------------

    def complete_topics(self, text: str, vis: Visibility, limit: int = MAX_CHOICES) -> list[TopicCount]:
        """Topics with visible articles: names starting with ``text`` first, then names with a word
        starting with it, then names containing it, then similar spellings; most articles first
        within each group. Counts follow ``vis.include_unpublished`` only (not per-server filters)."""
        limit = max(1, min(limit, MAX_CHOICES))
        blocked = {topic_key(t) for t in vis.blocked_topics}
        pool = [
            (t, t.total if vis.include_unpublished else t.published)
            for t in self._snap.topics
            if t.key not in blocked and (t.total if vis.include_unpublished else t.published) > 0
        ]
        pool.sort(key=lambda tc: (-tc[1], tc[0].key))
        query = plain_words(text)
        if not query:
            return [TopicCount(t.name, n) for t, n in pool[:limit]]
        tiers: list[list[tuple[_Topic, int]]] = [[], [], []]
        for t, n in pool:
            if t.folded.startswith(query):
                tiers[0].append((t, n))
            elif f" {query}" in f" {t.folded}":
                tiers[1].append((t, n))
            elif query in t.folded:
                tiers[2].append((t, n))
        ranked = [tc for tier in tiers for tc in tier]
        if len(ranked) < limit:
            by_name = {t.folded: (t, n) for t, n in pool}
            for name in _close(query, list(by_name), limit, TOPIC_CORRECTION_MIN_SCORE):
                if by_name[name] not in ranked:
                    ranked.append(by_name[name])
        return [TopicCount(t.name, n) for t, n in ranked[:limit]]

    def closest_topics(self, text: str, n: int = 3) -> list[str]:
        """Known topics spelled like ``text``, for "unknown topic, did you mean ...?"."""
        # Most articles first, so that of two equally close spellings the commoner topic is offered.
        by_name = {t.folded: t.name for t in sorted(self._snap.topics, key=lambda t: (-t.total, t.key)) if t.total > 0}
        query = plain_words(text)
        if not query or n <= 0:
            return []
        close = _close(query, list(by_name), n, TOPIC_CORRECTION_MIN_SCORE)
        close += [k for k in sorted(by_name) if query in k and k not in close][: n - len(close)]
        return [by_name[k] for k in close]


def _close(query: str, choices: Sequence[str], limit: int, min_score: float) -> list[str]:
    """Up to ``limit`` of ``choices`` spelled most like ``query``, best first (ties in ``choices``' order)."""
    return [
        choice
        for choice, _score, _key in process.extract(
            query, choices, scorer=fuzz.ratio, limit=limit, score_cutoff=min_score
        )
    ]


# --- the tiers, each yielding article numbers newest first ---------------------------------------


_SCAN_CHUNK = 50_000


def _scan(snap: _Snapshot, needle: str, clock: _Clock) -> Iterator[int]:
    """Titles whose blob entry contains ``needle``, newest first, jumping with ``str.find`` over
    bounded stretches so that the clock is consulted between them."""
    blob, starts = snap.blob, snap.starts
    # A needle starting with the separator matches at the end of the previous entry.
    shift = 1 if needle.startswith("\n") else 0
    pos, end = 0, len(blob)
    while pos < end:
        stop = min(end, pos + _SCAN_CHUNK)
        hit = blob.find(needle, pos, stop + len(needle))
        if hit < 0:
            if clock.expired():
                return
            pos = stop
            continue
        i = snap.at(hit + shift)
        yield i
        pos = starts[i + 1] - shift


def _title_prefix(snap: _Snapshot, query: str, clock: _Clock) -> Iterator[int]:
    lo = bisect_left(snap.by_title, query, key=snap.title_key)
    hi = bisect_left(snap.by_title, query + "\U0010ffff", lo, key=snap.title_key)
    if hi - lo <= GATHER_MAX:
        yield from sorted(snap.by_title[lo:hi])
    else:
        yield from _scan(snap, f"\n {query}", clock)


def _all_words(
    snap: _Snapshot, alternatives: list[list[tuple[int, int]]], needles: list[str] | None, clock: _Clock
) -> Iterator[int]:
    """Titles where every query word is matched: ``alternatives[k]`` are the vocabulary ranges
    acceptable for word ``k``; ``needles[k]`` (when given) is the same test as a blob substring."""
    sizes = [sum(snap.uses(lo, hi) for lo, hi in ranges) for ranges in alternatives]
    if not sizes or min(sizes) == 0:
        return
    rarest = min(range(len(sizes)), key=sizes.__getitem__)
    others = [k for k in range(len(alternatives)) if k != rarest]
    if needles is not None:
        other_needles = [needles[k] for k in others]

        def accepts(i: int) -> bool:
            return all(snap.has(i, needle) for needle in other_needles)

    else:
        allowed = [{snap.words[j] for lo, hi in alternatives[k] for j in range(lo, hi)} for k in others]

        def accepts(i: int) -> bool:
            title_words = snap.title_key(i).split()
            return all(not words.isdisjoint(title_words) for words in allowed)

    if sizes[rarest] <= GATHER_MAX or needles is None:
        candidates: Iterable[int] = snap.titles_using(alternatives[rarest])
    else:
        candidates = _scan(snap, needles[rarest], clock)
    for i in candidates:
        if accepts(i):
            yield i
        elif clock.expired():
            return


def _corrected(snap: _Snapshot, words: list[str], clock: _Clock) -> Iterator[int]:
    """Each query word of three letters or more that starts no title word is replaced by up to
    three close vocabulary words sharing its first two letters (a bounded slice of the vocabulary)."""
    alternatives: list[list[tuple[int, int]]] = []
    changed = False
    for word in words:
        lo, hi = snap.word_range(word)
        if hi > lo or len(word) < 3:
            alternatives.append([(lo, hi)])
            continue
        bucket_lo, bucket_hi = snap.word_range(word[:2])
        near = bisect_left(snap.words, word, bucket_lo, bucket_hi)
        half = FUZZY_WORDS_MAX // 2
        window = snap.words.slice(max(bucket_lo, near - half), min(bucket_hi, near + half))
        close = _close(word, [w for w in window if abs(len(w) - len(word)) <= 2], 3, WORD_CORRECTION_MIN_SCORE)
        if not close:
            return
        changed = True
        alternatives.append([(k, k + 1) for k in (bisect_left(snap.words, c) for c in close)])
    if changed:
        yield from _all_words(snap, alternatives, None, clock)
