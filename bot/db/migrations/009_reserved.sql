-- Placeholder: migration numbers must have no gaps, and issue #14's follows use 011 so that features
-- built in parallel can take 009 and 010. Delete this file when a real 009 lands (renumber at merge).
SELECT 1;
