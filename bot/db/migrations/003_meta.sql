-- Small key/value facts the bot keeps across restarts (e.g. the fingerprint of the registered
-- slash commands).

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
