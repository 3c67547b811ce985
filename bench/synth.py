"""Synthetic article stores shaped like the real "Every Day" corpus, for benchmarks.

The shape (front-matter keys and their order, file sizes, related-list lengths, topics per article,
published ratio, quality and heat ranges, video items without ``webUrl``) follows measurements of
``../shared/corpus/real`` (3,000 files, see ``bench/RESULTS.md``). No corpus text is used: words are
made-up syllable strings drawn from a Zipf-like distribution, plus a handful of English words and
two brand words ("microsoft", "azure") that are planted in more than half of the articles so that
"search for a word that is in most articles" has a fixed answer.

Output is deterministic for a given ``(n, seed)``. A finished store has a ``manifest.json`` next to
its ``content/`` folder; ``ensure_store`` reuses such a store instead of writing it again.

Generation of 100k files (1.8 GB) takes 10-20 s on 2 CPUs, most of it the file system: every
article's ``related`` entry (a denormalised copy of the article, as in the real files) is formatted
once, each file's related list is a join of those pre-formatted blocks, and fixed-size chunks are
built in worker processes with their own seeds (so the output does not depend on the CPU count).
"""

from __future__ import annotations

import base64
import bisect
import itertools
import json
import multiprocessing
import os
import random
import re
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

GENERATOR_VERSION = 2
T = TypeVar("T")
R = TypeVar("R")
DEFAULT_BASE = Path(tempfile.gettempdir()) / "newsbot-bench"

# Planted brand words: the probability that an article of each site mentions them.
COMMON_WORDS = ("microsoft", "azure")

# Function words that real titles and excerpts are full of; they head the Zipf ranking.
# fmt: off
_ENGLISH = (
    "the", "to", "and", "of", "in", "for", "a", "is", "with", "on", "that", "new", "are", "it", "has", "you", "as",
    "its", "this", "will", "can", "your", "from", "be", "we", "now", "available", "preview", "public", "data",
    "cloud", "update", "service", "support", "general", "release", "more", "how", "at", "by", "an", "all", "what",
    "our", "about", "team", "first", "game", "app", "apps", "security", "platform", "build", "week", "features"
)
# fmt: on

# fmt: off
_ONSETS = (
    "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "br", "ch", "cl", "dr",
    "fl", "gr", "kr", "pl", "pr", "sh", "st", "str", "th", "tr", "",
)
# fmt: on
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ea", "ou", "y")
_CODAS = ("", "", "", "n", "r", "s", "l", "x", "nt", "rk", "st")

_PROVIDER_SUFFIXES = ("News", "Times", "Daily", "Wire", "Post", "Tech", "Today", "Insider", "Review", "Journal")
_TLDS = ("com", "com", "com", "net", "org", "io", "co.uk", "de")


@dataclass(frozen=True, slots=True)
class Site:
    folder: str
    share: float
    main_topic: str
    subtopics: tuple[str, ...]
    start: datetime
    days: int
    word_p: tuple[float, float]  # probability of "microsoft", "azure"
    related: bool


# Three sites like the three real ones: a big cloud site (60%), a game site (23%) and a small
# low-code site (17%) whose files, like the real one's, have no related lists.
# fmt: off
SITES = (
    Site("cloud-daily", 0.60, "Azure",
         ("Databases", "AI", "Storage", "Analytics", "Security", "Containers", "Integration", "Migration", "IoT",
          "DevOps", "Compute", "Management tools", "Networking", "Identity", "Developer tools", "Portals",
          "Serverless", "Web", "Mobile", "Blockchain", "Hybrid", "Media", "Governance", "Monitoring"),
         datetime(2021, 1, 1, tzinfo=UTC), 240, (0.75, 0.93), related=True),
    Site("game-daily", 0.23, "Dungeon Crawl",
         ("Barbarian", "Druid", "Sorceress", "Necromancer", "Rogue", "Patch Notes", "Esports", "Open Beta",
          "Seasons", "Builds"),
         datetime(2023, 2, 15, tzinfo=UTC), 90, (0.08, 0.04), related=True),
    Site("apps-daily", 0.17, "Low Code",
         ("Canvas apps", "Model-driven apps", "Teams integration", "AI Builder", "Connectors", "Portals",
          "Dataverse", "Automation"),
         datetime(2021, 5, 15, tzinfo=UTC), 1060, (0.92, 0.10), related=False),
)
# fmt: on

