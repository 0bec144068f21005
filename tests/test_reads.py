"""The dashboard's reads of a run's scalars hold and read a bounded amount whatever the run's length, and give
what a full read of the store gives, bucket for bucket."""

from __future__ import annotations

import numpy as np
import pytest

from rnnviz import buckets
from rnnviz.config import RunConfig
from rnnviz.dashboard import reads
from rnnviz.dashboard.shown import ShownRun
from rnnviz.store import Status, Store, levels


def _long_run(store: Store, steps: int, batch: int = 1000) -> int:
    run_id = store.create_run(RunConfig(steps=steps))
    store.mark_running(run_id, 1)
    rng = np.random.default_rng(steps)
    for a in range(1, steps + 1, batch):
        rows = [
            (s, n, float(v))
            for s in range(a, min(a + batch, steps + 1))
            for n, v in zip(("loss", "saturated"), rng.random(2))
        ]
        store.append(run_id, rows[-1][0], rows, [], {})
    return run_id


@pytest.fixture(scope="module")
def long_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("long") / "s.sqlite"
    with Store(path) as store:
        short, long = _long_run(store, 1_000), _long_run(store, 300_000)
        store.finish(short, Status.FINISHED)
    return str(path), short, long


def _row(path: str, run_id: int):
    with Store(path) as store:
        return store.runs().set_index("run_id", drop=False).loc[run_id]


def test_a_long_run_costs_the_dashboard_what_a_short_one_does(long_store, monkeypatch):
    path, short, long = long_store
    read: list[int] = []
    for name in ("_raw", "_levels_in"):  # count the rows each view reads from the store
        real = getattr(levels, name)
        monkeypatch.setattr(levels, name, lambda *a, real=real: read.append(len(b := real(*a))) or b)
    held = {}
    for run_id in (short, long):
        read.clear()
        run = ShownRun(path, _row(path, run_id))
        view = run.scalar_view("loss")
        x, y = run.scalar("loss")
        assert len(view) <= reads.VIEW_POINTS + 1 and len(x) <= 2 * len(view) + 1
        assert sum(read) <= 8 * (reads.VIEW_POINTS + 1) + 2 * 7 * len(levels.LEVELS)
        held[run_id] = sum(a.nbytes for a in vars(view).values() if isinstance(a, np.ndarray))
        assert x[-1] == run.row["step"]  # the line ends at the latest step
    assert held[long] <= held[short] * 1.1


def test_views_of_a_run_being_written_follow_its_commits(tmp_path):
    path = str(tmp_path / "live.sqlite")
    with Store(path) as store:
        run_id = _long_run(store, 5_000, batch=50)
        run = ShownRun(path, _row(path, run_id))
        first = run.scalar_view("loss")
        store.append(run_id, 5_001, [(5_001, "loss", 9.0), (5_000, "loss", -1.0)], [], {})  # a step rewritten too
        later = ShownRun(path, _row(path, run_id)).scalar_view("loss")
        everything = store.scalars(run_id, ["loss"])
    assert first.last_step[-1] == 5_000 and later.last_step[-1] == 5_001 and later.max.max() == 9.0
    want = buckets.reduce(everything["step"].to_numpy(), everything["value"].to_numpy(dtype=float), later.width)
    for field in ("bucket", "n", "min", "max", "min_step", "max_step", "last", "last_step"):
        np.testing.assert_array_equal(getattr(later, field), getattr(want, field), err_msg=field)


def test_a_zoomed_window_and_the_step_scrubber_read_only_their_steps(long_store):
    path, _, long = long_store
    row = _row(path, long)
    zoomed = ShownRun(path, row, window=(150_000, 150_150)).scalar_view("loss")
    assert zoomed.width == 1 and zoomed.bucket.tolist() == list(range(150_000, 150_151))  # every step, exact
    pinned = ShownRun(path, row, until=1_000).scalar_view("loss")
    assert pinned.last_step[-1] == 1_000 and pinned.width <= 8  # nothing past the step shown


def test_a_runs_arrays_are_read_up_to_the_step_of_the_version_a_page_drew(tmp_path):
    """The pages' reads are cached per run version (its step and status): read whole, an array read a moment
    after another held the next probe, and a chart titled with one's latest step drew the other's data ("step
    3,800" over step 3,700's Jacobians, while the run trained: a fresh-eyes walk)."""
    path = tmp_path / "runs.sqlite"
    with Store(path) as store:
        run_id = store.create_run(RunConfig(name="versions"))
        for step in (100, 200):
            store.append(run_id, step, [], [(step, "sat_t", np.full(3, step, np.float32))], {})
            store.append(run_id, step, [], [(step, "hist/h", np.full(4, step, np.float32))], {})
    steps, values = reads.series(str(path), run_id, "sat_t", (150, "running"))
    assert steps.tolist() == [100] and values[:, 0].tolist() == [100]
    assert reads.histograms(str(path), run_id, "h", (150, "running"))[0].tolist() == [100]
    assert reads.series(str(path), run_id, "sat_t", (200, "running"))[0].tolist() == [100, 200]
