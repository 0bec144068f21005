"""The run store's database: its schema, write transactions, a run's records written and read back."""

from __future__ import annotations

import itertools
import json
import os
import socket
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .. import buckets, checkpoints, roles
from ..config import RunConfig
from .liveness import proc_start, process_alive
from .status import ACTIVE, Status

if TYPE_CHECKING:
    import torch

SCHEMA_VERSION = 3
# The bucket sizes of the scalars' levels: a view of W steps a bucket reads the level of the largest size up
# to W (at most 8 rows a bucket drawn), and the record itself below the first.
LEVELS = (16, 128, 1024, 8192, 65536, 524288)
# A run that was queued this long ago and never got a process has lost its launcher.
QUEUE_GRACE_S = 60.0

SCHEMA = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    config TEXT NOT NULL,
    status TEXT NOT NULL,           -- a Status (status.py)
    created REAL NOT NULL,
    started REAL,
    ended REAL,
    heartbeat REAL,                 -- last commit of the trainer
    host TEXT,
    pid INTEGER,
    pid_start TEXT,                 -- the process's start time, so a reused pid is not mistaken
    error TEXT,
    step INTEGER NOT NULL DEFAULT 0,
    total_steps INTEGER NOT NULL,
    stop_requested INTEGER NOT NULL DEFAULT 0,
    test_accuracy REAL,
    saturated_fraction REAL,
    seconds REAL,
    sweep_id INTEGER                -- the set of runs (sweeps) it belongs to, if any
);
CREATE INDEX runs_by_sweep ON runs (sweep_id);
CREATE TABLE sweeps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,             -- the base config, the grid and the seeds, as JSON (sets.SetSpec)
    status TEXT NOT NULL,           -- a Status: running while its driver waits on Ray, then how it ended
    created REAL NOT NULL,
    ended REAL,
    engine TEXT NOT NULL,
    ray_address TEXT,
    host TEXT,                      -- the driver's machine and process, so a dead driver's set is seen
    pid INTEGER,
    pid_start TEXT
);
CREATE TABLE scalar_names (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
-- every step recorded, a name by its id: a third of the bytes of a row that spells the name (bench/README.md)
CREATE TABLE scalars (
    run_id INTEGER NOT NULL, name_id INTEGER NOT NULL, step INTEGER NOT NULL, value REAL,
    PRIMARY KEY (run_id, name_id, step)
) WITHOUT ROWID;
-- each scalar summarised per bucket of `size` steps (LEVELS), kept current by every append, so that a chart
-- reads about as many rows as it draws points, whatever the run's length (rnnviz/buckets.py)
CREATE TABLE scalar_levels (
    run_id INTEGER NOT NULL, name_id INTEGER NOT NULL, size INTEGER NOT NULL, bucket INTEGER NOT NULL,
    n INTEGER NOT NULL, min REAL, min_step INTEGER, max REAL, max_step INTEGER, sum REAL NOT NULL,
    last REAL, last_step INTEGER NOT NULL,
    PRIMARY KEY (run_id, name_id, size, bucket)
) WITHOUT ROWID;
CREATE TABLE arrays (
    run_id INTEGER NOT NULL, step INTEGER NOT NULL, name TEXT NOT NULL,
    shape TEXT NOT NULL, data BLOB NOT NULL,   -- float32 bytes, C order
    PRIMARY KEY (run_id, name, step)
) WITHOUT ROWID;
CREATE TABLE hist_edges (
    run_id INTEGER NOT NULL, name TEXT NOT NULL, edges BLOB NOT NULL,
    PRIMARY KEY (run_id, name)
) WITHOUT ROWID;
"""
# How a store of each older schema becomes the next one; each list runs in one transaction.
LEVEL_COLUMNS = "bucket, n, min, min_step, max, max_step, sum, last, last_step"


def _levels_in(c: sqlite3.Connection, run_id: int, name_id: int, size: int, b0: int, b1: int) -> buckets.Buckets:
    """One scalar's buckets b0..b1 of one level, as stored."""
    rows = c.execute(
        f"SELECT {LEVEL_COLUMNS} FROM scalar_levels WHERE run_id = ? AND name_id = ? AND size = ? "
        "AND bucket BETWEEN ? AND ? ORDER BY bucket",
        (run_id, name_id, size, b0, b1),
    ).fetchall()
    if not rows:
        return buckets.empty(size)
    bucket, n, lo, lo_step, hi, hi_step, total, last, last_step = zip(*rows)
    i, f = (lambda c: np.array(c, np.int64)), (lambda c: np.array(c, np.float64))  # NULL reads as NaN
    return buckets.Buckets(size, i(bucket), i(n), f(lo), i(lo_step), f(hi), i(hi_step), f(total), f(last), i(last_step))


def _raw(c: sqlite3.Connection, run_id: int, name_id: int, first: int, last: int) -> buckets.Buckets:
    rows = c.execute(
        "SELECT step, value FROM scalars WHERE run_id = ? AND name_id = ? AND step BETWEEN ? AND ? ORDER BY step",
        (run_id, name_id, first, last),
    ).fetchall()
    steps, values = (np.array(r, np.float64) for r in zip(*rows)) if rows else (np.zeros(0), np.zeros(0))
    return buckets.exact(steps.astype(np.int64), values)


def _span(
    c: sqlite3.Connection, run_id: int, name_id: int, first: int, last: int, sizes: tuple[int, ...]
) -> list[buckets.Buckets]:
    """Steps first..last of one scalar, exactly: the whole buckets of the coarsest of `sizes` inside the range,
    and its ends from finer levels, down to the record itself (at most 7 rows a level at each end)."""
    if first > last:
        return []
    if not sizes:
        return [_raw(c, run_id, name_id, first, last)]
    size, finer = sizes[-1], sizes[:-1]
    lo, hi = -(-first // size), (last + 1) // size - 1  # the whole buckets inside
    if lo > hi:
        return _span(c, run_id, name_id, first, last, finer)
    return [
        *_span(c, run_id, name_id, first, lo * size - 1, finer),
        _levels_in(c, run_id, name_id, size, lo, hi),
        *_span(c, run_id, name_id, (hi + 1) * size, last, finer),
    ]


# relevel works on every name of a batch at once, each name's steps and buckets shifted by its rank times
# SPREAD steps: a multiple of every level's size, above any step, so that a bucket never spans two names.
SPREAD = 1 << 40


def _levels_of(c: sqlite3.Connection, run_id: int, ids: list[int], size: int, b0: int, b1: int) -> buckets.Buckets:
    """Buckets b0..b1 of one level for several scalars, shifted apart by SPREAD (see relevel)."""
    marks = ",".join("?" * len(ids))
    rows = c.execute(
        f"SELECT name_id, {LEVEL_COLUMNS} FROM scalar_levels WHERE run_id = ? AND size = ? AND name_id IN ({marks}) "
        "AND bucket BETWEEN ? AND ? ORDER BY name_id, bucket",
        (run_id, size, *ids, b0, b1),
    ).fetchall()
    if not rows:
        return buckets.empty(size)
    name_id, bucket, n, lo, lo_step, hi, hi_step, total, last, last_step = zip(*rows)
    shift = np.searchsorted(ids, name_id) * SPREAD
    i, f = (lambda c: np.array(c, np.int64)), (lambda c: np.array(c, np.float64))  # NULL reads as NaN
    return buckets.Buckets(size, i(bucket) + shift // size, i(n), f(lo), i(lo_step) + shift, f(hi),
                           i(hi_step) + shift, f(total), f(last), i(last_step) + shift)  # fmt: skip


def _raw_of(c: sqlite3.Connection, run_id: int, ids: list[int], first: int, last: int) -> buckets.Buckets:
    marks = ",".join("?" * len(ids))
    rows = c.execute(
        f"SELECT name_id, step, value FROM scalars WHERE run_id = ? AND name_id IN ({marks}) "
        "AND step BETWEEN ? AND ? ORDER BY name_id, step",
        (run_id, *ids, first, last),
    ).fetchall()
    if not rows:
        return buckets.empty()
    name_id, steps, values = zip(*rows)
    return buckets.exact(np.array(steps, np.int64) + np.searchsorted(ids, name_id) * SPREAD, np.array(values, float))


def relevel(c: sqlite3.Connection, run_id: int, name_ids: Iterable[int], first: int, last: int) -> None:
    """Recompute the levels' buckets that hold steps first..last (at least 0) of some scalars, each level from
    the one below it: a few rows a bucket, so an append costs what it adds. Exact also where steps were
    rewritten or deleted (a final probe, `truncate`), which is why it recomputes, not adds."""
    ids = sorted(set(name_ids))
    if not ids:
        return
    below = None
    for size in LEVELS:
        b0, b1 = first // size, last // size
        if below is None:
            fine = _raw_of(c, run_id, ids, b0 * size, (b1 + 1) * size - 1)
        else:
            k = size // below
            fine = _levels_of(c, run_id, ids, below, b0 * k, (b1 + 1) * k - 1)
        level = buckets.merge(fine, size)
        marks = ",".join("?" * len(ids))
        if len(level) < len(ids) * (b1 - b0 + 1):  # a bucket may be left without steps: replacing would keep it
            c.execute(
                f"DELETE FROM scalar_levels WHERE run_id = ? AND size = ? AND name_id IN ({marks}) "
                "AND bucket BETWEEN ? AND ?",
                (run_id, size, *ids, b0, b1),
            )
        rank = level.bucket // (SPREAD // size)
        shift = rank * SPREAD
        c.executemany(
            f"INSERT OR REPLACE INTO scalar_levels (run_id, name_id, size, {LEVEL_COLUMNS}) "
            f"VALUES ({', '.join('?' * 12)})",
            zip(
                itertools.repeat(run_id), np.asarray(ids)[rank].tolist(), itertools.repeat(size),
                (level.bucket - shift // size).tolist(), level.n.tolist(), _nulls(level.min),
                (level.min_step - shift).tolist(), _nulls(level.max), (level.max_step - shift).tolist(),
                level.sum.tolist(), _nulls(level.last), (level.last_step - shift).tolist(),
            ),
        )  # fmt: skip
        below = size


def _nulls(a: np.ndarray) -> list[float | None]:
    return [None if v != v else v for v in a.tolist()]


def _to_name_ids(c: sqlite3.Connection) -> None:
    """Schema 2 to 3: scalars keyed by a name id, not the name, and their levels computed once."""
    c.execute("CREATE TABLE scalar_names (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)")
    c.execute("INSERT INTO scalar_names (name) SELECT DISTINCT name FROM scalars ORDER BY name")
    c.execute(SCHEMA[SCHEMA.index("CREATE TABLE scalars") :].split(";")[0].replace("scalars", "scalars_v3", 1))
    c.execute(
        "INSERT INTO scalars_v3 SELECT s.run_id, n.id, s.step, s.value FROM scalars s "
        "JOIN scalar_names n ON n.name = s.name"
    )
    c.execute("DROP TABLE scalars")  # and its index by step
    c.execute("ALTER TABLE scalars_v3 RENAME TO scalars")
    c.execute(SCHEMA[SCHEMA.index("CREATE TABLE scalar_levels") :].split(";")[0])
    spans = c.execute("SELECT run_id, name_id, MIN(step), MAX(step) FROM scalars GROUP BY run_id, name_id").fetchall()
    for run_id, name_id, first, last in spans:
        relevel(c, run_id, [name_id], first, last)


# How a store of each older schema becomes the next one: statements, or functions of the connection; the whole
# way to this schema runs in one transaction (Store._upgrade).
UPGRADES: dict[int, list[str | Callable[[sqlite3.Connection], None]]] = {
    1: [
        "ALTER TABLE runs ADD COLUMN sweep_id INTEGER",
        "CREATE INDEX runs_by_sweep ON runs (sweep_id)",
        SCHEMA[SCHEMA.index("CREATE TABLE sweeps") :].split(";")[0],
    ],
    2: [_to_name_ids],
}


class StoreError(RuntimeError):
    """The store cannot be used; the message says which file and what to do."""


def default_path() -> Path:
    """$RNNVIZ_STORE, else $XDG_DATA_HOME/rnnviz/runs.sqlite (~/.local/share/rnnviz/runs.sqlite)."""
    if os.environ.get("RNNVIZ_STORE"):
        return Path(os.environ["RNNVIZ_STORE"]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "rnnviz" / "runs.sqlite"


def encode(a: np.ndarray) -> tuple[str, bytes]:
    a = np.ascontiguousarray(a, dtype=np.float32)
    return ",".join(map(str, a.shape)), a.tobytes()


def decode(shape: str, data: bytes) -> np.ndarray:
    dims = tuple(int(d) for d in shape.split(",")) if shape else ()
    return np.frombuffer(data, dtype=np.float32).reshape(dims)


class Store:
    """A connection to a run store; create one per process (or thread) that uses it."""

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
                    for stmt in SCHEMA.split(";"):
                        if stmt.strip():
                            c.execute(stmt)
                    c.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        if 0 < version < SCHEMA_VERSION:
            self._upgrade()
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

    def _upgrade(self) -> None:
        """Bring a store of an older schema to this one in place: one transaction, so a kill halfway leaves
        it as it was, and the version read again under the write lock, so two processes opening it at once
        upgrade it once."""
        with self.transaction() as c:
            version = c.execute("PRAGMA user_version").fetchone()[0]
            while version < SCHEMA_VERSION:
                for step in UPGRADES[version]:
                    if isinstance(step, str):
                        c.execute(step)
                    else:
                        step(c)
                version += 1
            c.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
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

    # ---- writing (the trainer) ----
    def create_run(self, cfg: RunConfig, status: Status = Status.QUEUED, sweep_id: int | None = None) -> int:
        roles.require("start runs", StoreError)
        with self.transaction() as c:
            cur = c.execute(
                "INSERT INTO runs (name, config, status, created, total_steps, host, sweep_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (cfg.display_name, cfg.to_json(), status, time.time(), cfg.steps, socket.gethostname(), sweep_id),
            )
            assert cur.lastrowid is not None
        # a checkpoint left by a store deleted from this path (its run ids start at 1 again) is not this run's:
        # a resume or the inspector would read another run's weights
        self.checkpoint_path(cur.lastrowid).unlink(missing_ok=True)
        return cur.lastrowid

    def create_sweep(self, name: str, spec: str, engine: str, ray_address: str | None) -> int:
        """Record a set of runs and the process that drives it (this one)."""
        pid = os.getpid()
        with self.transaction() as c:
            cur = c.execute(
                "INSERT INTO sweeps (name, spec, status, created, engine, ray_address, host, pid, pid_start) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (name, spec, Status.RUNNING, time.time(), engine, ray_address, socket.gethostname(), pid,
                 proc_start(pid)),
            )  # fmt: skip
            assert cur.lastrowid is not None
            return cur.lastrowid

    def finish_sweep(self, sweep_id: int, status: Status) -> None:
        with self.transaction() as c:
            c.execute("UPDATE sweeps SET status = ?, ended = ? WHERE id = ?", (status, time.time(), sweep_id))

    def set_process(self, run_id: int, pid: int) -> None:
        """Record the process that will train this run."""
        with self.transaction() as c:
            c.execute(
                "UPDATE runs SET pid = ?, pid_start = ?, host = ? WHERE id = ?",
                (pid, proc_start(pid), socket.gethostname(), run_id),
            )

    def mark_running(self, run_id: int, pid: int, host: str | None = None, pid_start: str | None = None) -> None:
        """The run's trainer has started: its process, on this machine unless `host` (and the process's start
        time there) is given."""
        now = time.time()
        if host is None:
            host, pid_start = socket.gethostname(), proc_start(pid)
        with self.transaction() as c:
            c.execute(
                "UPDATE runs SET status = ?, started = ?, heartbeat = ?, pid = ?, pid_start = ?, host = ? WHERE id = ?",
                (Status.RUNNING, now, now, pid, pid_start, host, run_id),
            )

    def set_hist_edges(self, run_id: int, edges: dict[str, np.ndarray]) -> None:
        with self.transaction() as c:
            c.executemany(
                "INSERT OR REPLACE INTO hist_edges VALUES (?, ?, ?)",
                [(run_id, k, np.asarray(v, np.float32).tobytes()) for k, v in edges.items()],
            )

    def append(
        self,
        run_id: int,
        step: int,
        scalars: list[tuple[int, str, float]],
        arrays: list[tuple[int, str, np.ndarray]],
        summary: dict[str, float | None],
    ) -> bool:
        """Commit a batch of records in one transaction, the levels of its scalars with them; returns whether a
        stop was requested."""
        with self.transaction() as c:
            names = {n for _, n, _ in scalars}
            ids = self._name_ids(c, names)
            c.executemany(
                "INSERT OR REPLACE INTO scalars VALUES (?, ?, ?, ?)", [(run_id, ids[n], s, v) for s, n, v in scalars]
            )
            if scalars:  # each name's buckets over the batch's steps: a batch is a few hundred steps
                steps = [s for s, _, _ in scalars]
                relevel(c, run_id, (ids[n] for n in names), min(steps), max(steps))
            c.executemany(
                "INSERT OR REPLACE INTO arrays VALUES (?, ?, ?, ?, ?)",
                [(run_id, s, n, *encode(a)) for s, n, a in arrays],
            )
            c.execute(
                "UPDATE runs SET step = ?, heartbeat = ?, test_accuracy = COALESCE(?, test_accuracy), "
                "saturated_fraction = COALESCE(?, saturated_fraction), total_steps = COALESCE(?, total_steps) "
                "WHERE id = ?",
                (step, time.time(), summary.get("test_accuracy"), summary.get("saturated_fraction"),
                 summary.get("total_steps"), run_id),
            )  # fmt: skip
            return bool(c.execute("SELECT stop_requested FROM runs WHERE id = ?", (run_id,)).fetchone()[0])

    def _name_ids(self, c: sqlite3.Connection, names: set[str]) -> dict[str, int]:
        """Each name's id, new names given one; inside the caller's transaction."""
        new = sorted(names - self.names.keys())
        if new:
            c.executemany("INSERT OR IGNORE INTO scalar_names (name) VALUES (?)", [(n,) for n in new])
            marks = ",".join("?" * len(new))
            # kept only once the transaction commits: a rolled-back id may be given to another name
            self._pending = dict(c.execute(f"SELECT name, id FROM scalar_names WHERE name IN ({marks})", new))
        return {**self.names, **self._pending}

    def checkpoint_path(self, run_id: int) -> Path:
        return checkpoints.path_for(self.path, run_id)

    def save_checkpoint(self, run_id: int, step: int, model: torch.nn.Module, opt: torch.optim.Optimizer) -> None:
        checkpoints.save(self.checkpoint_path(run_id), step, model, opt)

    def load_checkpoint(self, run_id: int) -> dict | None:
        """The run's last checkpoint, or None when it has none."""
        path = self.checkpoint_path(run_id)
        return checkpoints.load(path) if path.exists() else None

    def truncate(self, run_id: int, step: int) -> None:
        """Forget a run's records after a step and make it runnable again (resuming from a checkpoint)."""
        run_id, step = int(run_id), int(step)
        with self.transaction() as c:
            for table in ("scalars", "arrays"):
                c.execute(f"DELETE FROM {table} WHERE run_id = ? AND step > ?", (run_id, step))
            # a level's buckets past the step go; the one that holds it is recomputed from what is left
            c.execute("DELETE FROM scalar_levels WHERE run_id = ? AND bucket * size > ?", (run_id, step))
            top = "SELECT DISTINCT name_id FROM scalar_levels WHERE run_id = ? AND size = ?"
            name_ids = [r for (r,) in c.execute(top, (run_id, LEVELS[-1]))]
            relevel(c, run_id, name_ids, step, step)
            c.execute(
                "UPDATE runs SET status = ?, step = ?, ended = NULL, error = NULL, stop_requested = 0 WHERE id = ?",
                (Status.QUEUED, int(step), int(run_id)),
            )

    def finish(self, run_id: int, status: Status, error: str | None = None, seconds: float | None = None) -> None:
        with self.transaction() as c:
            c.execute(
                "UPDATE runs SET status = ?, error = ?, ended = ?, seconds = ? WHERE id = ?",
                (status, error, time.time(), seconds, run_id),
            )

    def request_stop(self, run_id: int) -> None:
        """A trainer honours the flag within about a second; a waiting run is stopped before it starts."""
        roles.require("stop runs", StoreError)
        self._require(run_id)
        with self.transaction() as c:
            c.execute("UPDATE runs SET stop_requested = 1 WHERE id = ?", (run_id,))
            c.execute(
                "UPDATE runs SET status = ?, ended = ? WHERE id = ? AND status = ?",
                (Status.STOPPED, time.time(), run_id, Status.WAITING),
            )

    def claim_waiting(self, slots: int) -> list[int]:
        """Move the oldest waiting runs to queued while fewer than `slots` runs are queued or running; one
        transaction, so two launchers at once never start the same run or pass the cap."""
        roles.require("start runs", StoreError)
        self.reap()
        with self.transaction() as c:
            (busy,) = c.execute("SELECT COUNT(*) FROM runs WHERE status IN (?, ?)", ACTIVE).fetchone()
            ids = [
                r
                for (r,) in c.execute(
                    # a set's runs wait for Ray, which starts them (sets.py)
                    "SELECT id FROM runs WHERE status = ? AND sweep_id IS NULL ORDER BY id LIMIT ?",
                    (Status.WAITING, max(slots - busy, 0)),
                )
            ]
            c.executemany(
                "UPDATE runs SET status = ?, created = ? WHERE id = ?", [(Status.QUEUED, time.time(), r) for r in ids]
            )
        return ids

    def delete_run(self, run_id: int) -> None:
        roles.require("delete runs", StoreError)
        self._require(run_id)
        with self.transaction() as c:
            for table, key in (("scalars", "run_id"), ("scalar_levels", "run_id"), ("arrays", "run_id"),
                               ("hist_edges", "run_id"), ("runs", "id")):  # fmt: skip
                c.execute(f"DELETE FROM {table} WHERE {key} = ?", (run_id,))
        self.checkpoint_path(run_id).unlink(missing_ok=True)

    # ---- reading (UI, CLI, notebooks) ----
    def _require(self, run_id: int) -> sqlite3.Row:
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

    def reap(self) -> list[int]:
        """Mark runs whose trainer process is gone as interrupted; returns their ids."""
        host = socket.gethostname()
        rows = self.conn.execute(
            "SELECT id, status, pid, pid_start, host, created FROM runs WHERE status IN (?, ?)", ACTIVE
        ).fetchall()
        dead = []
        for run_id, status, pid, start, run_host, created in rows:
            if run_host not in (None, host):
                continue  # another machine's process; cannot judge it from here
            if pid is None:
                if status == Status.QUEUED and time.time() - created > QUEUE_GRACE_S:
                    dead.append(run_id)
            elif not process_alive(pid, start):
                dead.append(run_id)
        dead += self._reap_sweeps()
        if dead and not self.readonly:  # a read-only store is shown with these marked, not changed
            with self.transaction() as c:
                c.executemany(
                    "UPDATE runs SET status = ?, ended = COALESCE(heartbeat, created), "
                    "error = COALESCE(error, 'the trainer process ended without finishing the run') "
                    "WHERE id = ? AND status IN (?, ?)",
                    [(Status.INTERRUPTED, r, *ACTIVE) for r in dead],
                )
        return dead

    def _reap_sweeps(self) -> list[int]:
        """The unfinished runs of sets whose driver process (on this machine) is gone: Ray ends a driver's
        tasks with it, wherever they ran. The sets are marked interrupted; returns the runs' ids."""
        if self.version < 2:
            return []
        host = socket.gethostname()
        rows = self.conn.execute("SELECT id, pid, pid_start FROM sweeps WHERE status = ? AND host = ?",
                                 (Status.RUNNING, host)).fetchall()  # fmt: skip
        gone = [sweep_id for sweep_id, pid, start in rows if not process_alive(pid, start)]
        if not gone:
            return []
        marks = ",".join("?" * len(gone))
        runs = [
            r
            for (r,) in self.conn.execute(
                f"SELECT id FROM runs WHERE sweep_id IN ({marks}) AND status IN (?, ?, ?)",
                (*gone, *ACTIVE, Status.WAITING),
            )
        ]
        if not self.readonly:
            with self.transaction() as c:
                c.execute(
                    f"UPDATE sweeps SET status = ?, ended = ? WHERE id IN ({marks}) AND status = ?",
                    (Status.INTERRUPTED, time.time(), *gone, Status.RUNNING),
                )
                c.execute(
                    f"UPDATE runs SET status = ?, ended = COALESCE(heartbeat, created), error = COALESCE(error, "
                    f"'the set it belongs to stopped before it finished') WHERE sweep_id IN ({marks}) AND status = ?",
                    (Status.INTERRUPTED, *gone, Status.WAITING),
                )
        return runs

    def sweeps(self) -> pd.DataFrame:
        """Every set of runs, newest first, with how many of its runs have finished."""
        if self.version < 2:
            return pd.DataFrame(columns=["sweep_id", "name", "status", "created", "ended", "engine",
                                         "ray_address", "spec", "runs", "finished"])  # fmt: skip
        self.reap()
        return pd.read_sql_query(
            "SELECT s.id AS sweep_id, s.name, s.status, s.created, s.ended, s.engine, s.ray_address, s.spec, "
            "COUNT(r.id) AS runs, SUM(r.status = 'finished') AS finished "
            "FROM sweeps s LEFT JOIN runs r ON r.sweep_id = s.id GROUP BY s.id ORDER BY s.id DESC",
            self.conn,
        )

    def sweep(self, sweep_id: int) -> dict:
        """One set's row as a dict."""
        self.conn.row_factory = sqlite3.Row
        try:
            row = self.conn.execute("SELECT * FROM sweeps WHERE id = ?", (int(sweep_id),)).fetchone()
        finally:
            self.conn.row_factory = None
        if row is None:
            raise StoreError(f"no set of runs {sweep_id} in {self.path}; `python -m rnnviz sweeps` lists them")
        return dict(row)

    def runs(self) -> pd.DataFrame:
        """Every run, newest first, after reaping runs whose process died."""
        dead = self.reap()
        df = pd.read_sql_query(
            "SELECT id AS run_id, name, status, step, total_steps, test_accuracy, saturated_fraction, "
            "created, started, ended, heartbeat, seconds, error, pid, host, config, "
            f"{'sweep_id' if self.version >= 2 else 'NULL AS sweep_id'} FROM runs ORDER BY id DESC",
            self.conn,
        )
        df.loc[df["run_id"].isin(dead), "status"] = Status.INTERRUPTED.value
        now = time.time()
        end = df["ended"].where(df["ended"].notna(), np.where(df["status"].isin(ACTIVE), now, df["heartbeat"]))
        df["elapsed"] = (end - df["started"]).where(df["started"].notna())
        df["progress"] = (df["step"] / df["total_steps"]).clip(0, 1)
        df["cell"] = [json.loads(c)["cell"] for c in df["config"]]
        return df

    def run(self, run_id: int) -> dict:
        """One run's row as a dict (status after reaping)."""
        dead = self.reap()
        row = dict(self._require(run_id))
        if row["id"] in dead:
            row["status"] = Status.INTERRUPTED.value
        return row

    def config(self, run_id: int) -> RunConfig:
        return RunConfig.from_dict(json.loads(self._require(run_id)["config"]))

    def scalars(
        self, run_id: int, names: list[str] | None = None, since: int = -1, steps: tuple[int, int] | None = None
    ) -> pd.DataFrame:
        """Tidy scalars (step, name, value) of a run, every step recorded: optionally only some names, after a
        step, or in a range of steps (first, last), both included."""
        self._require(run_id)
        first, last = steps if steps is not None else (since + 1, None)
        first = max(int(first), int(since) + 1)
        last = np.iinfo(np.int64).max if last is None else int(last)
        if self.version < 3:  # an older store read as it is
            q = "SELECT step, name, value FROM scalars WHERE run_id = ? AND step BETWEEN ? AND ?"
            params: list = [int(run_id), first, last]
            if names:
                q += f" AND name IN ({','.join('?' * len(names))})"
                params += list(names)
            return pd.read_sql_query(q + " ORDER BY step, name", self.conn, params=params)
        ids = self._ids_of(run_id, names)
        if not ids:
            return pd.DataFrame({"step": np.zeros(0, np.int64), "name": np.zeros(0, object), "value": np.zeros(0)})
        # the name ids listed, so that SQLite seeks each name's range of steps in the primary key
        df = pd.read_sql_query(
            f"SELECT s.step, n.name, s.value FROM scalars s JOIN scalar_names n ON n.id = s.name_id "
            f"WHERE s.run_id = ? AND s.name_id IN ({','.join('?' * len(ids))}) AND s.step BETWEEN ? AND ?",
            self.conn,
            params=[int(run_id), *ids.values(), first, last],
        )
        return df.sort_values(["step", "name"], kind="stable", ignore_index=True)

    def _ids_of(self, run_id: int, names: list[str] | None) -> dict[str, int]:
        """The ids of those of `names` (all by default) that the run recorded."""
        rows = self.conn.execute("SELECT name, id FROM scalar_names").fetchall()
        known = dict(rows) if names is None else {n: i for n, i in rows if n in set(names)}
        return {
            n: i
            for n, i in sorted(known.items())
            if self.conn.execute(
                "SELECT 1 FROM scalars WHERE run_id = ? AND name_id = ? LIMIT 1", (int(run_id), i)
            ).fetchone()
        }

    def scalar_names(self, run_id: int) -> list[str]:
        if self.version < 3:
            rows = self.conn.execute("SELECT DISTINCT name FROM scalars WHERE run_id = ?", (int(run_id),))
            return [r[0] for r in rows]
        return list(self._ids_of(run_id, None))

    def scalar_view(
        self, run_id: int, name: str, steps: tuple[int, int] | None = None, points: int = 400
    ) -> buckets.Buckets:
        """One scalar summarised in about `points` buckets over a range of steps (first, last; default: all it
        recorded): every step, exact, where the range has at most `points` steps. It reads about as many rows as
        it returns from the levels kept by `append`, whatever the run's length; an older store's scalars
        are summarised from every step in the range."""
        ids = self._ids_of(run_id, [name]) if self.version >= 3 else {name: -1}
        if not ids:
            return buckets.empty()
        if self.version < 3:
            rows = self.scalars(run_id, [name], steps=steps)
            first, last = (int(rows["step"].iloc[0]), int(rows["step"].iloc[-1])) if len(rows) else (0, 0)
            width = buckets.width_for(*(steps or (first, last)), points)
            return buckets.reduce(rows["step"].to_numpy(), rows["value"].to_numpy(dtype=float), width)
        name_id = ids[name]
        if steps is None:
            # one aggregate a query: SQLite seeks the primary key for a lone MIN or MAX, and scans for both
            first, last = (
                self.conn.execute(f"SELECT {end}(step) FROM scalars WHERE run_id = ? AND name_id = ?",
                                  (int(run_id), name_id)).fetchone()[0]
                for end in ("MIN", "MAX")
            )  # fmt: skip
        else:
            first, last = int(steps[0]), int(steps[1])
        width = buckets.width_for(first, last, points)
        sizes = tuple(s for s in LEVELS if s <= width)
        width = sizes[-1] * -(-width // sizes[-1]) if sizes else width
        return buckets.merge(buckets.concat(_span(self.conn, int(run_id), name_id, first, last, sizes)), width)

    def series(self, run_id: int, name: str) -> tuple[np.ndarray, np.ndarray]:
        """A recorded array over training: steps (P,) and values stacked (P, ...)."""
        self._require(run_id)
        rows = self.conn.execute(
            "SELECT step, shape, data FROM arrays WHERE run_id = ? AND name = ? ORDER BY step", (int(run_id), name)
        ).fetchall()
        if not rows:
            return np.zeros(0, np.int64), np.zeros((0,), np.float32)
        return np.array([r[0] for r in rows]), np.stack([decode(r[1], r[2]) for r in rows])

    def grad_flow(self, run_id: int) -> tuple[np.ndarray, np.ndarray]:
        """||dL/dh_t|| per probe step: steps (P,) and a (P, T) array."""
        return self.series(run_id, "grad_h")

    def array_names(self, run_id: int) -> list[str]:
        return [
            r[0]
            for r in self.conn.execute(
                "SELECT DISTINCT name FROM arrays WHERE run_id = ? ORDER BY name", (int(run_id),)
            )
        ]

    def arrays_at(self, run_id: int, step: int) -> tuple[int | None, dict[str, np.ndarray]]:
        """Every array of the last probe at or before step: (that step, name -> array)."""
        self._require(run_id)
        row = self.conn.execute(
            "SELECT MAX(step) FROM arrays WHERE run_id = ? AND step <= ?", (int(run_id), int(step))
        ).fetchone()
        if row[0] is None:
            return None, {}
        rows = self.conn.execute(
            "SELECT name, shape, data FROM arrays WHERE run_id = ? AND step = ?", (int(run_id), row[0])
        ).fetchall()
        return int(row[0]), {n: decode(s, d) for n, s, d in rows}

    def hist_edges(self, run_id: int) -> dict[str, np.ndarray]:
        rows = self.conn.execute("SELECT name, edges FROM hist_edges WHERE run_id = ?", (int(run_id),)).fetchall()
        return {n: np.frombuffer(e, np.float32) for n, e in rows}

    def histograms(self, run_id: int, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One histogram over training: steps (P,), counts (P, bins), edges (bins + 1,)."""
        steps, counts = self.series(run_id, f"hist/{name}")
        return steps, counts, self.hist_edges(run_id).get(name, np.zeros(0, np.float32))