# Related-list length mixture for sites that have related lists, measured on the real corpus
# (its third site has none): 18% none, 24% 1-4, 33.5% 5-30, 15.3% 31-99 (mostly 31-70) and
# 8.9% 100-180 (mostly 110-179). Entries are about 750 bytes each, so they dominate file sizes.
_RELATED_MIX = ((0.18, 0, 0), (0.24, 1, 4), (0.335, 5, 30), (0.153, 31, 70), (0.089, 110, 180))
_INTERNAL_SHARE = 0.77  # share of related entries that point at another article of the same site
_NEIGHBOURHOOD = 300  # related articles are close in time: within this many articles of the source

_NON_SLUG = re.compile(r"[^a-z0-9]+")
_MOJIBAKE = ("â€™", "â€œ", "â€”", "Ã©", "Ã¼")
_ENTITIES = ("&#8217;", "&amp;", "&nbsp;", "&quot;")


@dataclass(frozen=True, slots=True)
class FileInfo:
    path: str  # relative to the content folder
    published: bool
    related: int  # entries in the file's related list
    duplicate_of: int | None  # index of the file whose URL this one repeats


@dataclass(frozen=True, slots=True)
class SynthStore:
    """A generated store. ``content`` is what the indexer is pointed at."""

    root: Path
    n: int
    seed: int
    files: tuple[FileInfo, ...]
    topics: dict[str, int]  # topic name -> number of articles
    word_df: dict[str, float]  # planted and Zipf-head words -> fraction of articles (title+excerpt)
    common_words: tuple[str, ...]  # words in more than half of the articles
    rare_words: tuple[str, ...]  # words in 1..5 articles
    title_words: tuple[str, ...]  # a sample of words seen in titles (autocomplete input)
    seconds: float

    @property
    def content(self) -> Path:
        return self.root / "content"

    @property
    def duplicates(self) -> int:
        return sum(1 for f in self.files if f.duplicate_of is not None)


class _Vocabulary:
    """English head words, then made-up words, weighted by a Zipf law (s = 1.05)."""

    def __init__(self, rng: random.Random, size: int) -> None:
        reserved = set(_ENGLISH) | set(COMMON_WORDS)
        words: list[str] = list(_ENGLISH)
        seen = set(words)
        syllables = [o + v + c for o in _ONSETS for v in _VOWELS for c in _CODAS]
        lengths = (1, 2, 2, 2, 3, 3, 4)
        while len(words) < size:
            word = "".join(rng.choices(syllables, k=rng.choice(lengths)))
            if len(word) >= 3 and word not in seen and word not in reserved:
                seen.add(word)
                words.append(word)
        self.words = words
        self.cum = list(itertools.accumulate(1.0 / (rank + 2.7) ** 1.05 for rank in range(size)))
        self.total = self.cum[-1]

    def sample(self, rng: random.Random, k: int) -> list[str]:
        cum, total, words, rand, hi = self.cum, self.total, self.words, rng.random, len(self.cum) - 1
        return [words[bisect.bisect(cum, rand() * total, 0, hi)] for _ in range(k)]


