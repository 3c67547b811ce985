-- Live alerts (issue #12): arrivals, the alerts, the articles each one decided to post, and every
-- message it sent. The limits repeat bot/alerts/rules.py (a test checks they agree).
--
-- Exactly once per (alert, article): an article enters alert_items once per alert (its primary
-- key); a delivery row, its plan (the messages to send) and the claim on its articles are written
-- together BEFORE anything is sent, each step's result (a message id) AFTER it succeeded, and a
-- pending delivery is reconciled on start. Times are epoch seconds (UTC).

-- Articles that became new, written in the same transaction as the index change that made them new
-- (a new file, `published` turned true), or as the unhiding in one server (guild_id set).
CREATE TABLE alert_arrivals (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,  -- the order alerts judge them in; never reused
    article_id   TEXT NOT NULL,
    guild_id     INTEGER,                            -- NULL: for every server
    published_at INTEGER NOT NULL,
    arrived_at   INTEGER NOT NULL
);

CREATE INDEX alert_arrivals_time ON alert_arrivals (arrived_at);

CREATE TABLE alerts (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,  -- the short id members see (#3)
    guild_id         INTEGER NOT NULL,
    channel_id       INTEGER NOT NULL,
    channel_kind     TEXT NOT NULL CHECK (channel_kind IN ('text', 'announcement', 'forum')),
    topic            TEXT CHECK (length(topic) BETWEEN 1 AND 100),
    keywords         TEXT CHECK (length(keywords) BETWEEN 1 AND 200),
    providers        TEXT NOT NULL DEFAULT '[]',          -- JSON array of lower-case domains (empty: any)
    min_quality      INTEGER NOT NULL DEFAULT 0 CHECK (min_quality BETWEEN 0 AND 164),
    role_id          INTEGER,                             -- the role pinged on each post
    style            TEXT NOT NULL DEFAULT 'embed' CHECK (style IN ('embed', 'compact', 'thread')),
    publish          INTEGER NOT NULL DEFAULT 0 CHECK (publish IN (0, 1)),
    template         TEXT CHECK (length(template) <= 692),  -- rules.MAX_TEMPLATE_CHARS
    posts_per_window INTEGER NOT NULL DEFAULT 5 CHECK (posts_per_window BETWEEN 1 AND 30),
    forum_tags       TEXT NOT NULL DEFAULT '[]',          -- JSON [[tag id, name], ...] mapped when made
    created_at       INTEGER NOT NULL,
    created_by       INTEGER NOT NULL,
    paused           INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    pause_reason     TEXT,
    cursor           INTEGER NOT NULL DEFAULT 0,          -- the last arrival this alert has judged
    last_skip_article TEXT,                               -- the last article it skipped, and why
    last_skip_title  TEXT,
    last_skip_reason TEXT,
    last_skip_at     INTEGER,
    CHECK (topic IS NOT NULL OR keywords IS NOT NULL)
);

CREATE INDEX alerts_guild ON alerts (guild_id, id);

CREATE TABLE alert_deliveries (
    id              INTEGER PRIMARY KEY,
    alert_id        INTEGER NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('post', 'roundup', 'test')),
    nonce           TEXT NOT NULL UNIQUE,   -- Discord message nonce base; also in each embed's footer
    channel_id      INTEGER NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'abandoned')),
    plan            TEXT NOT NULL,          -- the steps (messages, thread, publish) as JSON while pending
    results         TEXT NOT NULL DEFAULT '[]',  -- each finished step's id (JSON), written after it
    message_id      INTEGER,                -- the post's first message (its jump link)
    thread_id       INTEGER,                -- the thread or forum post, if any
    pinged          INTEGER NOT NULL DEFAULT 0 CHECK (pinged IN (0, 1)),
    publish         INTEGER NOT NULL DEFAULT 0 CHECK (publish IN (0, 1)),
    publish_limited INTEGER NOT NULL DEFAULT 0 CHECK (publish_limited IN (0, 1)),  -- posted unpublished: limit reached
    ping_limited    INTEGER NOT NULL DEFAULT 0 CHECK (ping_limited IN (0, 1)),     -- posted without the ping: cap reached
    created_at      INTEGER NOT NULL,
    finished_at     INTEGER,
    note            TEXT
);

CREATE INDEX alert_deliveries_alert ON alert_deliveries (alert_id, created_at);
CREATE INDEX alert_deliveries_channel ON alert_deliveries (channel_id, created_at) WHERE publish = 1;
CREATE INDEX alert_deliveries_pending ON alert_deliveries (state) WHERE state = 'pending';

CREATE TABLE alert_items (
    alert_id    INTEGER NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    article_id  TEXT NOT NULL,
    seq         INTEGER NOT NULL,           -- the arrival it came with
    title       TEXT NOT NULL,
    queued_at   INTEGER NOT NULL,
    held        INTEGER NOT NULL DEFAULT 0 CHECK (held IN (0, 1)),  -- held back by the flood limit
    delivery_id INTEGER REFERENCES alert_deliveries (id) ON DELETE CASCADE,  -- NULL: waiting
    PRIMARY KEY (alert_id, article_id)
) WITHOUT ROWID;

CREATE INDEX alert_items_waiting ON alert_items (alert_id, seq) WHERE delivery_id IS NULL;
CREATE INDEX alert_items_delivery ON alert_items (delivery_id);
