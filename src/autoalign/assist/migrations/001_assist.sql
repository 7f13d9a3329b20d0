-- Assistants' results (ask, summarize, explain, distill, brainstorm, rubber duck), each with the
-- model and settings that made it, and rubber-duck conversations as sessions of turns.
CREATE TABLE assist_results (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL CHECK (kind IN ('ask', 'summarize', 'explain', 'distill', 'brainstorm', 'duck')),
    prompt      TEXT NOT NULL,                  -- what was asked: a question, titles, a draft
    result      TEXT NOT NULL,                  -- JSON: sections, items and references
    model       TEXT NOT NULL,                  -- "extractive" or the model's name
    settings    TEXT NOT NULL DEFAULT '{}',     -- JSON: the settings and model profile that made it
    created_at  REAL NOT NULL
);
CREATE INDEX assist_results_by_kind ON assist_results (kind, id);

CREATE TABLE assist_sessions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    title       TEXT NOT NULL,
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL
);

-- A researcher's turn is stored before the duck answers it, so a failing model loses nothing.
CREATE TABLE assist_turns (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id  INTEGER NOT NULL REFERENCES assist_sessions (id) ON DELETE CASCADE,
    role        TEXT NOT NULL CHECK (role IN ('researcher', 'duck')),
    text        TEXT NOT NULL DEFAULT '',
    result_id   INTEGER REFERENCES assist_results (id),
    created_at  REAL NOT NULL
);
CREATE INDEX assist_turns_by_session ON assist_turns (session_id, id);
