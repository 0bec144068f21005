"""The store's file and its connection: opened (read-only where it cannot be written), set up, and written to."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Self

from .. import checkpoints
from . import schema
from .schema import SCHEMA_VERSION


class StoreError(RuntimeError):
    """The store cannot be used; the message says which file and what to do."""


def default_path() -> Path:
    """$RNNVIZ_STORE, else $XDG_DATA_HOME/rnnviz/runs.sqlite (~/.local/share/rnnviz/runs.sqlite)."""
    if os.environ.get("RNNVIZ_STORE"):
        return Path(os.environ["RNNVIZ_STORE"]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "rnnviz" / "runs.sqlite"


class Connection:
    """The store's file and the one SQLite connection to it: the base of `Store`, whose parts (queue.py,
    records.py, reads.py) each add the methods of one idea."""

    def __init__(self, path: str | os.PathLike | None = None, readonly: bool | None = None) -> None:
        """Open (or create) a store. A store this process cannot write, such as one on read-only media or
        owned by someone else, opens read-only: every read works, writes raise StoreError."""
        self.path = Path(path).expanduser() if path else default_path()
        if self.path.is_dir():
            raise StoreError(
                f"{self.path}: is a directory; give a file path for the store, e.g. {self.path / 'runs.sqlite'}"
            )
        self.readonly = self._cannot_write() if readonly is None else readonly
        self.names: dict[str, int] = {}  # scalar name -> id, as committed (names are never deleted)
        self._pending: dict[str, int] = {}  # ids given in the open transaction
        try:
            if self.readonly:
                self.conn = self._connect_readonly()
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
            self.conn.execute("PRAGMA busy_timeout = 30000")
            self._setup()
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"{self.path}: cannot be used as a run store ({exc}); "
                "is it an rnnviz store? Give another path with --store or $RNNVIZ_STORE"
            ) from None
        except OSError as exc:
            raise StoreError(
                f"{self.path}: {exc.strerror or exc}; give a writable path with --store or $RNNVIZ_STORE"
            ) from None

    def _cannot_write(self) -> bool:
        if self.path.exists():
            # WAL mode also creates files beside the store, so its directory must be writable too
            return not (os.access(self.path, os.W_OK) and os.access(self.path.parent, os.W_OK))
        return False

    def _connect_readonly(self) -> sqlite3.Connection:
        if not self.path.exists():
            raise StoreError(f"{self.path}: no such store")
        uri = self.path.resolve().as_uri()
        conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.OperationalError:
            # A WAL store whose -shm file cannot be created here (read-only media): read it as immutable,
            # which is right because no trainer can be writing to a file that nobody may write.
            conn.close()
            return sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None, check_same_thread=False)

    def _setup(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: written by a newer rnnviz (schema {version}, this one reads "
                f"{SCHEMA_VERSION}); upgrade rnnviz or use another store"
            )
        self.version = version
        if self.readonly:
            if version == 0:
                raise StoreError(f"{self.path}: not an rnnviz store (or an empty one), and it is read-only")
            return  # an older schema is read as it is
        if version == 0:
            with self.transaction() as c:
                # Look again under the write lock, in one snapshot: another process may have created the
                # store since the read above (outside a transaction, each statement sees a newer state).
                version = c.execute("PRAGMA user_version").fetchone()[0]
                tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                if version == 0 and tables - {"sqlite_sequence"}:
                    raise StoreError(f"{self.path}: an SQLite file that is not an rnnviz store; use another path")
                if version == 0:
                    schema.create(c)
        if 0 < version < SCHEMA_VERSION:
            # one transaction, so a kill halfway leaves it as it was
            with self.transaction() as c:
                schema.upgrade(c)
        self.version = SCHEMA_VERSION
        for attempt in range(100):
            try:
                if self.conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    self.conn.execute("PRAGMA journal_mode = WAL")
                break
            except sqlite3.OperationalError:  # switching to WAL wants the file alone, busy_timeout or not
                if attempt == 99:
                    raise
                time.sleep(0.05)
        self.conn.execute("PRAGMA synchronous = NORMAL")  # durable against process crashes in WAL mode

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; a failed write (disk full, read-only file) leaves earlier commits intact."""
        if self.readonly:
            raise StoreError(
                f"{self.path}: the store is read-only here, so runs can be browsed but not started, stopped or "
                "deleted; to train, copy it somewhere writable or use another --store"
            )
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")
            self.names.update(self._pending)
        except sqlite3.OperationalError as exc:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise StoreError(
                f"{self.path}: cannot write to the run store ({exc}); free disk space or make it "
                "writable, or use another --store. Everything committed before is kept."
            ) from None
        finally:
            self._pending = {}

    def _require(self, run_id: int) -> sqlite3.Row:
        """The run's row; a run id that is not a number or not in the store is refused with what to do."""
        self.conn.row_factory = sqlite3.Row
        try:
            row = self.conn.execute("SELECT * FROM runs WHERE id = ?", (int(run_id),)).fetchone()
        except (TypeError, ValueError):
            raise StoreError(f"run id must be a number, got {run_id!r}") from None
        finally:
            self.conn.row_factory = None
        if row is None:
            raise StoreError(f"no run {run_id} in {self.path}; `python -m rnnviz runs` lists them")
        return row

    def checkpoint_path(self, run_id: int) -> Path:
        return checkpoints.path_for(self.path, run_id)
