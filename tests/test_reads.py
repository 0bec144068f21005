"""The dashboard's incremental reads give exactly what a full read of the store gives."""

from __future__ import annotations

import numpy as np

from rnnviz.config import RunConfig
from rnnviz.dashboard.reads import ScalarLog, Series
from rnnviz.store import Store


def test_scalar_log_tops_up_and_takes_rewritten_values(tmp_path):
    path = str(tmp_path / "inc.sqlite")
    log = ScalarLog()
    with Store(path) as store:
        run_id = store.create_run(RunConfig())
        store.append(run_id, 2, [(1, "loss", 2.0), (2, "loss", 1.5), (2, "probe_loss", 9.0)], [], {})
        log.update(path, run_id, (2, "running"))
        store.append(run_id, 4, [(3, "loss", 1.2), (4, "loss", 1.0), (2, "probe_loss", 8.0)], [], {})
        log.update(path, run_id, (4, "running"))
        log.update(path, run_id, (4, "running"))  # same version: no read, no duplicates
        full = store.scalars(run_id)
    for name, rows in full.groupby("name"):
        steps, values = log.series[name].arrays()
        np.testing.assert_array_equal(steps, rows["step"].to_numpy())
        np.testing.assert_array_equal(values, rows["value"].to_numpy())
    assert log.series["probe_loss"].arrays()[1].tolist() == [8.0]


def test_series_grows_past_its_buffer_and_replaces_rewritten_steps():
    series, expected = Series(), {}
    rng = np.random.default_rng(0)
    last = 0
    for _ in range(300):  # chunks that start one step back, as the live reads do
        steps = np.arange(max(last - 1, 1), last + int(rng.integers(1, 40)))
        values = rng.normal(size=len(steps))
        series.extend(steps, values)
        expected.update(zip(steps.tolist(), values.tolist()))
        last = int(steps[-1])
    steps, values = series.arrays()
    assert steps.tolist() == sorted(expected) and len(steps) > 1024
    assert values.tolist() == [expected[s] for s in steps.tolist()]
