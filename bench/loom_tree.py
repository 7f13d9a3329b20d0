"""The Loom tree engine at scale: trees of 100k and 1M nodes, next to a whole-tree JSON file.

    .venv/bin/python bench/loom_tree.py

Targets (the Loom issue): a tree of 100k nodes opens in under 1 s and every operation takes under
50 ms; 1M nodes still work.

The tree: a seeded simulation of a Loom session. At the node being read, 1 to 6 continuations are
generated (25% of the time one, else 2 to 6, mostly 3 or 4); 95% of the time the reader goes on
from one of them, else goes back 1 to 30 levels (85%) or to any node (15%) and continues an
unexplored alternative there. 0.5% of the steps write a chain of 10 to 200 single-child nodes.
That gives depths in the hundreds to thousands (reported). Node texts are 16 to 48 words drawn
from a Zipf-weighted vocabulary (every word with a leading space, like generated tokens); 5% of
the nodes carry token probabilities (each word a token with 4 alternatives), 70% are marked as
generated; 0.1% are bookmarked, 1% archived, 0.5% have an earlier text, 0.05% setting overrides;
a rare word is planted in 10 nodes. The current node is the deepest one.

Each size is built in a fresh workspace under bench/out/ with ``Loom.import_data`` (one
transaction), then measured in separate child processes: the cold open (5 fresh processes: OS
caches warm, Python and SQLite cold), and every Tree operation at random places (warm). "Open" is
what the web page does to show a tree (``GET /loom/{id}``, then ``/api/loom/trees/{id}``, then the
children of the current node and its parent), plus ``tree.text(current)``; the current node is the
deepest. The src/ code is run as it is; the fixes proposed for what is over target are measured
on a copy of each workspace (an added index, other query shapes), never in src/.

The peer: the same tree as one nested JSON file in socketteer/loom's style (``{"root": {"id",
"text", "children": [...], "meta", "generation"}}``), opened with ``json.load`` and saved whole with
``json.dump`` after each change, as socketteer/loom does; also the one-shot C encoder
(``json.dumps`` then one write) and orjson where they manage the nesting depth. ``json.dump``
writing to a file runs the pure-Python encoder, whose nested generators cost O(depth) per chunk;
on these trees it takes minutes, so it is stopped after ``--dump-limit`` seconds and its total
time extrapolated from the share of the file written by then.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import signal
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    OUT,
    busy_others,
    emit_result,
    folder_size_mb,
    fresh,
    peak_rss_mib,
    percentile,
    run_child,
    table,
    write_json,
)

SEED = 20261127
TARGET_OPEN_S = 1.0
TARGET_OP_MS = 50.0
RARE_WORD = "xylocarpous"


def words_of(text: str) -> list[str]:
    return text.split()


COMMON_WORD = "the"
COMMON = words_of(
    "the of and to a in is that it was for on as with his he be at by had not are but from or have an they"
    " which one you were her all she there would their we him been has when who will more no if out so said"
    " what up its about into than them can only other new some could time these two may then do first any my"
    " now such like our over man me even most made after also did many before must through back years where"
    " much your way well down should because each just those people how too little state good very make world"
    " still own see men work long get here between both life being under never day same another know while"
    " last might us great old year off come since against go came right used take three"
)
SYLLABLES = words_of("ka lo mi re su ta ne vo ri pa de lu sho gri an el on ur is or at em ix ul tra per con")


def label_of(size: int) -> str:
    return f"{size // 1_000_000}M" if size % 1_000_000 == 0 else f"{size // 1000}k"


def workspace_of(size: int) -> Path:
    return OUT / f"loom_ws_{label_of(size)}"


def peer_file_of(size: int) -> Path:
    return OUT / f"loom_peer_{label_of(size)}.json"


# -- the generated tree ---------------------------------------------------------------------------


def shape(size: int, rng: random.Random) -> list[int]:
    """Parent index of every node (the root's is -1), parents before children."""
    parent = [-1]
    kids: list[list[int]] = [[]]

    def add(p: int) -> int:
        kids[p].append(len(parent))
        parent.append(p)
        kids.append([])
        return len(parent) - 1

    cursor = 0
    while len(parent) < size:
        if rng.random() < 0.005:  # a long single-child chain
            for _ in range(min(rng.randint(10, 200), size - len(parent))):
                cursor = add(cursor)
            continue
        k = 1 if rng.random() < 0.25 else rng.choice((2, 3, 3, 4, 4, 4, 5, 6))
        first = len(parent)
        for _ in range(min(k, size - len(parent))):
            add(cursor)
        if rng.random() < 0.95:
            cursor = rng.randrange(first, len(parent))
            continue
        if rng.random() < 0.85:
            for _ in range(rng.randint(1, 30)):
                if parent[cursor] < 0:
                    break
                cursor = parent[cursor]
        else:
            cursor = rng.randrange(len(parent))
        unexplored = [x for x in kids[cursor] if not kids[x]]
        if unexplored:
            cursor = rng.choice(unexplored)
    return parent


def shape_stats(parent: list[int]) -> dict[str, object]:
    n = len(parent)
    depth = [0] * n
    children = [0] * n
    for i in range(1, n):
        depth[i] = depth[parent[i]] + 1
        children[parent[i]] += 1
    fan = [c for c in children if c]
    # Longest run of single-child nodes.
    run = [0] * n
    for i in range(1, n):
        run[i] = run[parent[i]] + 1 if children[parent[i]] == 1 else 0
    return {
        "nodes": n,
        "max_depth": max(depth),
        "mean_depth": sum(depth) / n,
        "p50_depth": percentile(depth, 50),
        "inner_nodes": len(fan),
        "leaves": n - len(fan),
        "fan_out_mean": sum(fan) / len(fan),
        "fan_out_max": max(fan),
        "fan_out_histogram": {str(k): fan.count(k) for k in range(1, 7)} | {"7+": sum(1 for f in fan if f > 6)},
        "single_child_share": fan.count(1) / len(fan),
        "longest_chain": max(run),
    }


def vocabulary(rng: random.Random) -> tuple[list[str], list[float]]:
    words = list(COMMON)
    seen = set(words)
    while len(words) < 6000:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        if word not in seen and word != RARE_WORD:
            seen.add(word)
            words.append(word)
    weights, total = [], 0.0
    for rank in range(len(words)):
        total += 1 / (rank + 1.5)
        weights.append(total)
    return words, weights


def tree_data(size: int, seed: int):
    """The seeded tree as TreeData, plus its shape and the peer's socketteer-style dict."""
    from autoalign.loom.records import ChapterData, NodeData, TreeData

    rng = random.Random(seed)
    parent = shape(size, rng)
    words, cum = vocabulary(rng)
    pool = [rng.choices(words, cum_weights=cum, k=rng.randint(8, 24)) for _ in range(20_000)]
    rare = set(rng.sample(range(1, size), 10))
    depth = [0] * size
    for i in range(1, size):
        depth[i] = depth[parent[i]] + 1
    current = max(range(size), key=depth.__getitem__)
    base = 1_700_000_000.0
    generation = {"temperature": 0.9, "max_tokens": 48, "top_p": 1.0}
    uids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(size)]
    nodes = []
    for i in range(size):
        segment = rng.choice(pool) + rng.choice(pool) if i else ["The", "alignment", "problem", "is"]
        if i in rare:
            segment = [*segment[:5], RARE_WORD, *segment[5:]]
        text = "".join(" " + w for w in segment) if i else " ".join(segment)
        r = rng.random()
        ai = i > 0 and r < 0.7
        tokens = None
        if ai and r < 0.05:
            alts = rng.choices(words, cum_weights=cum, k=4 * len(segment))
            tokens = []
            for j, w in enumerate(segment):
                lp = round(-rng.random() * 3, 4)
                tokens.append(
                    [
                        " " + w,
                        lp,
                        [
                            [" " + w, lp],
                            *([" " + a, round(lp - 1 - k, 4)] for k, a in enumerate(alts[4 * j : 4 * j + 4])),
                        ],
                    ]
                )
        tags = []
        r = rng.random()
        if r < 0.001:
            tags.append("bookmark")
        elif r < 0.011:
            tags.append("archived")
        created = base + i * 5.0
        nodes.append(
            NodeData(
                uid=uids[i],
                parent_uid=uids[parent[i]] if i else None,
                text=text,
                source="AI" if ai else "prompt",
                model="bench-model" if ai else None,
                generation=generation if ai else None,
                tokens=tokens,
                overrides={"temperature": 0.7} if rng.random() < 0.0005 else None,
                tags=tags,
                history=[(text + " (first draft)", created)] if rng.random() < 0.005 else [],
                created_at=created,
                modified_at=created,
            )
        )
    path = [current]
    while parent[path[-1]] >= 0:
        path.append(parent[path[-1]])
    chapters = [
        ChapterData(uid=str(uuid.UUID(int=rng.getrandbits(128), version=4)), node_uid=uids[n], title=f"chapter {k}")
        for k, n in enumerate(sorted(path)[:: max(1, len(path) // 10)])
    ]
    data = TreeData(
        title="bench tree",
        nodes=nodes,
        settings={"n": 4, "max_tokens": 48},
        chapters=chapters,
        current_uid=uids[current],
    )
    return data, parent


def socketteer_dict(data) -> dict:
    """The tree as socketteer/loom keeps it: one nested dict, children inside their parent."""
    by_uid: dict[str, dict] = {}
    root = None
    for node in data.nodes:
        entry: dict = {
            "id": node.uid,
            "text": node.text,
            "children": [],
            "meta": {"source": node.source, "creation_timestamp": node.created_at, "modified": node.modified_at},
        }
        if node.model:
            entry["generation"] = {"model": node.model, **(node.generation or {}), "logprobs": node.tokens}
        if node.tags:
            entry["tags"] = list(node.tags)
        if node.history:
            entry["meta"]["history"] = [{"text": t, "timestamp": at} for t, at in node.history]
        by_uid[node.uid] = entry
        if node.parent_uid is None:
            root = entry
        else:
            by_uid[node.parent_uid]["children"].append(entry)
    return {
        "root": root,
        "chapters": {c.uid: {"id": c.uid, "root_id": c.node_uid, "title": c.title} for c in data.chapters},
        "selected_node_id": data.current_uid,
        "generation_settings": data.settings,
    }


# -- children -------------------------------------------------------------------------------------


def child_build(size: int, seed: int) -> None:
    from autoalign.loom import Loom

    started = time.perf_counter()
    data, parent = tree_data(size, seed)
    generate_s = time.perf_counter() - started
    ws = fresh(workspace_of(size))
    loom = Loom.open(ws)
    rss_before = peak_rss_mib()
    started = time.perf_counter()
    tree = loom.import_data(data)
    import_s = time.perf_counter() - started
    rss_after = peak_rss_mib()
    tree_id = tree.id
    loom.workspace.close()
    db = ws / "autoalign.db"
    result = {
        "size": size,
        "tree_id": tree_id,
        "generate_s": generate_s,
        "import_s": import_s,
        "nodes_per_s": size / import_s,
        "db_mb": folder_size_mb(db),
        "workspace_mb": folder_size_mb(ws),
        "peak_rss_before_import_mib": rss_before,
        "peak_rss_after_import_mib": rss_after,
        "token_nodes": sum(1 for n in data.nodes if n.tokens),
        "tokens_json_mb": sum(len(json.dumps(n.tokens)) for n in data.nodes if n.tokens) / 1e6,
        "text_mb": sum(len(n.text.encode()) for n in data.nodes) / 1e6,
        "shape": shape_stats(parent),
    }
    # The peer's file (its writing is timed in child_peer, not here).
    sys.setrecursionlimit(1_000_000)
    peer = socketteer_dict(data)
    del data
    peer_file_of(size).write_text(json.dumps(peer))
    result["peer_file_mb"] = folder_size_mb(peer_file_of(size))
    emit_result(result)


#: The steps of opening a tree, as the web page does them (see :func:`open_sequence`).
OPEN_STEPS = [
    "Loom.open",
    "tree + info (the page)",
    "info (the page's state)",
    "path(current)",
    "hoisted node, chapters, bookmarks",
    "children of current and parent (200 each) + counts",
    "text(current)",
    "open",
]


def open_sequence(ws: Path, tree_id: int, *, every_path_node: bool) -> dict[str, float]:
    """Opening a tree as the web page does it; milliseconds per step.

    ``GET /loom/{id}`` (``tree.info()``), then ``GET /api/loom/trees/{id}`` (``tree_state``: info,
    the path to the current node, the hoisted node, chapters, bookmarks), then the first page of
    200 children of the current node and of its parent, with their counts (``children_api``); then
    the full text at the current node (what ``autoalign loom show`` prints). JSON encoding is not
    included. ``every_path_node`` also lists the children of every node on the path.
    """
    from autoalign.loom import Loom

    marks = [time.perf_counter()]
    loom = Loom.open(ws)
    marks.append(time.perf_counter())
    tree = loom.tree(tree_id)
    tree.info()
    marks.append(time.perf_counter())
    info = tree.info()
    marks.append(time.perf_counter())
    path = tree.path(info.current_id)
    marks.append(time.perf_counter())
    if info.hoisted_id:
        tree.node(info.hoisted_id)
    tree.chapters()
    tree.tagged("bookmark")
    marks.append(time.perf_counter())
    for node in path[-2:]:
        tree.children(node.id, offset=0, limit=200)
        tree.node(node.id)
    marks.append(time.perf_counter())
    text = tree.text(info.current_id)
    marks.append(time.perf_counter())
    ms: dict[str, float] = {
        step: (b - a) * 1000 for step, a, b in zip(OPEN_STEPS[:-1], marks[:-1], marks[1:], strict=True)
    }
    ms["open"] = (marks[-1] - marks[0]) * 1000
    ms["path_length"] = len(path)
    ms["text_chars"] = len(text)
    if every_path_node:
        for node in path:
            tree.children(node.id, offset=0, limit=200)
        end = time.perf_counter()
        ms["children(every path node)"] = (end - marks[-1]) * 1000
        ms["open, children of every path node"] = (end - marks[0]) * 1000
    loom.workspace.close()
    return ms


def child_open(size: int, tree_id: int) -> None:
    t0 = time.perf_counter()
    import autoalign.loom  # noqa: F401

    import_ms = (time.perf_counter() - t0) * 1000
    result = open_sequence(workspace_of(size), tree_id, every_path_node=False)
    emit_result({"import_ms": import_ms, **result})


def stats(times: list[float]) -> dict[str, float]:
    return {
        "n": len(times),
        "p50_ms": percentile(times, 50),
        "p95_ms": percentile(times, 95),
        "max_ms": max(times),
        "mean_ms": sum(times) / len(times),
    }


def child_ops(size: int, tree_id: int, reads: int, writes: int, seed: int) -> None:
    from autoalign.errors import AutoalignError
    from autoalign.loom import Loom

    ws = workspace_of(size)
    rng = random.Random(seed + 1)
    result: dict[str, object] = {}

    # Open, warm: a new connection each time, then the same connection (a server answering a request).
    warm = [open_sequence(ws, tree_id, every_path_node=True) for _ in range(max(5, reads // 20))]
    result["open_warm"] = {k: stats([w[k] for w in warm]) for k in warm[0]}
    loom = Loom.open(ws)
    tree = loom.tree(tree_id)
    db = loom.workspace.db

    def same_connection() -> float:
        """A server answering the page's requests on its open connection."""
        t = time.perf_counter()
        tree.info()
        info = tree.info()
        path = tree.path(info.current_id)
        tree.chapters()
        tree.tagged("bookmark")
        for node in path[-2:]:
            tree.children(node.id, offset=0, limit=200)
            tree.node(node.id)
        tree.text(info.current_id)
        return (time.perf_counter() - t) * 1000

    result["open_same_connection"] = stats([same_connection() for _ in range(max(5, reads // 10))])

    # The tree's structure, read untimed, to choose targets.
    rows = db.execute(
        "SELECT id, parent_id, tokens IS NOT NULL, length(text), json_array_length(tokens) FROM loom_nodes"
        " WHERE tree_id = ? AND deleted IS NULL ORDER BY id",
        (tree_id,),
    ).fetchall()
    ids = [r[0] for r in rows]
    index = {node_id: i for i, node_id in enumerate(ids)}
    parent = [index[r[1]] if r[1] is not None else -1 for r in rows]
    depth = [0] * len(ids)
    for i in range(1, len(ids)):
        depth[i] = depth[parent[i]] + 1
    subtree = [1] * len(ids)
    children = [0] * len(ids)
    for i in range(len(ids) - 1, 0, -1):
        subtree[parent[i]] += subtree[i]
        children[parent[i]] += 1
    root = ids[0]
    deepest = ids[max(range(len(ids)), key=depth.__getitem__)]
    non_root = ids[1:]
    # The bench's own million objects must not make the engine's garbage collections slow.
    gc.collect()
    gc.freeze()

    timings: dict[str, list[float]] = {}
    notes: dict[str, object] = {}

    def timed(name: str, fn, *args, **kwargs) -> object:
        t = time.perf_counter()
        out = fn(*args, **kwargs)
        timings.setdefault(name, []).append((time.perf_counter() - t) * 1000)
        return out

    def sample(population: list[int], k: int) -> list[int]:
        return rng.sample(population, min(k, len(population)))

    # Reading, at random nodes.
    targets = sample(ids, reads)
    notes["depth of the random nodes: p50, max"] = [percentile([depth[index[t]] for t in targets], 50), max(depth)]
    notes["depth of the deepest node"] = max(depth)
    for node_id in targets:
        timed("node", tree.node, node_id)
        timed("children", tree.children, node_id)
        timed("siblings", tree.siblings, node_id)
        timed("path", tree.path, node_id)
        timed("text", tree.text, node_id)
        timed("effective_settings", tree.effective_settings, node_id)
        timed("sibling(node, +1)", tree.sibling, node_id, 1)
        timed("sibling(node, -1)", tree.sibling, node_id, -1)
        timed("history", tree.history, node_id)
        timed("chapter_of", tree.chapter_of, node_id)
    for _ in range(max(10, reads // 10)):
        timed("path at the deepest node", tree.path, deepest)
        timed("text at the deepest node", tree.text, deepest)
        timed("effective_settings at the deepest node", tree.effective_settings, deepest)
    db.execute("CREATE VIRTUAL TABLE temp.bench_vocab USING fts5vocab(main, 'loom_nodes_fts', 'row')")
    by_share = {}
    for share in (0.05, 0.01):
        word, matches = db.execute(
            "SELECT term, doc FROM temp.bench_vocab ORDER BY abs(doc - ?) LIMIT 1", (share * len(ids),)
        ).fetchone()
        by_share[share] = word
        notes[f"search word in ~{share:.0%} of the nodes"] = [word, matches]
    for _ in range(max(10, reads // 10)):
        for share, word in by_share.items():
            timed(f"search a word in ~{share:.0%} of the nodes", tree.search, word)
        notes["tagged('bookmark') nodes"] = len(timed("tagged('bookmark')", tree.tagged, "bookmark"))
        timed(f"search {COMMON_WORD!r} (common)", tree.search, COMMON_WORD)
        timed(f"search {RARE_WORD!r} (rare)", tree.search, RARE_WORD)
        timed("info", tree.info)
        timed("chapters", tree.chapters)
        timed("last_deletion", tree.last_deletion)
        timed("Loom.trees()", loom.trees)
    for word in (COMMON_WORD, RARE_WORD):
        notes[f"nodes matching {word!r}"] = db.execute(
            "SELECT count(*) FROM loom_nodes_fts WHERE loom_nodes_fts MATCH ?", (f'"{word}"',)
        ).fetchone()[0]
    walk_rng = random.Random(seed + 2)
    for node_id in sample(ids, reads):
        timed("walk(node)", tree.walk, node_id, rng=walk_rng)
    for _ in range(max(10, reads // 10)):
        timed("walk() from the current node", tree.walk, None, rng=walk_rng)
        timed("walk(root)", tree.walk, root, rng=walk_rng)

    # Writing, each op a transaction; each is undone or reversed so the tree keeps its shape.
    for node_id in sample(ids, writes):
        timed("go_to", tree.go_to, node_id)
        timed("hoist", tree.hoist, node_id)
        timed("tag", tree.tag, node_id, "bench")
        timed("untag", tree.untag, node_id, "bench")
        timed("set_overrides", tree.set_overrides, node_id, {"temperature": 0.5})
        timed("set_overrides", tree.set_overrides, node_id, None)
        timed("add_child", tree.add_child, node_id, " a new continuation written by hand for the benchmark.")
        timed("edit", tree.edit, node_id, tree.node(node_id).text + " edited")
    tree.hoist(None)
    split_children = []
    for node_id in sample([i for i, r in zip(ids, rows, strict=True) if r[3] >= 2], writes):
        offset = tree.node(node_id).text.find(" ", 1)
        head, tail = timed("split", tree.split, node_id, offset if offset > 0 else 1)
        split_children.append(tail.id)
    for child_id in split_children:  # each the only child of the node it was split from
        timed("merge_with_parent (an only child)", tree.merge_with_parent, child_id)
    refused = 0
    for node_id in sample(non_root, writes):
        old_parent = tree.node(node_id).parent_id
        for _ in range(20):
            try:
                timed("reparent", tree.reparent, node_id, rng.choice(ids))
                break
            except AutoalignError:  # under its own subtree: refused, pick another parent
                refused += 1
        timed("reparent", tree.reparent, node_id, old_parent)
    notes["reparent refusals (new parent inside the subtree)"] = refused
    small = [i for i in non_root if subtree[index[i]] <= 100]
    deleted_nodes = []
    for node_id in sample(small, writes):
        deletion = timed("delete (subtree of at most 100 nodes)", tree.delete, node_id)
        deleted_nodes.append(deletion.nodes)
        timed("undo_delete (subtree of at most 100 nodes)", tree.undo_delete, deletion.id)
    notes["nodes per small deletion: mean"] = sum(deleted_nodes) / len(deleted_nodes)
    for target in (10_000, 100_000) if size >= 1_000_000 else (10_000,):
        big = sorted(non_root, key=lambda i: abs(subtree[index[i]] - target))[:3]
        label = f"{target // 1000}k"
        for node_id in big:
            deletion = timed(f"delete (subtree of ~{label} nodes)", tree.delete, node_id)
            timed(f"undo_delete (subtree of ~{label} nodes)", tree.undo_delete, deletion.id)
        notes[f"nodes per ~{label} deletion"] = [subtree[index[i]] for i in big]
    token_nodes = [(i, r[4]) for i, r in zip(ids, rows, strict=True) if r[2] and r[4] and r[4] >= 3]
    for node_id, count in rng.sample(token_nodes, min(writes, len(token_nodes))):
        made = timed("branch_at_token (inside a node: split + 4 siblings)", tree.branch_at_token, node_id, count // 2)
        notes["nodes made per branch_at_token"] = len(made)

    # The whole tree.
    tree.go_to(deepest)
    data = timed("export_data (whole tree)", tree.export_data)
    notes["exported nodes"] = len(data.nodes)
    del data
    result["ops"] = {name: stats(times) for name, times in timings.items()}
    result["notes"] = notes
    loom.workspace.close()
    emit_result(result)


def child_peer(size: int, saves: int, dump_limit: float) -> None:
    """socketteer/loom's way: the whole tree in one JSON file, loaded to open and dumped after each edit."""
    path = peer_file_of(size)
    result: dict[str, object] = {"file_mb": folder_size_mb(path)}
    try:
        with path.open() as handle:
            json.load(handle)
        result["json.load at the default recursion limit"] = "ok"
    except RecursionError:
        result["json.load at the default recursion limit"] = "RecursionError"
    sys.setrecursionlimit(1_000_000)
    loads = []
    for _ in range(2):
        t = time.perf_counter()
        with path.open() as handle:
            tree = json.load(handle)
        loads.append(time.perf_counter() - t)
    result["json.load_s"] = loads
    # socketteer then indexes every node by id (with its parent), iteratively here.
    t = time.perf_counter()
    by_id = {}
    stack = [(tree["root"], None)]
    while stack:
        node, parent_id = stack.pop()
        node["parent_id"] = parent_id  # socketteer strips its parent pointers before saving; we drop ours
        by_id[node["id"]] = node
        stack.extend((c, node["id"]) for c in node["children"])
    result["index_by_id_s"] = time.perf_counter() - t
    for node in by_id.values():
        del node["parent_id"]
    node = by_id[tree["selected_node_id"]]
    oneshot = []
    scratch = path.with_suffix(".save.json")
    for k in range(saves):
        node["text"] += f" edit {k}"
        t = time.perf_counter()
        scratch.write_text(json.dumps(tree))
        oneshot.append(time.perf_counter() - t)
    result["json.dumps_oneshot_s"] = oneshot
    # json.dump to a file uses the pure-Python encoder, whose nested generators make each chunk cost
    # O(depth): on deep trees it is very slow, so it is stopped after dump_limit seconds and its
    # total time estimated from the share of the file written by then.
    node["text"] += " edit"
    total = scratch.stat().st_size
    written = 0

    class Stop(Exception):
        pass

    def stop(*_):
        raise Stop

    signal.signal(signal.SIGALRM, stop)
    t = time.perf_counter()
    with scratch.open("w") as handle:
        signal.setitimer(signal.ITIMER_REAL, dump_limit)
        try:
            for chunk in json.JSONEncoder().iterencode(tree):  # what json.dump(tree, handle) does
                handle.write(chunk)
                written += len(chunk)
            finished = True
        except Stop:
            finished = False
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    seconds = time.perf_counter() - t
    result["json.dump"] = {
        "finished": finished,
        "seconds": seconds,
        "share_written": written / total,
        "estimated_s": seconds if finished else seconds * total / max(written, 1),
    }
    scratch.unlink()
    try:
        import orjson

        t = time.perf_counter()
        blob = orjson.dumps(tree)
        result["orjson.dumps_s"] = time.perf_counter() - t
        t = time.perf_counter()
        orjson.loads(blob)
        result["orjson.loads_s"] = time.perf_counter() - t
    except Exception as exc:  # orjson refuses deep nesting
        result["orjson"] = f"{type(exc).__name__}: {exc}"
    result["peak_rss_mib"] = peak_rss_mib()
    emit_result(result)


def child_fixes(size: int, tree_id: int) -> None:
    """The fixes proposed for what is over target, measured on a copy of the workspace.

    src/ is not changed: the index is added to the copy only, and the other query shapes are run
    as plain SQL next to the engine's own query, on the same connection.
    """
    import shutil
    import subprocess

    from autoalign.loom import Loom
    from autoalign.loom.tree import _ANCESTORS, _NODE_COLUMNS, _node

    copy = fresh(OUT / f"loom_ws_{label_of(size)}_fixes")
    shutil.copytree(workspace_of(size), copy)
    result: dict[str, object] = {}

    def median_ms(fn, n: int = 5) -> float:
        times = []
        for _ in range(n):
            t = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t) * 1000)
        return percentile(times, 50)

    loom = Loom.open(copy)
    tree = loom.tree(tree_id)
    db = loom.workspace.db
    # 1. The node count of info(): no index covers (tree_id, deleted).
    count_sql = "SELECT count(*) FROM loom_nodes WHERE tree_id = ? AND deleted IS NULL"
    result["count plan, as is"] = db.execute("EXPLAIN QUERY PLAN " + count_sql, (tree_id,)).fetchone()[-1]
    result["info() ms, as is"] = median_ms(tree.info)
    t = time.perf_counter()
    with loom.workspace.transaction() as tx:
        tx.execute("CREATE INDEX bench_loom_nodes_tree ON loom_nodes(tree_id, deleted)")
    result["creating index (tree_id, deleted) s"] = time.perf_counter() - t
    result["count plan, with the index"] = db.execute("EXPLAIN QUERY PLAN " + count_sql, (tree_id,)).fetchone()[-1]
    result["info() ms, with the index"] = median_ms(tree.info)
    result["walk() from the current node ms, with the index"] = median_ms(lambda: tree.walk(rng=random.Random(1)))
    loom.workspace.close()
    opens = [open_sequence(copy, tree_id, every_path_node=False)["open"] for _ in range(5)]
    result["open ms (warm process, new connection), with the index"] = percentile(opens, 50)
    loom = Loom.open(copy)
    tree = loom.tree(tree_id)
    db = loom.workspace.db

    # 2. search: ORDER BY rank computes BM25 for every match before LIMIT.
    capped = (
        f"WITH m AS (SELECT f.rowid AS id, f.rank AS rank FROM loom_nodes_fts f JOIN loom_nodes n ON n.id = f.rowid"
        f" WHERE loom_nodes_fts MATCH ? AND n.tree_id = ? AND n.deleted IS NULL ORDER BY f.rowid DESC LIMIT 10000)"
        f" SELECT {_NODE_COLUMNS} FROM m JOIN loom_nodes n ON n.id = m.id ORDER BY m.rank LIMIT 50"
    )
    for word in (COMMON_WORD, RARE_WORD):
        result[f"search {word!r} ms, as is"] = median_ms(lambda word=word: tree.search(word))
        result[f"search {word!r} ms, ranking the newest 10,000 matches"] = median_ms(
            lambda word=word: [_node(r) for r in db.execute(capped, (f'"{word}"', tree_id))]
        )
    # 3. path(): the SQL against building Node objects (json.loads of tokens and generation settings).
    deepest = tree.info().current_id
    sql = f"{_ANCESTORS} SELECT {_NODE_COLUMNS} FROM up JOIN loom_nodes n ON n.id = up.id ORDER BY up.depth DESC"
    rows = db.execute(sql, (deepest,)).fetchall()
    bare = [(*r[:7], None, None, *r[9:]) for r in rows]
    result["path at the current (deepest) node: nodes"] = len(rows)
    result["path ms: tree.path()"] = median_ms(lambda: tree.path(deepest))
    result["path ms: the SQL alone"] = median_ms(lambda: db.execute(sql, (deepest,)).fetchall())
    result["path ms: Node objects from the rows"] = median_ms(lambda: [_node(r) for r in rows])
    result["path ms: Node objects, generation and tokens left as JSON"] = median_ms(lambda: [_node(r) for r in bare])
    # 4. Larger page cache and memory-mapped reads for subtree deletes (default: 2 MB cache, no mmap).
    subtree = (
        "WITH RECURSIVE s(id) AS (SELECT ? UNION ALL SELECT c.id FROM loom_nodes c JOIN s ON c.parent_id = s.id)"
        " SELECT count(*) FROM s"
    )
    pairs = db.execute(
        "SELECT id, parent_id FROM loom_nodes WHERE tree_id = ? AND deleted IS NULL ORDER BY id", (tree_id,)
    ).fetchall()
    size_of = dict.fromkeys((p[0] for p in pairs), 1)
    for node_id, parent_id in reversed(pairs):
        if parent_id is not None:
            size_of[parent_id] += size_of[node_id]
    big = min((abs(n - 10_000), i) for i, n in size_of.items() if i != pairs[0][0])[1]
    del pairs, size_of

    def delete_and_undo() -> tuple[float, float]:
        t = time.perf_counter()
        deletion = tree.delete(big)
        middle = time.perf_counter()
        tree.undo_delete(deletion.id)
        return (middle - t) * 1000, (time.perf_counter() - middle) * 1000

    result["delete ~10k nodes: subtree"] = db.execute(subtree, (big,)).fetchone()[0]
    result["delete + undo ~10k nodes ms, default cache"] = [delete_and_undo() for _ in range(3)]
    db.execute("PRAGMA cache_size = -65536")
    db.execute("PRAGMA mmap_size = 1073741824")
    result["delete + undo ~10k nodes ms, 64 MiB cache + 1 GiB mmap"] = [delete_and_undo() for _ in range(3)]
    loom.workspace.close()
    shutil.rmtree(copy)
    # 5. Loom.open's migrations step imports every migration package, autoalign.library included.
    probe = (
        "import time, autoalign.loom; t = time.perf_counter(); import autoalign.library; print(time.perf_counter() - t)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    result["import autoalign.library in a fresh process after autoalign.loom ms"] = float(out) * 1000
    emit_result(result)


# -- the parent -----------------------------------------------------------------------------------


def source_state() -> dict[str, object]:
    """The commit, and a hash of the engine's files measured (src/ may hold uncommitted changes)."""
    import hashlib
    import subprocess

    repo = Path(__file__).resolve().parents[1]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True)
    status = subprocess.run(
        ["git", "status", "--short", "src/"], cwd=repo, capture_output=True, text=True
    ).stdout.splitlines()
    digest = hashlib.sha256()
    engine = repo / "src" / "autoalign" / "loom"
    files = [*engine.glob("*.py"), *engine.glob("migrations/*.sql"), repo / "src" / "autoalign" / "workspace.py"]
    for path in sorted(files):
        digest.update(path.relative_to(repo).as_posix().encode() + b"\0" + path.read_bytes())
    return {"commit": commit.stdout.strip(), "src_changes": status, "loom_sha256": digest.hexdigest()[:16]}


def dump_cell(d: dict) -> str:
    if d["finished"]:
        return f"{d['seconds']:.1f}"
    return f"stopped at {d['seconds']:.0f} s, {d['share_written']:.0%} written: about {d['estimated_s']:.0f}"


def fmt_ms(s: dict[str, float] | None) -> list[object]:
    if s is None:
        return ["", "", ""]
    return [s["p50_ms"], s["p95_ms"], s["max_ms"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--reads", type=int, nargs="+", default=[200, 100], help="repetitions of each read, per size")
    parser.add_argument("--writes", type=int, nargs="+", default=[100, 50], help="repetitions of each write, per size")
    parser.add_argument("--saves", type=int, nargs="+", default=[3, 2], help="peer saves per size")
    parser.add_argument(
        "--dump-limit", type=float, nargs="+", default=[60, 30], help="seconds json.dump may run, per size"
    )
    parser.add_argument("--cold", type=int, default=5, help="cold-open processes per size")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--child", choices=["build", "open", "ops", "peer", "fixes"])
    parser.add_argument("--size", type=int)
    parser.add_argument("--tree-id", type=int)
    args = parser.parse_args()
    if args.child == "build":
        return child_build(args.size, args.seed)
    if args.child == "open":
        return child_open(args.size, args.tree_id)
    if args.child == "ops":
        return child_ops(args.size, args.tree_id, args.reads[0], args.writes[0], args.seed)
    if args.child == "peer":
        return child_peer(args.size, args.saves[0], args.dump_limit[0])
    if args.child == "fixes":
        return child_fixes(args.size, args.tree_id)

    if others := busy_others():
        print(f"warning: other processes are running and may skew timings: {others}", flush=True)
    me = str(Path(__file__))
    source = source_state()
    started = time.perf_counter()
    results: dict[str, dict] = {}
    for k, size in enumerate(args.sizes):
        label = label_of(size)

        def pick(values: list, k: int = k) -> str:
            return str(values[min(k, len(values) - 1)])

        busy: list[str] = []

        def check(step: str, busy: list[str] = busy) -> None:
            if others := busy_others():
                print(f"warning: other processes are running before {step}: {others}", flush=True)
                busy.extend(f"{step}: {o}" for o in others)

        check("build")
        print(f"\n######## {label} nodes: build", flush=True)
        build, build_rss, build_wall = run_child(
            [me, "--child", "build", "--size", str(size), "--seed", str(args.seed)]
        )
        build["peak_rss_mib"] = build_rss
        build["child_wall_s"] = build_wall
        print(json.dumps(build["shape"]), flush=True)
        print(f"import {build['import_s']:.1f} s, database {build['db_mb']:.0f} MB", flush=True)
        tree_id = str(build["tree_id"])
        check("cold open")
        print(f"######## {label}: cold open x{args.cold}", flush=True)
        cold = []
        for _ in range(args.cold):
            one, rss, wall = run_child([me, "--child", "open", "--size", str(size), "--tree-id", tree_id])
            cold.append({**one, "process_wall_ms": wall * 1000, "peak_rss_mib": rss})
        check("operations")
        print(f"######## {label}: operations", flush=True)
        ops, ops_rss, ops_wall = run_child(
            [me, "--child", "ops", "--size", str(size), "--tree-id", tree_id, "--seed", str(args.seed)]
            + ["--reads", pick(args.reads), "--writes", pick(args.writes)]
        )
        ops["peak_rss_mib"] = ops_rss
        ops["child_wall_s"] = ops_wall
        check("peer")
        print(f"######## {label}: peer (whole-tree JSON)", flush=True)
        peer, peer_rss, peer_wall = run_child(
            [me, "--child", "peer", "--size", str(size), "--saves", pick(args.saves)]
            + ["--dump-limit", pick(args.dump_limit)]
        )
        peer["peak_rss_mib"] = peer_rss
        peer["child_wall_s"] = peer_wall
        peer_file_of(size).unlink()
        print(f"######## {label}: proposed fixes, on a copy of the workspace", flush=True)
        fixes, _, _ = run_child([me, "--child", "fixes", "--size", str(size), "--tree-id", tree_id])
        print(json.dumps(fixes, indent=1), flush=True)
        results[label] = {"build": build, "cold_open": cold, "ops": ops, "peer": peer, "fixes": fixes, "busy": busy}
        print(f"{label} done at {time.perf_counter() - started:.0f} s", flush=True)

    report(results)
    if source_state()["loom_sha256"] != source["loom_sha256"]:
        print("\nwarning: the engine's files changed during the run; the results mix two versions", flush=True)
    path = write_json(
        "loom_tree.json",
        {
            "command": "bench/loom_tree.py " + " ".join(sys.argv[1:]),
            "seed": args.seed,
            "source": source,
            "source_changed_during_run": source_state()["loom_sha256"] != source["loom_sha256"],
            "targets": {"open_s": TARGET_OPEN_S, "op_ms": TARGET_OP_MS},
            "results": results,
            "total_s": time.perf_counter() - started,
            "busy_others_after": busy_others(),
        },
    )
    print(f"\nwrote {path} in {time.perf_counter() - started:.0f} s")


def report(results: dict[str, dict]) -> None:
    labels = list(results)
    print("\n## Trees built (Loom.import_data, one transaction)\n")
    rows = []
    for label, r in results.items():
        b, s = r["build"], r["build"]["shape"]
        rows.append(
            [
                label,
                s["nodes"],
                f"{s['max_depth']:,} / {s['mean_depth']:,.0f}",
                f"{s['fan_out_mean']:.2f} / {s['fan_out_max']}",
                f"{s['single_child_share']:.0%}",
                s["longest_chain"],
                b["token_nodes"],
                b["generate_s"],
                b["import_s"],
                int(b["nodes_per_s"]),
                b["db_mb"],
                b["peak_rss_mib"],
            ]
        )
    print(
        table(
            [
                "tree",
                "nodes",
                "depth max / mean",
                "fan-out mean / max",
                "single-child inner nodes",
                "longest chain",
                "nodes with tokens",
                "generate s",
                "import s",
                "nodes/s",
                "database MB",
                "peak RSS MiB",
            ],
            rows,
        )
    )
    print("\n## Open, as the web page does it (see open_sequence), then text(current)\n")
    rows = []
    for label, r in results.items():
        cold = r["cold_open"]
        warm = r["ops"]["open_warm"]
        for step in OPEN_STEPS:
            c = [x[step] for x in cold]
            rows.append([label, step, percentile(c, 50), max(c), warm[step]["p50_ms"], warm[step]["max_ms"]])
        rows.append([label, "children(every path node)", "", "", *fmt_ms(warm["children(every path node)"])[::2]])
        rows.append(
            [
                label,
                "open, children of every path node",
                "",
                "",
                *fmt_ms(warm["open, children of every path node"])[::2],
            ]
        )
        same = r["ops"]["open_same_connection"]
        rows.append([label, "open on an open connection (the page's calls)", "", "", same["p50_ms"], same["max_ms"]])
        imports = [x["import_ms"] for x in cold]
        walls = [x["process_wall_ms"] for x in cold]
        rows.append([label, "import autoalign.loom (cold process)", percentile(imports, 50), max(imports), "", ""])
        rows.append([label, "whole cold process (python start to exit)", percentile(walls, 50), max(walls), "", ""])
    print(table(["tree", "step", "cold p50 ms", "cold max ms", "warm p50 ms", "warm max ms"], rows))
    print("\n## Operations (ms), random places\n")
    names = list(dict.fromkeys(n for r in results.values() for n in r["ops"]["ops"]))
    rows = []
    for name in names:
        row: list[object] = [name]
        verdicts = []
        for label in labels:
            s = results[label]["ops"]["ops"].get(name)
            row += [s["n"] if s else "", *fmt_ms(s)]
            exempt = s is None or "export" in name or "~100k" in name
            verdicts.append("" if exempt else ("ok" if s["p95_ms"] < TARGET_OP_MS else "OVER"))
        rows.append(row + verdicts)
    headers = ["operation"]
    for label in labels:
        headers += [f"{label} n", f"{label} p50", f"{label} p95", f"{label} max"]
    print(table([*headers, *(f"{label} p95 < {TARGET_OP_MS:.0f} ms" for label in labels)], rows))
    for label in labels:
        print(f"\n{label} notes: {json.dumps(results[label]['ops']['notes'])}")
    print("\n## Proposed fixes, measured on a copy of each workspace (src/ unchanged)\n")

    def cell(value: object) -> object:
        if isinstance(value, list):
            return ", ".join(" + ".join(f"{x:.1f}" for x in v) if isinstance(v, list) else f"{v:.1f}" for v in value)
        return value

    keys = list(dict.fromkeys(k for r in results.values() for k in r["fixes"]))
    print(table(["measure", *labels], [[k, *(cell(results[x]["fixes"].get(k, "")) for x in labels)] for k in keys]))
    print("\n## Peer: the whole tree as one JSON file (socketteer/loom style)\n")
    rows = []
    for label, r in results.items():
        p = r["peer"]
        rows.append(
            [
                label,
                p["file_mb"],
                p["json.load at the default recursion limit"],
                min(p["json.load_s"]),
                p["index_by_id_s"],
                dump_cell(p["json.dump"]),
                min(p["json.dumps_oneshot_s"]),
                p.get("orjson", f"{p.get('orjson.loads_s', 0):.2f} / {p.get('orjson.dumps_s', 0):.2f}"),
                p["peak_rss_mib"],
            ]
        )
    print(
        table(
            [
                "tree",
                "file MB",
                "json.load, default recursion limit",
                "json.load s",
                "index by id s",
                "save after one edit, json.dump s",
                "json.dumps + write s",
                "orjson loads / dumps s",
                "peak RSS MiB",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
