-- What a deletion moved off the deleted subtree: the current and the hoisted node before it, so
-- that undoing it puts the reader back where it was (NULL where the deletion left them alone).
ALTER TABLE loom_deletions ADD COLUMN moved_current_id INTEGER;
ALTER TABLE loom_deletions ADD COLUMN moved_hoisted_id INTEGER;
