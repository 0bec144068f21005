"""Scalar levels: each scalar summarised per bucket of LEVELS steps, kept by every write, read at a chart's width."""

# Functions of a connection, not methods of the Store: they hold none of its state, and the write that calls
# them (`Records.append`, `Records.truncate`, the upgrade to schema 3) owns the transaction.

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterable

import numpy as np

from .. import buckets

# The bucket sizes of the scalars' levels: a view of W steps a bucket reads the level of the largest size up
# to W (at most 8 rows a bucket drawn), and the record itself below the first.
LEVELS = (16, 128, 1024, 8192, 65536, 524288)
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


def view(c: sqlite3.Connection, run_id: int, name_id: int, first: int, last: int, points: int) -> buckets.Buckets:
    """Steps first..last of one scalar in about `points` buckets, from the coarsest level that fits them."""
    width = buckets.width_for(first, last, points)
    sizes = tuple(s for s in LEVELS if s <= width)
    width = sizes[-1] * -(-width // sizes[-1]) if sizes else width
    return buckets.merge(buckets.concat(_span(c, run_id, name_id, first, last, sizes)), width)


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
