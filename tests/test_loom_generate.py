"""Generation into Loom trees with the real embedded model and llama.cpp's real server; kill -9 safety."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autoalign.loom import ContinuationDone, Loom, Started
from autoalign.loom.generate import build_prompt
from autoalign.models import ModelError, TokenEvent

PROMPT = "Notes on reward hacking. The first thing to understand is"


def write_config(folder: Path, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.toml").write_text(text)


def test_generate_streams_tokens_then_stores_children(tmp_path: Path, gemma) -> None:
    loom = Loom.open(tmp_path / "ws")
    tree = loom.new_tree(PROMPT)
    root = tree.info().root_id
    events = list(loom.generate(tree, root, overrides={"n": 3, "max_tokens": 8, "seed": 11}))
    assert isinstance(events[0], Started) and events[0].n == 3 and events[0].model == gemma.name
    done = [e for e in events if isinstance(e, ContinuationDone)]
    assert [d.index for d in done] == [0, 1, 2]
    children = tree.children(root)
    assert [c.id for c in children] == [d.node.id for d in done]
    for child, index in zip(children, range(3), strict=True):
        streamed = "".join(e.token.text for e in events if isinstance(e, TokenEvent) and e.index == index)
        assert child.text == streamed
        assert (child.source, child.model) == ("AI", gemma.name)
        assert child.generation["max_tokens"] == 8 and child.generation["seed"] == 11
        assert child.generation["finish_reason"] == "length"
        assert len(child.tokens) == 8 and all(len(t[2]) == 5 for t in child.tokens)
    # Branching on a generated token works on what generation stored.
    branched = tree.branch_at_token(children[0].id, 3)
    assert branched and all(tree.text(b.id).startswith(PROMPT) for b in branched)


def test_generation_uses_node_overrides_and_the_same_seed_reproduces(tmp_path: Path, gemma) -> None:
    loom = Loom.open(tmp_path / "ws")
    tree = loom.new_tree(PROMPT, settings={"n": 1, "max_tokens": 6, "seed": 5, "logprobs": 0})
    root = tree.info().root_id
    tree.set_overrides(root, {"n": 2})
    list(loom.generate(tree, root))
    list(loom.generate(tree, root))
    children = tree.children(root)
    assert len(children) == 4
    assert [c.text for c in children[:2]] == [c.text for c in children[2:]]
    assert all(c.tokens is None for c in children)


def test_prompt_keeps_memory_and_cuts_the_path_from_its_start(gemma, tmp_path: Path) -> None:
    loom = Loom.open(tmp_path / "ws")
    tree = loom.new_tree("start " + "filler words " * 200 + "THE END", settings={"prompt_length": 32})
    tree.update_settings(memory="MEMORY: ")
    prompt = build_prompt(tree.text(tree.info().root_id), tree.settings, gemma)
    assert prompt.startswith("MEMORY: ")
    assert prompt.endswith("THE END")
    assert "start" not in prompt
    assert gemma.count_tokens(prompt[len("MEMORY: ") :]) <= 32


def test_cancel_keeps_what_was_generated(tmp_path: Path, gemma) -> None:
    import threading

    loom = Loom.open(tmp_path / "ws")
    tree = loom.new_tree(PROMPT)
    root = tree.info().root_id
    cancel = threading.Event()
    seen = 0
    for event in loom.generate(tree, root, overrides={"n": 2, "max_tokens": 200}, cancel=cancel):
        if isinstance(event, TokenEvent):
            seen += 1
            if seen == 4:
                cancel.set()
    [child] = tree.children(root)
    assert child.generation["finish_reason"] == "cancelled"
    assert 0 < len(child.tokens) <= 5


def test_generation_through_llama_cpp_server(tmp_path: Path, llama_server: str) -> None:
    write_config(
        tmp_path / "ws",
        f'[models.profiles.server]\nbackend = "openai"\nbase_url = "{llama_server}"\nmodel = "gemma"\n',
    )
    loom = Loom.open(tmp_path / "ws")
    tree = loom.new_tree(PROMPT, settings={"model": "server", "n": 2, "max_tokens": 5, "logprobs": 0})
    root = tree.info().root_id
    done = [e for e in loom.generate(tree, root) if isinstance(e, ContinuationDone)]
    assert len(done) == 2
    assert {c.model for c in tree.children(root)} == {"openai:gemma"}


def test_server_down_leaves_the_tree_unchanged(tmp_path: Path) -> None:
    write_config(
        tmp_path / "ws",
        '[models.profiles.down]\nbackend = "openai"\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "m"\ntimeout_s = 2\n',
    )
    loom = Loom.open(tmp_path / "ws")
    tree = loom.new_tree(PROMPT, settings={"model": "down"})
    with pytest.raises(ModelError, match="cannot connect"):
        list(loom.generate(tree, tree.info().root_id))
    assert tree.info().node_count == 1
    with pytest.raises(Exception, match="no model profile 'missing'"):
        list(loom.generate(tree, tree.info().root_id, overrides={"model": "missing"}))


def test_kill_9_during_generation_loses_only_the_generation_in_flight(tmp_path: Path, gemma) -> None:
    workspace = tmp_path / "ws"
    loom = Loom.open(workspace)
    tree = loom.new_tree(PROMPT)
    root = tree.info().root_id
    kept = tree.add_child(root, " a node written before the crash")
    env = {**os.environ, "AUTOALIGN_WORKSPACE": str(workspace)}
    # Four long continuations: the first is stored after ~60 tokens, the rest are still running.
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "autoalign",
            "loom",
            "gen",
            str(tree.id),
            "--node",
            str(root),
            "--count",
            "4",
            "--max-tokens",
            "60",
            "--seed",
            "3",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    db = sqlite3.connect(workspace / "autoalign.db")
    # Waits for the first stored continuation; a hang ends at the suite's per-test timeout.
    while db.execute("SELECT count(*) FROM loom_nodes WHERE source = 'AI'").fetchone()[0] < 1:
        assert process.poll() is None, "the generation ended before it could be killed"
        time.sleep(0.05)
    time.sleep(0.3)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    db.close()

    reopened = Loom.open(workspace).tree(tree.id)
    children = reopened.children(root)
    generated = [c for c in children if c.source == "AI"]
    assert 1 <= len(generated) < 4
    assert children[0].text == kept.text
    for child in generated:
        assert child.generation["finish_reason"] in ("length", "stop")
        assert child.text == "".join(token[0] for token in child.tokens)
    check = sqlite3.connect(workspace / "autoalign.db")
    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # The tree works on: generation after the crash adds children next to the kept ones.
    list(Loom.open(workspace).generate(reopened, root, overrides={"n": 1, "max_tokens": 3}))
    assert len(reopened.children(root)) == len(children) + 1
