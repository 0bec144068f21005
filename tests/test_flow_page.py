"""The Gradient flow page's charts of one run each (per-parameter and global norms, the tanh slope over training)
on the training-step axis the runs share, as its heatmap's panels are: a run behind the others fills its charts
part of the way. On a short RNN (50 steps) and LSTM (20) recorded here, as a live pair stands when the LSTM
trains at under half the RNN's pace."""

from __future__ import annotations

import pytest

from rnnviz.store import Store
from rnnviz.trainer import train

from .apptest import figures, open_page, values
from .conftest import quick_config


@pytest.fixture(scope="module")
def uneven_pair(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("uneven") / "runs.sqlite"
    with Store(path) as store:
        for cell, steps in (("rnn", 50), ("lstm", 20)):
            assert train(quick_config(name=f"flow-{cell}", cell=cell, steps=steps), store).status == "finished"
    return str(path)


def over_training(fig: dict) -> list[float] | None:
    """The range of a chart's x axis when it counts training steps."""
    axis = fig["layout"].get("xaxis", {})
    return axis.get("range") if "training step" in str(axis.get("title", {}).get("text", "")) else None


def test_each_runs_charts_over_training_share_the_furthest_runs_steps(uneven_pair, monkeypatch):
    monkeypatch.setenv("RNNVIZ_STORE", uneven_pair)
    at = open_page("gradient_flow")
    at.session_state["selected_runs"] = [1, 2]
    at.run()
    assert not at.exception, at.exception
    per_run = {}
    for fig in figures(at):
        title = fig["layout"]["title"]["text"]
        if any(what in title for what in ("gradient norm per parameter", "global gradient norm", "slope over")):
            per_run.setdefault(title, []).append(fig)
    charts = [f for figs in per_run.values() for f in figs]
    assert len(charts) == 6, list(per_run)  # per-parameter and global norms, tanh slope: one each per run
    ranges = {tuple(over_training(f) or ()) for f in charts}
    assert len(ranges) == 1, ranges  # one range for both runs' charts, that of the heatmap's panels' steps
    (lo, hi), (lstm_norms,) = ranges.pop(), per_run["2 · flow-lstm: gradient norm per parameter"]
    assert lo <= 0 and hi >= 50  # the RNN's 50 steps whole
    ends = [values(t["x"]).max() for t in lstm_norms["data"] if len(values(t["x"]))]
    assert max(ends) == 20 and (20 - lo) / (hi - lo) < 0.5  # the LSTM's lines end where it stands, short of half
