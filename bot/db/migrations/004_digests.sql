-- Scheduled topic digests (issue #4): the schedules, every delivery, and the articles each one posted.
--
-- Exactly once: a delivery row and its articles are written together BEFORE the message is sent,
-- and the message id AFTER. A slot can be recorded once (UNIQUE (digest_id, slot)) and an article
-- can be delivered once per digest (PRIMARY KEY of digest_items). Times are epoch seconds (UTC).

CREATE TABLE digests (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,  -- the short id members see; never reused
    guild_id     INTEGER NOT NULL,
    channel_id   INTEGER NOT NULL,
    topic        TEXT NOT NULL,                 -- canonical spelling when the digest was made
    at_time      TEXT NOT NULL,                 -- wall-clock HH:MM in `timezone`
    timezone     TEXT NOT NULL,                 -- canonical IANA name
    cadence      TEXT NOT NULL CHECK (cadence IN ('daily', 'weekdays', 'weekly')),
    weekday      INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),  -- Monday = 0; weekly only
    min_quality  INTEGER NOT NULL DEFAULT 0,
    max_items    INTEGER NOT NULL CHECK (max_items BETWEEN 1 AND 10),
    created_at   INTEGER NOT NULL,
    created_by   INTEGER NOT NULL,
    paused       INTEGER NOT NULL DEFAULT 0,
    pause_reason TEXT,                          -- why, when paused (by a member, or a lost channel)
    last_slot    INTEGER,                       -- the newest scheduled slot settled (posted, empty or skipped)
    last_result  TEXT,                          -- what happened last, for `/digest list`
    last_result_at INTEGER
);

CREATE INDEX digests_guild ON digests (guild_id, id);
CREATE INDEX digests_channel ON digests (channel_id);

CREATE TABLE digest_deliveries (
    id          INTEGER PRIMARY KEY,
    digest_id   INTEGER NOT NULL REFERENCES digests (id) ON DELETE CASCADE,
    slot        INTEGER,                        -- the scheduled slot; NULL for `/digest send`
    nonce       TEXT NOT NULL UNIQUE,           -- Discord message nonce, also written in the footer
    channel_id  INTEGER NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'abandoned')),
    message_id  INTEGER,                        -- set once the message is known to exist
    payload     TEXT NOT NULL,                  -- the message as JSON while pending (a retry sends the same one)
    created_at  INTEGER NOT NULL,
    finished_at INTEGER,
    UNIQUE (digest_id, slot)
);

CREATE INDEX digest_deliveries_pending ON digest_deliveries (state) WHERE state = 'pending';

CREATE TABLE digest_items (
    digest_id   INTEGER NOT NULL REFERENCES digests (id) ON DELETE CASCADE,
    article_id  TEXT NOT NULL,
    delivery_id INTEGER NOT NULL REFERENCES digest_deliveries (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    PRIMARY KEY (digest_id, article_id)
) WITHOUT ROWID;

CREATE INDEX digest_items_delivery ON digest_items (delivery_id, position);
