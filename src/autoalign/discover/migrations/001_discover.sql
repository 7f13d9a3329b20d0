-- Discover runs (a law fit of an uploaded table, or the piston demo's streams), kept so that a page
-- reload or a later visit finds them. A run is written by the thread that does the work: a row per
-- run, progress appended as it comes, the result or the error when it ends.
CREATE TABLE discover_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL CHECK (kind IN ('fit', 'streams')),
    status      TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed')),
    pid         INTEGER NOT NULL,               -- the process doing the work: a dead one reads "interrupted"
    created_at  REAL NOT NULL,
    finished_at REAL,
    params      TEXT NOT NULL DEFAULT '{}',     -- JSON: what the run was asked to do
    progress    TEXT NOT NULL DEFAULT '[]',     -- JSON: the progress messages, oldest first
    result      TEXT,                           -- JSON: what it found, once done
    error       TEXT                            -- why it failed
);
