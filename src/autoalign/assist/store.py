"""Assistants' results and rubber-duck conversations, kept in the workspace database."""

from __future__ import annotations

import time
from dataclasses import dataclass

import orjson

from autoalign.assist.records import Kind, Result
from autoalign.errors import NotFoundError
from autoalign.workspace import Workspace


@dataclass(frozen=True, slots=True)
class ResultInfo:
    """A stored result as a listing shows it."""

    id: int
    kind: Kind
    prompt: str
    model: str
    created_at: float


@dataclass(frozen=True, slots=True)
class Turn:
    role: str
    text: str
    #: The duck's reply (None for the researcher's turns, and for a reply that failed).
    result: Result | None
    created_at: float


@dataclass(frozen=True, slots=True)
class Session:
    id: int
    title: str
    turns: list[Turn]


def save(workspace: Workspace, result: Result) -> Result:
    """Store ``result``; it comes back with its id and time (the id lives in the row, not the JSON)."""
    result.created_at = time.time()
    with workspace.transaction() as tx:
        cursor = tx.execute(
            "INSERT INTO assist_results (kind, prompt, result, model, settings, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (
                result.kind,
                result.prompt,
                orjson.dumps(result.as_dict()).decode(),
                result.model,
                orjson.dumps(result.settings).decode(),
                result.created_at,
            ),
        )
        result.id = cursor.lastrowid
    return result


def load(workspace: Workspace, result_id: int) -> Result:
    row = workspace.db.execute("SELECT result FROM assist_results WHERE id = ?", (result_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"no assistant result {result_id}")
    result = Result.from_dict(orjson.loads(row[0]))
    result.id = result_id
    return result


def recent(workspace: Workspace, *, kind: Kind | None = None, limit: int = 50) -> list[ResultInfo]:
    """Stored results, newest first (rubber-duck replies are listed by session instead)."""
    sql = "SELECT id, kind, prompt, model, created_at FROM assist_results WHERE kind != 'duck'"
    params: list[object] = []
    if kind:
        sql += " AND kind = ?"
        params.append(kind)
    sql += " ORDER BY id DESC LIMIT ?"
    params.append(limit)
    return [ResultInfo(*row) for row in workspace.db.execute(sql, params)]


def new_session(workspace: Workspace, title: str) -> int:
    now = time.time()
    with workspace.transaction() as tx:
        cursor = tx.execute(
            "INSERT INTO assist_sessions (title, created_at, updated_at) VALUES (?, ?, ?)", (title, now, now)
        )
        return int(cursor.lastrowid or 0)


def add_turn(workspace: Workspace, session_id: int, role: str, *, text: str = "", result_id: int | None = None) -> None:
    now = time.time()
    with workspace.transaction() as tx:
        tx.execute(
            "INSERT INTO assist_turns (session_id, role, text, result_id, created_at) VALUES (?, ?, ?, ?, ?)",
            (session_id, role, text, result_id, now),
        )
        tx.execute("UPDATE assist_sessions SET updated_at = ? WHERE id = ?", (now, session_id))


def session(workspace: Workspace, session_id: int) -> Session:
    row = workspace.db.execute("SELECT title FROM assist_sessions WHERE id = ?", (session_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"no rubber-duck session {session_id}")
    turns = [
        Turn(role, text, load(workspace, result_id) if result_id else None, created_at)
        for role, text, result_id, created_at in workspace.db.execute(
            "SELECT role, text, result_id, created_at FROM assist_turns WHERE session_id = ? ORDER BY id",
            (session_id,),
        )
    ]
    return Session(session_id, row[0], turns)


def sessions(workspace: Workspace, *, limit: int = 50) -> list[tuple[int, str, float]]:
    """``(id, title, last change)`` of the rubber-duck sessions, most recent first."""
    return workspace.db.execute(
        "SELECT id, title, updated_at FROM assist_sessions ORDER BY updated_at DESC LIMIT ?", (limit,)
    ).fetchall()
