"""The quantity registry is the one list: the probe records exactly what it lists for each cell, every recorded
array is read by a view, and titles come from it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import rnnviz
from rnnviz import quantities, views
from rnnviz.config import RunConfig
from rnnviz.models import SeqClassifier
from rnnviz.probes import probe
from rnnviz.quantities import PROBE, SCALAR, of_cell
from rnnviz.report import report_figures
from rnnviz.views import layouts
from rnnviz.views.compare import metric_titles


def listed(cell: str) -> set[str]:
    """The names the registry says the probe records for a cell (with its Jacobians)."""
    return {n for q in of_cell(cell, PROBE) for n in q.names(cell)}


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_the_probe_records_what_the_registry_lists_for_the_cell(cell):
    torch.manual_seed(0)
    model = SeqClassifier(cell, 3, 6)
    arrays, scalars = probe(model, torch.rand(4, 5, 3), torch.randint(0, 10, (4,)), 0.9, 10, jacobian_examples=1)
    assert set(arrays) | set(scalars) == listed(cell)
    for name, values in arrays.items():
        q = quantities.find(name)
        assert q is not None and q.kind != SCALAR, name
        shape = {quantities.PER_STEP: (5,), quantities.PER_UNIT: (2, 6), quantities.HISTOGRAM: (10,)}[q.kind]
        assert values.shape == shape, name  # the kind the registry declares is the shape recorded


def test_every_recorded_quantity_is_read_by_a_view():
    read = {n for v in views.VIEWS.values() for n in v.requires}
    kinds_read_any = {v.reads_any for v in views.VIEWS.values()}
    unread = [q.name for q in quantities.registry().values() if q.name not in read and q.kind not in kinds_read_any]
    assert not unread, f"recorded, but no view reads them: {unread}"
    unknown = [n for n in read if n not in quantities.registry()]
    assert not unknown, f"views read quantities the registry does not hold: {unknown}"


def test_titles_and_axes_come_from_the_registry():
    cfg = RunConfig(saturation=0.95)
    assert metric_titles("saturated", cfg) == ("Saturated units (fraction of |h| > 0.95)", "fraction")
    assert metric_titles("grad_norm/rnn.weight_hh_l0", cfg)[0] == "Gradient norm of W_hh (recurrent weights)"
    assert metric_titles("my_own", cfg) == ("My own", "my own")  # a watched loop's own scalar, in its words
    assert quantities.is_log("jacobian_norm_t1") and quantities.is_log("grad_norm/head.bias")
    assert not quantities.is_log("validation_loss") and not quantities.is_log("l0/sat_t")
    assert quantities.find("l1r/grad_h").name == "grad_h"  # a watched model's stream records the same quantity


def test_the_mean_of_abs_h_per_time_step_is_what_the_fused_pass_gives_and_its_view_draws_it(trained_store):
    """The sample quantity end to end: the probe's mean |h_t| equals the fused nn.LSTM's, the view draws the
    store's values at the latest probe under the registry's title and axis, on the Saturation page and in the
    report."""
    torch.manual_seed(2)
    model = SeqClassifier("lstm", 3, 6)
    x, y = torch.rand(4, 5, 3), torch.randint(0, 10, (4,))
    arrays, _ = probe(model, x, y, 0.9, 10)
    fused = model(x)[1].detach().abs().mean((0, 2)).numpy()  # torch's own kernel, not the unrolled pass
    np.testing.assert_allclose(arrays["mean_abs_h_t"], fused, rtol=1e-5)

    run = rnnviz.open_run(trained_store, 2)
    steps, values = run.series("mean_abs_h_t")
    fig = run.figure("mean_abs_h")
    (line,) = fig.data
    np.testing.assert_array_equal(np.asarray(line.y, dtype=np.float32), values[-1])
    assert list(line.x) == list(range(1, run.cfg.seq_len + 1)) and f"step {int(steps[-1]):,}" in line.name
    assert fig.layout.title.text == "Mean |h_t| per time step" and fig.layout.yaxis.title.text == "mean |h|"
    assert fig.layout.yaxis.type != "log"
    assert "mean_abs_h" in {s.view for s in layouts.SATURATION} and "mean_abs_h" in {s.view for s in layouts.REPORT}
    assert "Mean |h| per time step" in dict(report_figures([run]))


def test_the_docs_table_is_the_registry():
    doc = (Path(__file__).parents[1] / "docs" / "adding-a-quantity.md").read_text()
    assert quantities.table() in doc
