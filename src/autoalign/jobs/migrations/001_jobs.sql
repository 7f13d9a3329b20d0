-- One table for every long job (embedding the library, Discover's fits and demos, and the
-- trainings and trials to come), replacing the library's `jobs` and Discover's `discover_runs`.
-- A job is written by whoever does it: a row when it starts, progress as it goes, then how it
-- ended. A running job whose process is gone reads "interrupted"; re-running it resumes.
ALTER TABLE jobs RENAME TO jobs_before;

CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,                  -- 'library.embed', 'discover.fit', 'discover.streams'
    state       TEXT NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'done', 'failed', 'cancelled')),
    pid         INTEGER,                        -- the process doing it
    params      TEXT NOT NULL DEFAULT '{}',     -- JSON: what it was asked to do
    done        INTEGER NOT NULL DEFAULT 0,     -- steps done of `total` (0 of 0: not counted)
    total       INTEGER NOT NULL DEFAULT 0,
    progress    TEXT NOT NULL DEFAULT '[]',     -- JSON: the progress messages, oldest first
    result      TEXT,                           -- JSON: what it produced, once done
    error       TEXT,                           -- why it failed
    cancel      INTEGER NOT NULL DEFAULT 0,     -- 1 once asked to stop; the worker stops at its next step
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL,
    finished_at REAL
);
CREATE INDEX jobs_kind ON jobs(kind, id);

-- Discover's runs keep their ids (their pages are /discover/runs/ID); the embedding jobs follow.
INSERT INTO jobs(id, kind, state, pid, params, progress, result, error, created_at, updated_at, finished_at)
SELECT id, 'discover.' || kind, status, pid, params, progress, result, error,
       created_at, coalesce(finished_at, created_at), finished_at
FROM discover_runs;

INSERT INTO jobs(kind, state, pid, done, total, progress, error, created_at, updated_at, finished_at)
SELECT 'library.' || kind,
       CASE WHEN state IN ('running', 'done', 'failed') THEN state ELSE 'failed' END,
       pid, done, total,
       CASE WHEN state = 'failed' OR message = '' THEN '[]' ELSE json_array(message) END,
       CASE WHEN state = 'failed' THEN message END,
       CAST(strftime('%s', started_at) AS REAL), CAST(strftime('%s', updated_at) AS REAL),
       CASE WHEN state = 'running' THEN NULL ELSE CAST(strftime('%s', updated_at) AS REAL) END
FROM jobs_before ORDER BY id;

DROP TABLE jobs_before;
DROP TABLE discover_runs;
