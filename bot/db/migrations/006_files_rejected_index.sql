-- Rejected files are listed on every index run and in /admin stats: find them without a scan.
CREATE INDEX IF NOT EXISTS files_rejected ON files (rel_path) WHERE error IS NOT NULL;
