"""Bytes a scalar and time a flush of candidate layouts for the store's scalars: the measurement behind schema 3.

Writes the same run (12 scalars a step, random values) in flushes of --batch steps into each layout, in WAL
mode as the store does, and prints bytes per scalar, MB per 1,000 steps and the median flush time. The
layouts: schema 2's rows (the name as text, a second index by step), rows keyed by an integer name id (with
and without that index), blocks of one flush per name (int32 steps and float64 values, or float32 values of
consecutive steps, no steps stored), and schema 3 itself (name ids and the levels, through Store.append).

    python bench/bench_layouts.py [--steps 20000] [--batch 50]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rnnviz.config import RunConfig  # noqa: E402
from rnnviz.store import Store  # noqa: E402

NAMES = ["loss", "accuracy", "saturated", "saturated_last", "clipped", "grad_norm/global"] + [
    f"grad_norm/{p}" for p in ("rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0",
                               "head.weight", "head.bias")
]  # fmt: skip
IDS = {n: k + 1 for k, n in enumerate(NAMES)}
TEXT = """CREATE TABLE scalars (run_id INTEGER NOT NULL, step INTEGER NOT NULL, name TEXT NOT NULL, value REAL,
    PRIMARY KEY (run_id, name, step)) WITHOUT ROWID; CREATE INDEX scalars_by_step ON scalars (run_id, step);"""
BY_ID = """CREATE TABLE scalars (run_id INTEGER NOT NULL, name_id INTEGER NOT NULL, step INTEGER NOT NULL,
    value REAL, PRIMARY KEY (run_id, name_id, step)) WITHOUT ROWID;"""
BLOCKS = """CREATE TABLE blocks (run_id INTEGER, name_id INTEGER, first INTEGER, last INTEGER, steps BLOB,
    vals BLOB, PRIMARY KEY (run_id, name_id, first)) WITHOUT ROWID;"""
Writer = Callable[[sqlite3.Connection, np.ndarray, np.ndarray], None]


def text_rows(c: sqlite3.Connection, steps: np.ndarray, values: np.ndarray) -> None:
    rows = [(int(s), n, float(v)) for s, row in zip(steps, values) for n, v in zip(NAMES, row)]
    c.executemany("INSERT OR REPLACE INTO scalars VALUES (1, ?, ?, ?)", rows)


def id_rows(c: sqlite3.Connection, steps: np.ndarray, values: np.ndarray) -> None:
    rows = [(IDS[n], int(s), float(v)) for s, row in zip(steps, values) for n, v in zip(NAMES, row)]
    c.executemany("INSERT OR REPLACE INTO scalars VALUES (1, ?, ?, ?)", rows)


def blocks(dtype: type, with_steps: bool) -> Writer:
    def write(c: sqlite3.Connection, steps: np.ndarray, values: np.ndarray) -> None:
        offsets = (steps - steps[0]).astype(np.int32).tobytes() if with_steps else b""
        c.executemany(
            "INSERT INTO blocks VALUES (1, ?, ?, ?, ?, ?)",
            [(IDS[n], int(steps[0]), int(steps[-1]), offsets, values[:, k].astype(dtype).tobytes())
             for k, n in enumerate(NAMES)],
        )  # fmt: skip

    return write


def measure(schema: str, write: Writer, steps: int, batch: int, rng: np.random.Generator) -> tuple[int, float]:
    """(file size, median flush seconds) of a run written into a fresh database with `schema`."""
    path = Path(tempfile.mkdtemp()) / "layout.sqlite"
    c = sqlite3.connect(path, isolation_level=None)
    c.execute("PRAGMA journal_mode = WAL")
    c.execute("PRAGMA synchronous = NORMAL")
    c.executescript(schema)
    times = []
    for a in range(1, steps + 1, batch):
        block = np.arange(a, min(a + batch, steps + 1))
        values = rng.random((len(block), len(NAMES)))
        t0 = time.perf_counter()
        c.execute("BEGIN IMMEDIATE")
        write(c, block, values)
        c.execute("COMMIT")
        times.append(time.perf_counter() - t0)
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    c.close()
    return path.stat().st_size, statistics.median(times)


def schema_3(steps: int, batch: int, rng: np.random.Generator) -> tuple[int, float]:
    """The store itself: name ids and the levels, written by Store.append."""
    path = Path(tempfile.mkdtemp()) / "store.sqlite"
    times = []
    with Store(path) as store:
        run_id = store.create_run(RunConfig())
        for a in range(1, steps + 1, batch):
            block = np.arange(a, min(a + batch, steps + 1))
            values = rng.random((len(block), len(NAMES)))
            rows = [(int(s), n, float(v)) for s, row in zip(block, values) for n, v in zip(NAMES, row)]
            t0 = time.perf_counter()
            store.append(run_id, int(block[-1]), rows, [], {})
            times.append(time.perf_counter() - t0)
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.stat().st_size, statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=20_000)
    ap.add_argument("--batch", type=int, default=50, help="steps in one flush (50: 0.5 s at 100 steps/s)")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"{args.steps:,} steps of {len(NAMES)} scalars in flushes of {args.batch} steps "
          f"(load {os.getloadavg()[0]:.2f})")  # fmt: skip
    candidates: dict[str, Callable[[], tuple[int, float]]] = {
        "schema 2: name as text, index by step": lambda: measure(TEXT, text_rows, args.steps, args.batch, rng),
        "name ids": lambda: measure(BY_ID, id_rows, args.steps, args.batch, rng),
        "name ids, index by step": lambda: measure(
            BY_ID + "CREATE INDEX by_step ON scalars (run_id, step);", id_rows, args.steps, args.batch, rng
        ),
        "blocks: int32 steps, float64 values": lambda: measure(
            BLOCKS, blocks(np.float64, True), args.steps, args.batch, rng
        ),
        "blocks: float32 values, steps implied": lambda: measure(
            BLOCKS, blocks(np.float32, False), args.steps, args.batch, rng
        ),
        "schema 3: name ids and levels (Store)": lambda: schema_3(args.steps, args.batch, rng),
    }
    for label, run in candidates.items():
        size, flush = run()
        print(f"{label:40s} {size / args.steps / len(NAMES):5.1f} B/scalar  "
              f"{size / args.steps * 1000 / 1e6:6.3f} MB/1,000 steps  flush {flush * 1e3:6.2f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
