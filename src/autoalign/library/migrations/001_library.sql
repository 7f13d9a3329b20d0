-- Documents are the store of record; everything else in the library derives from them.
CREATE TABLE documents (
    id             INTEGER PRIMARY KEY,
    uid            TEXT NOT NULL UNIQUE,
    external_id    TEXT,
    url            TEXT NOT NULL DEFAULT '',
    content_hash   TEXT NOT NULL,
    source         TEXT NOT NULL,
    title          TEXT NOT NULL,
    authors        TEXT NOT NULL DEFAULT '[]',   -- JSON list
    date_published TEXT,                          -- ISO date or NULL
    text           TEXT NOT NULL,
    metadata       TEXT NOT NULL DEFAULT '{}',   -- JSON object
    origin         TEXT NOT NULL DEFAULT '',
    added_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    version        INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX documents_external_id ON documents(external_id) WHERE external_id IS NOT NULL;
CREATE INDEX documents_url ON documents(url, source) WHERE url != '';
CREATE INDEX documents_content_hash ON documents(content_hash);
CREATE INDEX documents_source ON documents(source);
CREATE INDEX documents_date ON documents(date_published);

-- One row per (document, author), for the author filter.
CREATE TABLE document_authors (
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    author      TEXT NOT NULL COLLATE NOCASE
);
CREATE INDEX document_authors_author ON document_authors(author);
CREATE INDEX document_authors_document ON document_authors(document_id);

-- Passages with their place in the document. ``text`` repeats documents.text[start:end]: reading
-- a slice of a long TEXT value makes SQLite load all of it, which made hits from a 50 MB document
-- take seconds; the copy costs disk, not time.
-- AUTOINCREMENT: chunk ids only grow, so the lexical index's watermark stays meaningful.
CREATE TABLE chunks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal     INTEGER NOT NULL,
    section     TEXT NOT NULL DEFAULT '',
    start       INTEGER NOT NULL,
    end         INTEGER NOT NULL,
    text        TEXT NOT NULL,
    UNIQUE (document_id, ordinal)
);

-- Every (document, content) pair ever ingested: a version seen before is never "newer", so
-- re-adding a file that holds two versions of one document does not flip between them.
CREATE TABLE document_versions (
    uid          TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    PRIMARY KEY (uid, content_hash)
) WITHOUT ROWID;

-- What ingest did that a user may want to look back on: replacements, skips.
CREATE TABLE ingest_log (
    id      INTEGER PRIMARY KEY,
    at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    event   TEXT NOT NULL,          -- 'replaced', 'kept', 'skipped'
    origin  TEXT NOT NULL,
    detail  TEXT NOT NULL
);

-- Vectors live in per-embedder files; this table says which chunk is on which row.
CREATE TABLE embeddings (
    embedder TEXT NOT NULL,
    chunk_id INTEGER NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
    row      INTEGER NOT NULL,
    PRIMARY KEY (embedder, chunk_id)
);
CREATE UNIQUE INDEX embeddings_row ON embeddings(embedder, row);

-- Long-running jobs (embedding) report progress here so the CLI and the web app can show it.
CREATE TABLE jobs (
    id         INTEGER PRIMARY KEY,
    kind       TEXT NOT NULL,
    state      TEXT NOT NULL,           -- 'running', 'done', 'failed', 'interrupted'
    done       INTEGER NOT NULL DEFAULT 0,
    total      INTEGER NOT NULL DEFAULT 0,
    pid        INTEGER,
    message    TEXT NOT NULL DEFAULT '',
    started_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
