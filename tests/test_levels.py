"""Multi-resolution reads: the store's levels of each scalar against a plain computation over every step."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnnviz import buckets
from rnnviz.config import RunConfig
from rnnviz.store import Store
from rnnviz.store.levels import LEVELS


def reference(steps, values, size: int) -> dict[int, tuple]:
    """Per bucket of `size` steps, from the record as a Python dict: (n, min, max, mean, last, last step)."""
    by: dict[int, list[tuple[int, float]]] = {}
    for s, v in zip(steps, values):
        by.setdefault(int(s) // size, []).append((int(s), float(v)))
    out = {}
    for b, rows in by.items():
        seen = [v for _, v in rows if not math.isnan(v)]
        last_step, last = max(rows)
        out[b] = (len(seen), min(seen, default=np.nan), max(seen, default=np.nan),
                  sum(seen) / len(seen) if seen else np.nan, last, last_step)  # fmt: skip
    return out


def stored(store: Store, run_id: int, name: str, size: int) -> dict[int, tuple]:
    (name_id,) = store.conn.execute("SELECT id FROM scalar_names WHERE name = ?", (name,)).fetchone()
    rows = store.conn.execute(
        "SELECT bucket, n, min, max, sum, last, last_step FROM scalar_levels WHERE run_id = ? AND name_id = ? "
        "AND size = ?",
        (run_id, name_id, size),
    ).fetchall()
    nan = lambda v: np.nan if v is None else v  # noqa: E731
    return {b: (n, nan(lo), nan(hi), s / n if n else np.nan, nan(last), ls) for b, n, lo, hi, s, last, ls in rows}


def assert_levels_match(store: Store, run_id: int, record: dict[str, dict[int, float]]) -> None:
    for name, by_step in record.items():
        steps = sorted(by_step)
        values = [by_step[s] for s in steps]
        for size in LEVELS:
            want, got = reference(steps, values, size), stored(store, run_id, name, size)
            assert want.keys() == got.keys(), (name, size)
            for b in want:
                np.testing.assert_allclose(got[b], want[b], rtol=1e-12, equal_nan=True, err_msg=f"{name} {size} {b}")


def write(store: Store, run_id: int, record: dict[str, dict[int, float]], first: int, last: int, batch: int,
          rng: np.random.Generator) -> None:  # fmt: skip
    """Steps first..last of two scalars, in batches as the trainer flushes them, into the store and `record`."""
    for a in range(first, last + 1, batch):
        rows = []
        for s in range(a, min(a + batch, last + 1)):
            loss = float(rng.normal(2.0, 0.5)) if s % 97 else float("nan")  # a diverged step is recorded as NaN
            rows += [(s, "loss", loss), (s, "saturated", float(rng.random()))]
            if s % 250 == 0:
                rows.append((s, "test_accuracy", float(rng.random())))
        rows.append((rows[-1][0], "saturated", 0.5))  # the final probe's rewrite of a step, in the same batch
        store.append(run_id, rows[-1][0], rows, [], {})
        for s, n, v in rows:
            record.setdefault(n, {})[s] = v


@pytest.fixture()
def written(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    run_id = store.create_run(RunConfig())
    record: dict[str, dict[int, float]] = {}
    rng = np.random.default_rng(0)
    write(store, run_id, record, 1, 20_000, 53, rng)
    yield store, run_id, record, rng
    store.close()


def test_levels_equal_a_plain_computation_over_every_step_while_the_run_is_written(written):
    store, run_id, record, rng = written
    assert_levels_match(store, run_id, record)
    store.append(run_id, 20_000, [(20_000, "loss", 123.0)], [], {})  # a step rewritten by a later batch
    record["loss"][20_000] = 123.0
    write(store, run_id, record, 20_001, 20_100, 7, rng)  # and the run goes on
    assert_levels_match(store, run_id, record)


def test_levels_after_a_resume_forget_the_steps_past_the_checkpoint(written):
    store, run_id, record, rng = written
    store.truncate(run_id, 12_345)
    for by_step in record.values():
        for s in [s for s in by_step if s > 12_345]:
            del by_step[s]
    assert_levels_match(store, run_id, record)
    write(store, run_id, record, 12_346, 13_000, 50, rng)
    assert_levels_match(store, run_id, record)


def test_a_spike_at_one_step_shows_at_the_coarsest_view(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        run_id = store.create_run(RunConfig())
        for a in range(0, 100_000, 500):
            store.append(run_id, a, [(s, "loss", 1e3 if s == 77_777 else 1.0) for s in range(a, a + 500)], [], {})
        view = store.scalar_view(run_id, "loss", points=100)
        assert view.width >= 1000 and len(view) <= 101
        assert view.max.max() == 1e3 and view.max_step[view.max.argmax()] == 77_777
        x, y = view.line()
        assert y.max() == 1e3 and x[y.argmax()] == 77_777 and len(x) <= 2 * 101 + 1
        assert np.isclose(view.mean[view.max.argmax()], (1e3 + view.width - 1) / view.width)


def test_views_read_only_the_range_asked_and_are_exact_when_zoomed_in(written):
    store, run_id, record, _ = written
    loss = record["loss"]
    zoom = store.scalar_view(run_id, "loss", steps=(5_000, 5_300), points=400)
    assert zoom.width == 1 and zoom.bucket.tolist() == list(range(5_000, 5_301))
    np.testing.assert_array_equal(zoom.last, [loss[s] for s in range(5_000, 5_301)])
    for points in (40, 400, 4000):
        view = store.scalar_view(run_id, "loss", steps=(1_000, 17_000), points=points)
        assert len(view) <= points + 1 and view.min_step.min() >= 1_000 and view.last_step[-1] == 17_000
        steps = np.array([s for s in sorted(loss) if 1_000 <= s <= 17_000])  # exactly the range, in whole buckets
        want = buckets.reduce(steps, np.array([loss[s] for s in steps]), view.width)
        for field in ("bucket", "n", "min", "max", "min_step", "max_step", "last", "last_step"):
            np.testing.assert_array_equal(getattr(view, field), getattr(want, field), err_msg=field)
        np.testing.assert_allclose(view.sum, want.sum)
    tidy = store.scalars(run_id, ["loss", "test_accuracy"], steps=(999, 1_500))
    assert tidy["step"].between(999, 1_500).all() and set(tidy["name"]) == {"loss", "test_accuracy"}
    assert len(tidy) == 502 + 3  # loss at every step, test accuracy at 1,000, 1,250 and 1,500


def test_buckets_merge_to_what_they_would_be_from_every_step():
    rng = np.random.default_rng(1)
    steps = np.unique(rng.integers(0, 50_000, 20_000))
    values = rng.normal(size=len(steps))
    values[rng.random(len(steps)) < 0.05] = np.nan
    fine = buckets.reduce(steps, values, 16)
    for width in (16 * 8, 16 * 40, 16 * 1000):
        a, b = buckets.merge(fine, width), buckets.reduce(steps, values, width)
        for field in ("bucket", "n", "min", "max", "min_step", "max_step", "last", "last_step"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
        np.testing.assert_allclose(a.sum, b.sum)
