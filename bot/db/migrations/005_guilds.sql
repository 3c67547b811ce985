-- Per-server settings, hidden articles and the audit log (issue #5).
--
-- A NULL setting means "the deployment's default" (settings from the environment), so a server
-- that never changed it follows the operator's choice. Times are epoch seconds (UTC).

CREATE TABLE guild_settings (
    guild_id            INTEGER PRIMARY KEY,
    min_quality         INTEGER CHECK (min_quality BETWEEN 0 AND 164),
    include_unpublished INTEGER CHECK (include_unpublished IN (0, 1)),
    public_results      INTEGER CHECK (public_results IN (0, 1)),
    blocked_providers   TEXT NOT NULL DEFAULT '[]',  -- JSON array of lower-case provider domains
    blocked_topics      TEXT NOT NULL DEFAULT '[]',  -- JSON array of topic names as the moderator spelt them
    log_channel_id      INTEGER,
    updated_at          INTEGER NOT NULL,
    updated_by          INTEGER NOT NULL
);

-- Hidden by id, not by row: an article that leaves the store and comes back stays hidden. The
-- title is kept for listings (autocomplete of /admin unhide, exports) when the article is gone.
CREATE TABLE hidden_articles (
    guild_id   INTEGER NOT NULL,
    article_id TEXT NOT NULL,
    title      TEXT NOT NULL,
    reason     TEXT,
    hidden_by  INTEGER NOT NULL,
    hidden_at  INTEGER NOT NULL,
    PRIMARY KEY (guild_id, article_id)
) WITHOUT ROWID;

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,              -- 0 when the bot itself acted (e.g. a digest failed)
    action     TEXT NOT NULL,
    details    TEXT NOT NULL,                 -- JSON object
    created_at INTEGER NOT NULL
);

CREATE INDEX audit_log_guild ON audit_log (guild_id, id DESC);
