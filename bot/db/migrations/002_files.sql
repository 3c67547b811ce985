-- What the last index run saw on disk, so the next run parses only new and changed files.

CREATE TABLE files (
    rel_path   TEXT PRIMARY KEY,
    size       INTEGER NOT NULL,           -- -1 for paths that discovery refused (e.g. links out of the root)
    mtime_ns   INTEGER NOT NULL,
    article_id TEXT,                        -- id parsed from this file, also when it lost a duplicate contest
    norm_url   TEXT,                        -- its normalised URL; with article_id, how conflicts are found
    error      TEXT                         -- why the file was rejected; NULL when it is served or collapsed
) WITHOUT ROWID;

CREATE INDEX files_norm_url ON files (norm_url) WHERE norm_url IS NOT NULL;
CREATE INDEX files_article_id ON files (article_id) WHERE article_id IS NOT NULL;

-- Every problem reported for a file (errors and warnings), for `check`-style reports.
CREATE TABLE file_issues (
    rel_path TEXT NOT NULL REFERENCES files (rel_path) ON DELETE CASCADE,
    severity TEXT NOT NULL CHECK (severity IN ('error', 'warning')),
    reason   TEXT NOT NULL,
    line     INTEGER
);

CREATE INDEX file_issues_path ON file_issues (rel_path);

CREATE TABLE index_runs (
    id          INTEGER PRIMARY KEY,
    finished_at INTEGER NOT NULL,
    seconds     REAL NOT NULL,
    added       INTEGER NOT NULL,
    changed     INTEGER NOT NULL,
    removed     INTEGER NOT NULL,
    unchanged   INTEGER NOT NULL,
    rejected    INTEGER NOT NULL
);
