-- Personal follows (issue #14): members, their follows, the articles each follow took, and every
-- direct message sent. The limits repeat bot/follows/rules.py (a test checks they agree).
--
-- Private to the member: nothing here is shown to anyone else, and `/follow forget` deletes every
-- row of a member (follow_members and everything that names the user).
--
-- Exactly once per (follow, article) and per (follow, slot): an article enters follow_items once per
-- follow (its primary key) and a digest slot once per follow (UNIQUE (follow_id, slot)); a delivery
-- row, its message and the claim on its articles are written together BEFORE the DM is sent, the
-- message id AFTER, and a pending delivery is reconciled on start. Times are epoch seconds (UTC).

CREATE TABLE follow_members (
    user_id        INTEGER PRIMARY KEY,
    timezone       TEXT NOT NULL,               -- canonical IANA name (asked with the first follow)
    quiet_start    INTEGER CHECK (quiet_start BETWEEN 0 AND 1439),  -- minutes after local midnight
    quiet_end      INTEGER CHECK (quiet_end BETWEEN 0 AND 1439),
    dm_channel_id  INTEGER,                     -- the DM channel, once opened
    paused_reason  TEXT,                        -- set when Discord refused our DMs: every follow waits
    notice_pending INTEGER NOT NULL DEFAULT 0 CHECK (notice_pending IN (0, 1)),  -- say it once
    created_at     INTEGER NOT NULL,
    CHECK ((quiet_start IS NULL) = (quiet_end IS NULL))
);

CREATE TABLE follows (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,  -- the short id the member sees (#3); never reused
    user_id     INTEGER NOT NULL REFERENCES follow_members (user_id) ON DELETE CASCADE,
    topic       TEXT CHECK (length(topic) BETWEEN 1 AND 100),
    keywords    TEXT CHECK (length(keywords) BETWEEN 1 AND 200),
    delivery    TEXT NOT NULL CHECK (delivery IN ('instant', 'daily', 'weekly')),
    at_time     TEXT NOT NULL DEFAULT '08:00',      -- HH:MM in the member's timezone (daily, weekly)
    weekday     INTEGER NOT NULL DEFAULT 0 CHECK (weekday BETWEEN 0 AND 6),  -- Monday = 0; weekly only
    created_at  INTEGER NOT NULL,
    created_seq INTEGER NOT NULL DEFAULT 0,         -- the last arrival before it: no backlog is sent
    paused      INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),  -- by the member
    last_slot   INTEGER,                            -- digests: the newest slot settled
    CHECK (topic IS NOT NULL OR keywords IS NOT NULL)
);

CREATE INDEX follows_user ON follows (user_id, id);

-- The arrivals instant follows have judged (one row: one process sends every member's DMs).
CREATE TABLE follow_cursor (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
);

INSERT INTO follow_cursor (id, seq) VALUES (1, 0);

CREATE TABLE follow_deliveries (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES follow_members (user_id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('instant', 'roundup', 'digest')),
    follow_id   INTEGER REFERENCES follows (id) ON DELETE CASCADE,  -- digests only
    slot        INTEGER,                        -- digests only: the scheduled slot
    nonce       TEXT NOT NULL UNIQUE,           -- Discord message nonce, also in the embed footer
    state       TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'abandoned')),
    payload     TEXT NOT NULL,                  -- the message as JSON while pending ('' once settled)
    message_id  INTEGER,
    created_at  INTEGER NOT NULL,
    finished_at INTEGER,
    UNIQUE (follow_id, slot)
);

CREATE INDEX follow_deliveries_user ON follow_deliveries (user_id, created_at);
CREATE INDEX follow_deliveries_pending ON follow_deliveries (state) WHERE state = 'pending';

CREATE TABLE follow_items (
    follow_id   INTEGER NOT NULL REFERENCES follows (id) ON DELETE CASCADE,
    article_id  TEXT NOT NULL,
    user_id     INTEGER NOT NULL,
    seq         INTEGER NOT NULL,               -- the arrival it came with (0: taken by a digest)
    queued_at   INTEGER NOT NULL,
    held        INTEGER NOT NULL DEFAULT 0 CHECK (held IN (0, 1)),  -- waits for a roundup (cap, quiet hours)
    delivery_id INTEGER REFERENCES follow_deliveries (id) ON DELETE CASCADE,  -- NULL: waiting
    PRIMARY KEY (follow_id, article_id)
);

CREATE INDEX follow_items_waiting ON follow_items (user_id, seq) WHERE delivery_id IS NULL;
CREATE INDEX follow_items_delivery ON follow_items (delivery_id);
