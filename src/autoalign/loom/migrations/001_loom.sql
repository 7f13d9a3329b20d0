-- Loom trees. Every operation is one transaction on these tables: there is no save step, and a
-- crash loses at most the generation in flight.
CREATE TABLE loom_trees (
    id           INTEGER PRIMARY KEY,
    uid          TEXT NOT NULL UNIQUE,
    title        TEXT NOT NULL DEFAULT '',
    root_id      INTEGER,                       -- loom_nodes.id, set right after the root is made
    current_id   INTEGER,                       -- the node the reader is on
    hoisted_id   INTEGER,                       -- the node shown as the top of the tree view, if any
    settings     TEXT NOT NULL DEFAULT '{}',    -- JSON: tree-wide generation settings (LoomSettings)
    extra        TEXT NOT NULL DEFAULT '{}',    -- JSON: keys of imported files kept for export
    created_at   REAL NOT NULL,
    updated_at   REAL NOT NULL
);

-- One row per node. ``text`` is the node's own segment; a node's full text is its path's texts
-- joined. ``deleted`` holds the deletion batch (see loom_deletions) for nodes in a deleted subtree.
CREATE TABLE loom_nodes (
    id          INTEGER PRIMARY KEY,
    tree_id     INTEGER NOT NULL REFERENCES loom_trees(id) ON DELETE CASCADE,
    uid         TEXT NOT NULL,
    parent_id   INTEGER REFERENCES loom_nodes(id),
    position    INTEGER NOT NULL DEFAULT 0,     -- order among siblings
    text        TEXT NOT NULL DEFAULT '',
    source      TEXT NOT NULL DEFAULT 'prompt', -- prompt | AI | mixed (socketteer's meta.source)
    model       TEXT,                           -- which model wrote it, NULL for human text
    generation  TEXT,                           -- JSON: the settings that made it
    tokens      TEXT,                           -- JSON: [[token, logprob, [[alt, logprob], ...]], ...]
    overrides   TEXT,                           -- JSON: settings overrides for this subtree
    notes       TEXT NOT NULL DEFAULT '',
    extra       TEXT NOT NULL DEFAULT '{}',     -- JSON: imported keys kept for export
    deleted     INTEGER,
    created_at  REAL NOT NULL,
    modified_at REAL NOT NULL,
    UNIQUE (tree_id, uid)
);
CREATE INDEX loom_nodes_children ON loom_nodes(parent_id, position);
CREATE INDEX loom_nodes_deleted ON loom_nodes(deleted) WHERE deleted IS NOT NULL;

-- Earlier texts of edited nodes, oldest first.
CREATE TABLE loom_node_history (
    node_id    INTEGER NOT NULL REFERENCES loom_nodes(id) ON DELETE CASCADE,
    text       TEXT NOT NULL,
    changed_at REAL NOT NULL
);
CREATE INDEX loom_node_history_node ON loom_node_history(node_id);

CREATE TABLE loom_tags (
    node_id INTEGER NOT NULL REFERENCES loom_nodes(id) ON DELETE CASCADE,
    tag     TEXT NOT NULL,
    PRIMARY KEY (node_id, tag)
) WITHOUT ROWID;
CREATE INDEX loom_tags_tag ON loom_tags(tag, node_id);

CREATE TABLE loom_chapters (
    id       INTEGER PRIMARY KEY,
    tree_id  INTEGER NOT NULL REFERENCES loom_trees(id) ON DELETE CASCADE,
    uid      TEXT NOT NULL,
    node_id  INTEGER NOT NULL REFERENCES loom_nodes(id) ON DELETE CASCADE,
    title    TEXT NOT NULL,
    UNIQUE (tree_id, uid)
);
CREATE INDEX loom_chapters_node ON loom_chapters(node_id);

-- A deleted subtree stays until purged, so deletion can be undone.
CREATE TABLE loom_deletions (
    id         INTEGER PRIMARY KEY,
    tree_id    INTEGER NOT NULL REFERENCES loom_trees(id) ON DELETE CASCADE,
    node_id    INTEGER NOT NULL,
    parent_id  INTEGER,
    position   INTEGER NOT NULL,
    deleted_at REAL NOT NULL,
    undone     INTEGER NOT NULL DEFAULT 0
);

-- Word search over node texts.
CREATE VIRTUAL TABLE loom_nodes_fts USING fts5(text, content='loom_nodes', content_rowid='id');
CREATE TRIGGER loom_nodes_fts_insert AFTER INSERT ON loom_nodes BEGIN
    INSERT INTO loom_nodes_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER loom_nodes_fts_delete AFTER DELETE ON loom_nodes BEGIN
    INSERT INTO loom_nodes_fts(loom_nodes_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER loom_nodes_fts_update AFTER UPDATE OF text ON loom_nodes BEGIN
    INSERT INTO loom_nodes_fts(loom_nodes_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO loom_nodes_fts(rowid, text) VALUES (new.id, new.text);
END;
