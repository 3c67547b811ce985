-- The stat scan the last complete index run started from (see bot/indexing.py): a run whose scan
-- is identical has nothing to do, and one that lists the same paths in the same order only needs
-- to look at the files whose size or mtime moved. At most one row; any batch that changes files
-- deletes it, and the run's last transaction writes it again.
CREATE TABLE last_scan (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    digest      TEXT NOT NULL,  -- of the whole scan
    paths_hash  TEXT NOT NULL REFERENCES scan_paths (hash),
    sizes       BLOB NOT NULL,  -- int64 little-endian, one per path
    mtimes      BLOB NOT NULL   -- int64 little-endian nanoseconds, one per path
);

-- The paths are most of a scan's bytes (8 MB at 100,000 files) and rarely change: kept apart, by
-- their hash, so that a run after edits in place does not write them again.
CREATE TABLE scan_paths (
    hash   TEXT PRIMARY KEY,
    paths  BLOB NOT NULL        -- each relative path UTF-8 encoded (surrogateescape), followed by a NUL
) WITHOUT ROWID;
