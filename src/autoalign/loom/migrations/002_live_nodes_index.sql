-- Counting a tree's visible nodes (the tree's header, walks from the current node) read every
-- row of the tree through the (tree_id, uid) index: 1.6 s at a million nodes. This index covers
-- the count: 24 ms (bench/loom_tree.py).
CREATE INDEX loom_nodes_live ON loom_nodes(tree_id, deleted);
