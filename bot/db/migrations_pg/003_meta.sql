-- Small key/value facts kept across restarts (see migrations/003_meta.sql).

CREATE TABLE meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);