def _q(text: str) -> str:
    """A YAML double-quoted scalar."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _slug(words: list[str]) -> str:
    return _NON_SLUG.sub("-", " ".join(words[:10]).lower()).strip("-") or "item"


def _pick_count(rng: random.Random) -> int:
    r = rng.random()
    for share, lo, hi in _RELATED_MIX:
        if r < share:
            return rng.randint(lo, hi) if hi else 0
        r -= share
    return 0


def _quality(rng: random.Random) -> int:
    # Real: p10 30, median 72, p90 104, max 164.
    return max(0, min(164, int(rng.gauss(72, 28))))


def _heat(rng: random.Random, published: bool) -> int:
    # Real: every published item has heat >= 0; 82% of the unpublished ones never got promoted (-1).
    if not published and rng.random() < 0.82:
        return -1
    return min(3700, int(rng.lognormvariate(4.3, 0.75)))


def _related_block(
    title: str, excerpt: str, stamp: str, url: str, kind: str, pname: str, pdomain: str, quality: int, image: str | None
) -> str:
    block = (
        f"  - title: {_q(title)}\n    excerpt: {_q(excerpt)}\n    publishedDateTime: {stamp}\n"
        f"    webUrl: {_q(url)}\n    type: {kind}\n    provider:\n      name: {pname}\n      domain: {pdomain}\n"
        f"    quality: {quality}\n"
    )
    if image:
        block += (
            f'    images:\n      - url: "{image}"\n        width: 1200\n        height: 630\n        isCached: true\n'
        )
    return block


def _sentence(rng: random.Random, vocab: _Vocabulary, k: int, planted: list[str]) -> list[str]:
    words = vocab.sample(rng, k)
    for word in planted:
        words.insert(rng.randrange(len(words) + 1), word)
    return words


_CHUNK = 4_000  # articles per work unit; fixed so that output does not depend on the worker count


@dataclass(slots=True)
class _Plan:
    """Everything the workers share. Set before the pool forks, so it is inherited, not pickled."""

    seed: int
    vocab: _Vocabulary
    providers: list[tuple[str, str, str | None]]
    provider_cum: list[float]
    secured_pool: str
    bounds: list[int]  # site i owns articles bounds[i]:bounds[i + 1]
    offsets: list[int]  # seconds after the site's start, sorted within each site
    content: Path
    headers: list[str]
    blocks: list[str]  # each article as an entry of another article's related list
    external: list[str]  # related entries that point outside the store
    names: list[str]


@dataclass(slots=True)
class _Chunk:
    headers: list[str]
    blocks: list[str]
    names: list[str]
    published: list[bool]
    dup_of: list[int | None]
    doc_freq: Counter[str]
    topics: Counter[str]
    title_words: list[str]


_PLAN: _Plan | None = None


def _plan() -> _Plan:
    assert _PLAN is not None, "worker started without a plan"
    return _PLAN


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _build_articles(task: tuple[int, int, int, int]) -> _Chunk:
    """Front matter (all but ``related`` and ``secured``) for articles ``lo:hi`` of one site."""
    chunk_no, s_index, lo, hi = task
    plan = _plan()
    site, vocab, providers, pool = SITES[s_index], plan.vocab, plan.providers, plan.secured_pool
    rng = random.Random(f"{plan.seed}:articles:{chunk_no}")
    out = _Chunk([], [], [], [], [], Counter(), Counter(), [])
    titles: list[str] = []
    excerpts: list[str] = []
    urls: list[str] = []
    words_of: list[list[str]] = []
    for i in range(lo, hi):
        when = site.start + timedelta(seconds=plan.offsets[i])
        duplicate = i > lo + 10 and rng.random() < 0.01
        video = not duplicate and rng.random() < 0.008
        published = rng.random() < 0.30
        quality = _quality(rng)
        heat = _heat(rng, published)
        if duplicate:
            # The same story fetched twice: same URL and text, another day and another file name.
            source = rng.randrange(max(lo, i - 50), i)
            title, excerpt, url = titles[source - lo], excerpts[source - lo], urls[source - lo]
            pname, pdomain, logo = providers[0]
            when += timedelta(days=1)
            out.dup_of.append(source)
            tokens = words_of[source - lo]
        else:
            out.dup_of.append(None)
            planted_t: list[str] = []
            planted_e: list[str] = []
            for word, p in zip(COMMON_WORDS, site.word_p, strict=True):
                if rng.random() < p:
                    (planted_t if rng.random() < 0.6 else planted_e).append(word)
            t_words = _sentence(rng, vocab, rng.randint(5, 15) - len(planted_t), planted_t)
            e_words = _sentence(rng, vocab, int(rng.triangular(20, 60, 30)) - len(planted_e), planted_e)
            tokens = t_words + e_words
            if rng.random() < 0.5:
                t_words = [w.capitalize() for w in t_words]
            else:
                t_words[0] = t_words[0].capitalize()
            out.title_words.extend(t_words[:3])
            title = " ".join(t_words)
            r = rng.random()
            if r < 0.004:
                title = title.replace(" ", rng.choice(_MOJIBAKE) + "s ", 1)
            elif r < 0.05:
                title = title.replace(" ", "’s ", 1)
            cut = rng.randrange(4, len(e_words) - 2)
            e_words[cut] += rng.choice((".", ",", ".", " —", ":"))
            e_words[0] = e_words[0].capitalize()
            excerpt = " ".join(e_words)
            r = rng.random()
            if r < 0.03:
                excerpt = excerpt.replace(" ", f" {rng.choice(_ENTITIES)} ", 1)
            elif r < 0.33:
                excerpt += " ..."
            elif r < 0.45:
                excerpt += ".\n"
            else:
                excerpt += "."
            if video:
                pname, pdomain, logo = f"{t_words[0]} Channel", "youtube.com", None
                url = f"https://youtube.com/watch?v={pool[i % 3000 : i % 3000 + 11].replace('/', '_')}{i:x}"
            else:
                if s_index == 0 and rng.random() < 0.6:
                    pname, pdomain, logo = providers[0]
                else:
                    pick = bisect.bisect(plan.provider_cum, rng.random() * plan.provider_cum[-1])
                    pname, pdomain, logo = providers[pick if pick != 1 else 2]  # 1 is YouTube: videos only
                url = f"https://www.{pdomain}/{when:%Y/%m}/{_slug(t_words[:8])}-{i:x}"
        out.doc_freq.update(set(tokens))
        words_of.append(tokens)
        titles.append(title)
        excerpts.append(excerpt)
        urls.append(url)
        out.published.append(published)
        stamp = _stamp(when)

        topics = [
            site.main_topic,
            *rng.sample(site.subtopics, rng.choices((0, 1, 2, 3, 5), (71, 24.5, 4, 0.4, 0.1))[0]),
        ]
        out.topics.update(topics)

        image = None
        if video or rng.random() < 0.64:
            image = f"https://img.example-cdn.net/{pdomain}/{i:x}/{rng.randrange(10**9):09d}.jpg"

        kind = "video" if video else "article"
        out.blocks.append(
            _related_block(title, excerpt, stamp, "" if video else url, kind, pname, pdomain, quality, image)
        )
        lines = [
            "---\ncategory: news\n",
            f"title: {_q(title)}\n",
            f"excerpt: {_q(excerpt)}\n",
            f"publishedDateTime: {stamp}\n",
            f"originalUrl: {_q(url)}\n",
        ]
        if not video:  # real video items have no webUrl at all
            lines.append(f"webUrl: {_q(url)}\n")
            if rng.random() < 0.15:
                amp = url + "?amp"
                lines.append(
                    f"ampWebUrl: {_q(amp)}\ncdnAmpWebUrl: {_q('https://cdn.ampproject.example/c/s/' + amp[8:])}\n"
                )
        lines.append(
            f"type: {kind}\nquality: {quality}\nheat: {heat}\npublished: {'true' if published else 'false'}\n\n"
        )
        if video:
            embed = f'<iframe width="800" height="500" frameborder="0" src="{url}" allowfullscreen></iframe>'
            lines.append(f"featuredContent: {_q(embed)}\n\n")
        lines.append(f"provider:\n  name: {pname}\n  domain: {pdomain}\n")
        if logo:
            lines.append(f'  images:\n    - url: "{logo}"\n      width: 50\n      height: 50\n')
        lines.append("\ntopics:\n" + "".join(f"  - {t}\n" for t in topics))
        if image:
            lines.append(f'\nimages:\n  - url: "{image}"\n    width: 1200\n    height: 675\n    isCached: true\n')
        out.headers.append("".join(lines))
        out.names.append(f"{site.folder}/_news/{when:%Y-%m-%d}-{_slug(title.split())}")
    return out


def _build_external(task: tuple[int, int, int]) -> list[str]:
    """Related entries for stories elsewhere on the web (not in the store)."""
    chunk_no, lo, hi = task
    plan = _plan()
    rng = random.Random(f"{plan.seed}:external:{chunk_no}")
    blocks = []
    for j in range(lo, hi):
        title = " ".join(plan.vocab.sample(rng, rng.randint(5, 14))).capitalize()
        excerpt = " ".join(plan.vocab.sample(rng, rng.randint(15, 45))).capitalize() + " ..."
        pname, pdomain, _ = plan.providers[rng.randrange(2, len(plan.providers))]
        video = rng.random() < 0.002
        url = "" if video else f"https://news.{pdomain}/story/{j:x}/{_slug(title.split()[:6])}"
        when = SITES[0].start + timedelta(seconds=rng.randrange(4 * 365 * 86_400))
        image = f"https://img.example-cdn.net/ext/{j:x}.jpg" if rng.random() < 0.65 else None
        kind = "video" if video else "article"
        blocks.append(_related_block(title, excerpt, _stamp(when), url, kind, pname, pdomain, _quality(rng), image))
    return blocks


def _write_files(task: tuple[int, int, int, int]) -> list[int]:
    """Append related lists and ``secured`` to articles ``lo:hi`` of one site and write the files.

    Returns each file's related-list length.
    """
    chunk_no, s_index, lo, hi = task
    plan = _plan()
    rng = random.Random(f"{plan.seed}:related:{chunk_no}")
    rand = rng.random
    blocks, external, pool = plan.blocks, plan.external, plan.secured_pool
    n_ext = len(external)
    site_lo, site_hi = plan.bounds[s_index], plan.bounds[s_index + 1]
    counts = []
    for i in range(lo, hi):
        k = _pick_count(rng) if SITES[s_index].related else 0
        parts = [plan.headers[i]]
        if k:
            # Related stories are close in time: mostly neighbours in the same site, some external.
            a = max(site_lo, i - _NEIGHBOURHOOD)
            width = min(site_hi, i + _NEIGHBOURHOOD) - a
            chosen = [
                blocks[a + int(rand() * width)] if rand() < _INTERNAL_SHARE else external[int(rand() * n_ext)]
                for _ in range(k)
            ]
            if rand() < 0.02:  # real lists sometimes repeat an entry or link to themselves
                chosen.insert(int(rand() * (k + 1)), blocks[i] if rand() < 0.5 else chosen[0])
                k += 1
            parts.append("\nrelated:\n")
            parts.extend(chosen)
        secured = pool[(i * 37) % 3000 :][:420] + "=;" + pool[i % 500 :][:22] + "=="
        parts.append(f"\nsecured: {_q(secured)}\n---\n")
        (plan.content / plan.names[i]).write_bytes("".join(parts).encode("utf-8"))
        counts.append(k)
    return counts


def _site_tasks(bounds: list[int]) -> list[tuple[int, int, int, int]]:
    tasks = []
    for s_index in range(len(SITES)):
        for lo in range(bounds[s_index], bounds[s_index + 1], _CHUNK):
            tasks.append((len(tasks), s_index, lo, min(lo + _CHUNK, bounds[s_index + 1])))
    return tasks


def _run(func: Callable[[T], R], tasks: Sequence[T], workers: int) -> list[R]:
    if workers <= 1 or len(tasks) <= 1:
        return [func(t) for t in tasks]
    # fork: the workers inherit the plan (hundreds of MB of strings) instead of receiving a copy.
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        return pool.map(func, tasks, chunksize=1)


def generate(n: int, dest: Path, *, seed: int = 1, workers: int | None = None) -> SynthStore:
    """Write ``n`` article files under ``dest/content`` (replacing ``dest``) and a manifest.

    The output depends only on ``n`` and ``seed``, not on ``workers`` (default: all CPUs when
    ``n`` is large enough for processes to pay off).
    """
    global _PLAN
    started = time.perf_counter()
    if workers is None:
        workers = (os.cpu_count() or 1) if n >= 5_000 else 1
    if dest.exists():
        shutil.rmtree(dest)
    content = dest / "content"
    rng = random.Random(seed)
    vocab = _Vocabulary(rng, max(3_000, int(n * 0.6)))
    secured_pool = base64.b64encode(rng.randbytes(4096)).decode()

    providers: list[tuple[str, str, str | None]] = [
        ("Microsoft", "microsoft.com", None),
        ("YouTube", "youtube.com", None),
    ]
    for i in range(max(60, n // 150)):
        word = vocab.words[rng.randrange(200, 2_000)].capitalize()
        if i % 97 == 13:  # a few providers whose names were mis-decoded upstream
            word = word[:3] + rng.choice(_MOJIBAKE) + word[3:]
        domain = f"{word.lower().encode('ascii', 'ignore').decode()}{i}.{rng.choice(_TLDS)}"
        logo = f"https://static.example.net/organizations/{domain}-50x50.jpg" if rng.random() < 0.4 else None
        providers.append((f"{word} {rng.choice(_PROVIDER_SUFFIXES)}", domain, logo))
    provider_cum = list(itertools.accumulate(1.0 / (r + 1) ** 0.9 for r in range(len(providers))))

    # Per-site article ranges in date order, so that related links can pick neighbours in time.
    counts = [int(n * s.share) for s in SITES]
    counts[0] += n - sum(counts)
    bounds = list(itertools.accumulate([0, *counts]))
    offsets: list[int] = []
    for site, count in zip(SITES, counts, strict=True):
        offsets += sorted(rng.randrange(site.days * 86_400) for _ in range(count))

    _PLAN = _Plan(seed, vocab, providers, provider_cum, secured_pool, bounds, offsets, content, [], [], [], [])
    try:
        tasks = _site_tasks(bounds)
        n_ext = max(100, n // 4)
        ext_tasks = [(c, lo, min(lo + _CHUNK, n_ext)) for c, lo in enumerate(range(0, n_ext, _CHUNK))]
        chunks = _run(_build_articles, tasks, workers)
        external = [b for part in _run(_build_external, ext_tasks, workers) for b in part]

        plan = _PLAN
        plan.external = external
        published: list[bool] = []
        dup_of: list[int | None] = []
        doc_freq: Counter[str] = Counter()
        topic_count: Counter[str] = Counter()
        title_words: set[str] = set()
        used: set[str] = set()
        for chunk in chunks:
            plan.headers += chunk.headers
            plan.blocks += chunk.blocks
            published += chunk.published
            dup_of += chunk.dup_of
            doc_freq.update(chunk.doc_freq)
            topic_count.update(chunk.topics)
            title_words.update(chunk.title_words)
            for name in chunk.names:
                unique = name if name not in used else f"{name}-{len(plan.names)}"
                used.add(unique)
                plan.names.append(unique + ".md")

        for site in SITES:
            (content / site.folder / "_news").mkdir(parents=True)
        related = [k for part in _run(_write_files, tasks, workers) for k in part]
        names = plan.names
    finally:
        _PLAN = None

    word_df = {w: doc_freq[w] / n for w in (*COMMON_WORDS, *vocab.words[:60])}
    common = tuple(sorted((w for w, f in word_df.items() if f > 0.5), key=lambda w: -word_df[w]))
    tail = vocab.words[len(vocab.words) // 2 :]
    rare = tuple(w for w in tail if 1 <= doc_freq[w] <= 5)[:200]
    title_sample = tuple(random.Random(seed + 1).sample(sorted(title_words), min(500, len(title_words))))
    store = SynthStore(
        root=dest,
        n=n,
        seed=seed,
        files=tuple(FileInfo(*row) for row in zip(names, published, related, dup_of, strict=True)),
        topics=dict(topic_count.most_common()),
        word_df=word_df,
        common_words=common,
        rare_words=rare,
        title_words=title_sample,
        seconds=time.perf_counter() - started,
    )
    _write_manifest(store)
    return store


def _manifest_path(root: Path) -> Path:
    return root / "manifest.json"


def _write_manifest(store: SynthStore) -> None:
    data = {
        "version": GENERATOR_VERSION,
        "n": store.n,
        "seed": store.seed,
        "files": [[f.path, f.published, f.related, f.duplicate_of] for f in store.files],
        "topics": store.topics,
        "word_df": store.word_df,
        "common_words": store.common_words,
        "rare_words": store.rare_words,
        "title_words": store.title_words,
        "seconds": store.seconds,
    }
    tmp = _manifest_path(store.root).with_suffix(".tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, _manifest_path(store.root))  # the manifest appears only once every file is written


def _read_manifest(root: Path, n: int, seed: int) -> SynthStore | None:
    path = _manifest_path(root)
    if not path.is_file() or (root / DIRTY_MARKER).exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if (data.get("version"), data.get("n"), data.get("seed")) != (GENERATOR_VERSION, n, seed):
        return None
    return SynthStore(
        root=root,
        n=n,
        seed=seed,
        files=tuple(FileInfo(p, pub, rel, dup) for p, pub, rel, dup in data["files"]),
        topics=data["topics"],
        word_df=data["word_df"],
        common_words=tuple(data["common_words"]),
        rare_words=tuple(data["rare_words"]),
        title_words=tuple(data["title_words"]),
        seconds=data["seconds"],
    )


DIRTY_MARKER = "files-modified"


def modified_files(store: SynthStore) -> list[str]:
    """Files changed since the store was generated (the manifest is written after every file).

    ``restore`` puts modification times back, so a file listed here was changed by something else.
    """
    written = _manifest_path(store.root).stat().st_mtime_ns
    return [f.path for f in store.files if (store.content / f.path).stat().st_mtime_ns > written]


def ensure_store(n: int, *, seed: int = 1, base: Path = DEFAULT_BASE) -> tuple[SynthStore, bool]:
    """The store for ``(n, seed)`` under ``base``, generated unless a complete, unmodified one exists.

    Returns the store and whether it was reused.
    """
    root = base / f"store-n{n}-s{seed}-v{GENERATOR_VERSION}"
    existing = _read_manifest(root, n, seed)
    if existing is not None and not modified_files(existing):
        return existing, True
    return generate(n, root, seed=seed), False


@dataclass(frozen=True, slots=True)
class Rewrite:
    path: Path
    original: bytes
    mtime_ns: int
    title: str


def rewrite_titles(store: SynthStore, count: int, *, tag: str) -> list[Rewrite]:
    """Give ``count`` files (spread over the store, none involved in a duplicate) a new title.

    The caller checks the index, then calls ``restore``. A marker file makes ``ensure_store``
    regenerate the store if the caller dies before restoring.
    """
    (store.root / DIRTY_MARKER).touch()
    copied = {f.duplicate_of for f in store.files}
    candidates = [f for i, f in enumerate(store.files) if f.duplicate_of is None and i not in copied]
    step = max(1, len(candidates) // count)
    changed: list[Rewrite] = []
    for info in candidates[::step][:count]:
        path = store.content / info.path
        raw = path.read_bytes()
        mtime_ns = path.stat().st_mtime_ns
        head, sep, rest = raw.partition(b"\ntitle: ")
        line, nl, tail = rest.partition(b"\n")
        old = json.loads(line.decode("utf-8"))  # a YAML double-quoted line is valid JSON here
        new_title = f"{old} ({tag})"
        path.write_bytes(head + sep + _q(new_title).encode("utf-8") + nl + tail)
        changed.append(Rewrite(path, raw, mtime_ns, new_title))
    return changed


def restore(store: SynthStore, changed: list[Rewrite]) -> None:
    """Put back the bytes and modification times that ``rewrite_titles`` changed."""
    for item in changed:
        item.path.write_bytes(item.original)
        os.utime(item.path, ns=(item.mtime_ns, item.mtime_ns))
    (store.root / DIRTY_MARKER).unlink(missing_ok=True)
