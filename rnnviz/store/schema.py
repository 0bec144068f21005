"""The store's schema, created in a new store, and the upgrades that bring an older store to it."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import numpy as np

from .levels import relevel

SCHEMA_VERSION = 3

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
    spec TEXT NOT NULL,             -- the base config, the grid and the seeds, as JSON (sweeps.SweepSpec)
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


def encode(a: np.ndarray) -> tuple[str, bytes]:
    """An array as the `arrays` table holds it: its shape, and its float32 bytes in C order."""
    a = np.ascontiguousarray(a, dtype=np.float32)
    return ",".join(map(str, a.shape)), a.tobytes()


def decode(shape: str, data: bytes) -> np.ndarray:
    """An array of the `arrays` table, read back."""
    dims = tuple(int(d) for d in shape.split(",")) if shape else ()
    return np.frombuffer(data, dtype=np.float32).reshape(dims)


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
# way to this schema runs in one transaction (`upgrade`, in the one `Connection._setup` opens).
UPGRADES: dict[int, list[str | Callable[[sqlite3.Connection], None]]] = {
    1: [
        "ALTER TABLE runs ADD COLUMN sweep_id INTEGER",
        "CREATE INDEX runs_by_sweep ON runs (sweep_id)",
        SCHEMA[SCHEMA.index("CREATE TABLE sweeps") :].split(";")[0],
    ],
    2: [_to_name_ids],
}


def create(c: sqlite3.Connection) -> None:
    """Write the schema into an empty store, inside the caller's transaction."""
    for stmt in SCHEMA.split(";"):
        if stmt.strip():
            c.execute(stmt)
    c.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def upgrade(c: sqlite3.Connection) -> None:
    """Bring a store of an older schema to this one, inside the caller's transaction; the version is read
    here, under the write lock, so that two processes opening it at once upgrade it once."""
    version = c.execute("PRAGMA user_version").fetchone()[0]
    while version < SCHEMA_VERSION:
        for step in UPGRADES[version]:
            if isinstance(step, str):
                c.execute(step)
            else:
                step(c)
        version += 1
    c.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
