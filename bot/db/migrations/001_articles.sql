-- Articles, providers, topics, related links and the full-text index.
--
-- Reads never touch the source files: everything a command shows comes from these tables.
-- Times are integer epoch seconds (UTC). Flags are 0/1 integers.

CREATE TABLE providers (
    domain   TEXT PRIMARY KEY,          -- the stable key; names are noisy
    name     TEXT NOT NULL,             -- name carried by the most recently indexed article
    logo_url TEXT
) WITHOUT ROWID;

CREATE TABLE articles (
    -- rid = published_at * 1024 + a tie-breaker, so "ORDER BY rid DESC" over full-text matches
    -- is "newest first" without sorting (the frequent-word search path in bot.db.sqlite_articles).
    rid                  INTEGER PRIMARY KEY,
    id                   TEXT NOT NULL UNIQUE,
    path                 TEXT NOT NULL,
    url                  TEXT NOT NULL,
    norm_url             TEXT NOT NULL UNIQUE,   -- de-duplication key: one article per normalised URL
    url_key              INTEGER NOT NULL,       -- 64-bit hash of norm_url, joins related links cheaply
    title                TEXT NOT NULL,
    excerpt              TEXT NOT NULL,
    body                 TEXT NOT NULL,
    topics               TEXT NOT NULL,          -- JSON array of topic names, as in the file
    provider_name        TEXT NOT NULL,
    provider_domain      TEXT NOT NULL REFERENCES providers (domain),
    published_at         INTEGER NOT NULL,
    quality              INTEGER NOT NULL,
    heat                 INTEGER NOT NULL,
    published            INTEGER NOT NULL,
    type                 TEXT NOT NULL,
    has_featured_content INTEGER NOT NULL,
    secured              TEXT,                   -- opaque; never displayed or logged
    image_url            TEXT,
    images               TEXT NOT NULL,          -- JSON array of [url, width, height]
    original_url         TEXT
);

CREATE INDEX articles_path ON articles (path);
CREATE INDEX articles_url ON articles (url);
CREATE INDEX articles_url_key ON articles (url_key);
CREATE INDEX articles_provider ON articles (provider_domain);
-- Ordered, LIMIT-friendly scans for "latest" and "top"; the second pair serves include_unpublished.
CREATE INDEX articles_latest ON articles (published, published_at DESC, rid DESC);
CREATE INDEX articles_top ON articles (published, heat DESC, quality DESC, published_at DESC, rid DESC);
CREATE INDEX articles_latest_all ON articles (published_at DESC, rid DESC);
CREATE INDEX articles_top_all ON articles (heat DESC, quality DESC, published_at DESC, rid DESC);

CREATE TABLE topics (
    id        INTEGER PRIMARY KEY,
    name      TEXT NOT NULL,                -- the spelling first seen
    name_fold TEXT NOT NULL UNIQUE          -- case-folded: "azure" and "Azure" are one topic
);

-- Ranking columns are copied from articles so that topic pages are index-only ordered scans.
CREATE TABLE article_topics (
    rid          INTEGER NOT NULL REFERENCES articles (rid) ON DELETE CASCADE,
    topic_id     INTEGER NOT NULL REFERENCES topics (id),
    published    INTEGER NOT NULL,
    published_at INTEGER NOT NULL,
    heat         INTEGER NOT NULL,
    quality      INTEGER NOT NULL,
    PRIMARY KEY (rid, topic_id)
) WITHOUT ROWID;

CREATE INDEX article_topics_latest ON article_topics (topic_id, published, published_at DESC, rid DESC);
CREATE INDEX article_topics_top ON article_topics (topic_id, published, heat DESC, quality DESC, published_at DESC, rid DESC);
CREATE INDEX article_topics_latest_all ON article_topics (topic_id, published_at DESC, rid DESC);
CREATE INDEX article_topics_top_all ON article_topics (topic_id, heat DESC, quality DESC, published_at DESC, rid DESC);

-- Related lists. Files repeat the same few links many times over (3,000 real files carry 66,000
-- entries naming 3,200 distinct URLs), so each link's text is stored once, keyed by its
-- normalised URL, and each list is a run of keys. Lists are stored after dropping empty URLs,
-- self-links and repeats. Links resolve when read (related_links.url_key against
-- articles.url_key), so they follow their targets as articles come and go; unresolved ones are
-- shown as external links with the text below (the most recently indexed copy of it).
-- links.refs counts the list entries using a link, so unused links are found without an index on
-- related_links.url_key (which would cost a cold index of 100k articles more than a second).
CREATE TABLE links (
    url_key         INTEGER PRIMARY KEY,
    title           TEXT NOT NULL,
    url             TEXT NOT NULL,
    provider_name   TEXT,
    provider_domain TEXT,
    published_at    INTEGER,
    refs            INTEGER NOT NULL
);

CREATE TABLE related_links (
    rid      INTEGER NOT NULL REFERENCES articles (rid) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    url_key  INTEGER NOT NULL,
    PRIMARY KEY (rid, position)
) WITHOUT ROWID;

-- External content: the index stores no copy of the text. bot.db.sqlite_index, the only writer
-- of articles, adds and removes index rows in bulk statements next to its inserts and deletes:
-- per-row triggers would flush FTS5's pending terms on every row and make a cold index of 100k
-- articles several times slower. Deletes pass the exact stored values, as external content needs.
CREATE VIRTUAL TABLE articles_fts USING fts5 (
    title, excerpt, body, topics, provider_name,
    content = 'articles',
    content_rowid = 'rid',
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO articles_fts (articles_fts, rank) VALUES ('rank', 'bm25(10.0, 3.0, 1.0, 5.0, 2.0)');

-- Document frequency per term: lets search choose between bm25 and recency before running.
CREATE VIRTUAL TABLE articles_fts_vocab USING fts5vocab (articles_fts, row);

-- Articles are replaced (delete + insert), never edited in place; refuse updates so that the
-- full-text index cannot drift from the table.
CREATE TRIGGER articles_no_update BEFORE UPDATE ON articles BEGIN
    SELECT RAISE (ABORT, 'articles are replaced, not updated');
END;
