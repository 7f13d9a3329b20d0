"""A workspace: one folder holding one SQLite database and the index files derived from it.

The database is the store of record. Index files (the lexical index, vector files) can always be
rebuilt from it, so a crash can at worst make them stale, never make the database wrong. Each
capability ships numbered SQL migrations in its own ``migrations`` folder; opening a workspace
applies the ones not yet applied, each in its own transaction.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import overload

from autoalign.config import Settings, load_settings
from autoalign.errors import WorkspaceError
from autoalign.processes import process_alive

DB_NAME = "autoalign.db"
#: Packages whose ``migrations/NNN_name.sql`` files define the schema, applied in this order.
MIGRATION_PACKAGES = ("autoalign.library", "autoalign.loom", "autoalign.discover", "autoalign.assist", "autoalign.jobs")
#: The web app's address while it runs (see :meth:`Workspace.web_address`).
_WEB_KEY = "web:address"
_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


def default_workspace_path() -> Path:
    """``$AUTOALIGN_WORKSPACE``, else the per-user data folder."""
    if explicit := os.environ.get("AUTOALIGN_WORKSPACE"):
        return Path(explicit).expanduser()
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "autoalign" / "workspace"


def inserted_id(cursor: sqlite3.Cursor) -> int:
    """The id of the row that the INSERT just run on ``cursor`` made."""
    row_id = cursor.lastrowid
    assert row_id is not None  # sqlite3 sets it on every INSERT; it is None only before any statement
    return row_id


class Workspace:
    """A folder with the workspace database and its index files.

    Each thread has its own :class:`sqlite3.Connection` (:attr:`db`), so a request of the web
    app reads committed data only, never the half-done transaction of another request. Writes are
    serialized by :meth:`transaction` within a process and by SQLite across processes; WAL mode
    lets readers proceed while a writer works.
    """

    def __init__(self, path: Path, settings: Settings | None = None) -> None:
        self.path = path
        self.settings = settings if settings is not None else load_settings(path)
        self._write_lock = threading.RLock()
        self._connections: weakref.WeakKeyDictionary[threading.Thread, sqlite3.Connection] = weakref.WeakKeyDictionary()
        self._connections_lock = threading.Lock()
        self._closed = False
        try:
            self._migrate()
        except BaseException:
            self.close()
            raise

    @property
    def db(self) -> sqlite3.Connection:
        """This thread's connection, opened on its first use; those of ended threads are closed."""
        thread = threading.current_thread()
        db = self._connections.get(thread)
        if db is None:
            with self._connections_lock:
                if self._closed:
                    raise WorkspaceError(f"the workspace {self.path} is closed")
                for ended in [other for other in self._connections if not other.is_alive()]:
                    self._connections.pop(ended).close()
                db = self._connections[thread] = self._connect()
        return db

    @classmethod
    def open(cls, path: str | Path | None = None, *, create: bool = True) -> Workspace:
        """Open (and by default create) the workspace at ``path`` or the default location."""
        folder = Path(path).expanduser() if path is not None else default_workspace_path()
        if folder.exists() and not folder.is_dir():
            raise WorkspaceError(f"{folder} is a file, not a workspace folder")
        if not folder.exists():
            if not create:
                raise WorkspaceError(f"no workspace at {folder}")
            try:
                folder.mkdir(parents=True)
            except OSError as exc:
                raise WorkspaceError(f"cannot create workspace {folder}: {exc.strerror}") from None
        return cls(folder.resolve())

    def index_path(self, name: str) -> Path:
        """A folder for a derived index, created on first use."""
        folder = self.path / "indexes" / name
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed whole on success, rolled back whole on any error."""
        db = self.db
        with self._write_lock:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.rollback()
                raise
            else:
                db.commit()

    @overload
    def get_state(self, key: str, default: str) -> str: ...
    @overload
    def get_state(self, key: str, default: None = None) -> str | None: ...
    def get_state(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM workspace_state WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_state(self, key: str, value: str, db: sqlite3.Connection | None = None) -> None:
        """Record a small fact (a watermark, a version); inside a transaction when ``db`` is given."""
        statement = (
            "INSERT INTO workspace_state(key, value) VALUES (?, ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value"
        )
        if db is not None:
            db.execute(statement, (key, value))
        else:
            with self.transaction() as tx:
                tx.execute(statement, (key, value))

    def record_web_address(self, url: str | None) -> None:
        """Say (or, with None, unsay) that this process serves the workspace's web app at ``url``."""
        if url is None:
            with self.transaction() as tx:
                tx.execute("DELETE FROM workspace_state WHERE key = ? AND value LIKE ?", (_WEB_KEY, f"{os.getpid()} %"))
        else:
            self.set_state(_WEB_KEY, f"{os.getpid()} {url}")

    def web_address(self) -> str | None:
        """Where the web app serves this workspace now, if a live process said so: links printed by
        the CLI then point at the server the user actually runs, on whatever port it took."""
        recorded = self.get_state(_WEB_KEY)
        if recorded is None:
            return None
        pid, _, url = recorded.partition(" ")
        return url if pid.isdigit() and process_alive(int(pid)) else None

    def close(self) -> None:
        """Close every thread's connection; the workspace cannot be used after this."""
        with self._connections_lock:
            self._closed = True
            for db in self._connections.values():
                db.close()
            self._connections.clear()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path / DB_NAME, isolation_level=None, check_same_thread=False, timeout=30)
        try:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("PRAGMA busy_timeout = 30000")
        except sqlite3.DatabaseError as exc:
            db.close()
            raise WorkspaceError(f"{self.path / DB_NAME} is not a usable database: {exc}") from None
        return db

    def _migrate(self) -> None:
        with self.transaction() as tx:
            tx.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " package TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL,"
                " applied_at TEXT NOT NULL DEFAULT (datetime('now')), PRIMARY KEY (package, version))"
            )
            tx.execute("CREATE TABLE IF NOT EXISTS workspace_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        for package in MIGRATION_PACKAGES:
            known = _migrations_of(package)
            applied = self._applied(package)
            self._refuse_newer_schema(package, applied, {version for version, _, _ in known})
            for version, name, sql in known:
                if version in applied:  # the usual case: opening takes no write lock
                    continue
                with self.transaction() as tx:
                    # Checked again inside the write transaction: another process may be opening it too.
                    done = "SELECT 1 FROM schema_migrations WHERE package = ? AND version = ?"
                    if tx.execute(done, (package, version)).fetchone():
                        continue
                    for statement in _split_sql(sql):
                        tx.execute(statement)
                    tx.execute(
                        "INSERT INTO schema_migrations(package, version, name) VALUES (?, ?, ?)",
                        (package, version, name),
                    )

    def _applied(self, package: str) -> dict[int, str]:
        """The package's migrations recorded in this database: version -> file name."""
        rows = self.db.execute("SELECT version, name FROM schema_migrations WHERE package = ?", (package,))
        return dict(rows.fetchall())

    def _refuse_newer_schema(self, package: str, applied: dict[int, str], known: set[int]) -> None:
        """A migration this version does not ship means a newer autoalign changed the schema: writing
        with the old code could corrupt what it stored, so the workspace is not opened."""
        unknown = sorted(name for version, name in applied.items() if version not in known)
        if unknown:
            raise WorkspaceError(
                f"{self.path} was written by a newer autoalign ({package} migration {', '.join(unknown)},"
                " which this version does not have); upgrade autoalign (pip install -U autoalign) to open it."
                " Nothing was changed."
            )


def _migrations_of(package: str) -> list[tuple[int, str, str]]:
    """The package's migrations, found without importing the package: opening a workspace must
    not load every capability's dependencies (sympy and scipy cost 0.8 s)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise WorkspaceError(f"cannot find the migrations of {package}")
    folder = Path(next(iter(spec.submodule_search_locations))) / "migrations"
    found = []
    for entry in folder.iterdir():
        if match := _MIGRATION_NAME.match(entry.name):
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (``executescript`` would commit our transaction)."""
    statements, current = [], []
    for line in script.splitlines(keepends=True):
        current.append(line)
        candidate = "".join(current)
        if sqlite3.complete_statement(candidate):
            if candidate.strip():
                statements.append(candidate)
            current = []
    if "".join(current).strip():
        raise WorkspaceError(f"incomplete SQL statement in migration: {''.join(current)[:80]!r}")
    return statements
