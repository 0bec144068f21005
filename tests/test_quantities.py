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
from rnnviz.quantities import PROBE, SCALAR, of_cell, shared
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


def _near_every_edge(lo: float, hi: float, bins: int) -> torch.Tensor:
    """Every bin edge of lo..hi and the 4 floats either side of it, values beyond both ends, inf, -inf, NaN, -0
    and random values over and around the range."""
    edges = torch.linspace(lo, hi, bins + 1, dtype=torch.float64).float()
    edges = torch.cat([edges, torch.tensor([lo - 0.01 * (hi - lo), hi + 0.01 * (hi - lo)])])
    up, down, near = edges, edges, [edges]
    for _ in range(4):
        up, down = torch.nextafter(up, torch.tensor(np.inf)), torch.nextafter(down, torch.tensor(-np.inf))
        near += [up, down]
    g = torch.Generator().manual_seed(bins)
    spread = torch.rand(20_000, generator=g) * 1.2 * (hi - lo) + lo - 0.1 * (hi - lo)
    return torch.cat([*near, torch.tensor([np.nan, np.inf, -np.inf, -0.0]), spread])


@pytest.mark.parametrize("lo, hi", [(-1.0, 1.0), (0.0, 6.0), (-10.0, 10.0), (0.0, 1.0), (-1e-3, 2.5)])
@pytest.mark.parametrize("bins", [2, 7, 200, 333])
def test_the_probes_histograms_are_torch_histc_counts(lo, hi, bins):
    """shared.hist counts by histc's own float32 arithmetic in a bincount: the same counts at every edge."""
    x = _near_every_edge(lo, hi, bins)
    counts = shared.hist(x.view(-1, 1, 1), lo, hi, bins)
    assert counts.dtype == torch.float32
    assert torch.equal(counts, torch.histc(x.clamp(lo, hi), bins=bins, min=lo, max=hi))


def test_the_per_unit_shares_are_the_float_mean_of_the_comparison():
    v = torch.rand(100, 28, 128, generator=torch.Generator().manual_seed(0))
    v[:, :, :3] = torch.tensor([0.1, 0.9, 0.5])  # on the thresholds themselves: neither below nor above
    expected = torch.stack([(v < 0.1).float().mean((0, 1)), (v > 0.9).float().mean((0, 1))])
    assert torch.equal(shared.per_unit(v, 0.1, 0.9), expected)
