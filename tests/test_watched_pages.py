"""Runs watched from stacked, bidirectional, sequence-output and custom-cell models on every dashboard page, in
the report and the API: what applies is drawn with the recorded numbers, what does not says so in words."""

from __future__ import annotations

import numpy as np
import pytest
import streamlit as st
import torch
import torch.nn.functional as F
from streamlit.testing.v1 import AppTest
from torch import nn

import rnnviz
from rnnviz import views

from .conftest import ROOT
from .test_app import PAGES, figures, values
from .test_unroll import PeepholeCell

T = 12


def loop(w, forward, params, batches) -> None:
    opt = torch.optim.Adam(params, lr=0.01)
    for x, y in batches:
        loss = forward(x, y)
        opt.zero_grad()
        loss.backward()
        w.step(loss)
        opt.step()


@pytest.fixture(scope="module")
def watched(tmp_path_factory):
    """A store with three watched runs: 1 a 2-layer bidirectional LSTM classifier, 2 a 2-layer GRU with an output
    at every step, 3 a custom cell."""
    store = tmp_path_factory.mktemp("watched") / "w.sqlite"
    g = torch.Generator().manual_seed(0)
    xs = [torch.randn(8, T, 3, generator=g) for _ in range(4)]
    torch.manual_seed(0)
    lstm, head = nn.LSTM(3, 8, num_layers=2, bidirectional=True, batch_first=True), nn.Linear(16, 2)
    ys = [(x[:, 0, 0] > 0).long() for x in xs]
    with rnnviz.watch(lstm, head, (xs[0], ys[0]), store=store, name="stacked bi", probe_every=2) as w:
        loop(
            w,
            lambda x, y: F.cross_entropy(head(lstm(x)[0][:, -1]), y),
            [*lstm.parameters(), *head.parameters()],
            zip(xs, ys),
        )
    gru, out = nn.GRU(3, 8, num_layers=2, batch_first=True), nn.Linear(8, 2)
    tags = [(x[..., 0] > 0).long() for x in xs]

    def lm(logits, y):
        return F.cross_entropy(logits.reshape(-1, 2), y.reshape(-1))

    with rnnviz.watch(gru, out, (xs[0], tags[0]), store=store, name="lm", outputs="all", loss=lm, probe_every=2) as w:
        loop(w, lambda x, y: lm(out(gru(x)[0]), y), [*gru.parameters(), *out.parameters()], zip(xs, tags))
    cell, chead = PeepholeCell(3, 8), nn.Linear(8, 2)

    def state0(b):
        return (torch.zeros(b, 8),) * 2

    with rnnviz.watch(
        cell,
        chead,
        (xs[0], ys[0]),
        store=store,
        name="custom",
        step=cell.step,
        state0=state0,
        probe_every=2,
        jacobian_examples=1,
    ) as w:
        loop(
            w,
            lambda x, y: F.cross_entropy(chead(cell(x)[:, -1]), y),
            [*cell.parameters(), *chead.parameters()],
            zip(xs, ys),
        )
    return store


def open_with(store, monkeypatch, page: str, runs: str) -> AppTest:
    monkeypatch.setenv("RNNVIZ_STORE", str(store))
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params.update(runs=runs)
    at.run()
    if page != "train":
        at.switch_page(f"rnnviz/dashboard/pages/{page}.py").run()
    return at


def texts(at: AppTest) -> str:
    return " ".join(m.value for m in [*at.markdown, *at.caption, *at.info, *at.warning])


@pytest.mark.parametrize("page", [p for p in PAGES if p not in ("train", "remedies", "sweeps")])
def test_every_page_opens_with_the_three_watched_runs(watched, monkeypatch, page):
    at = open_with(watched, monkeypatch, page, "1,2,3")
    assert not at.exception, at.exception
    if page == "inspector":
        assert "runs recorded with rnnviz.watch have none" in at.warning[0].value
    else:
        assert figures(at), page


def test_depth_and_time_hold_the_recorded_gradient_of_every_layer_and_direction(watched, monkeypatch):
    at = open_with(watched, monkeypatch, "gradient_flow", "1")
    (heat,) = [f for f in figures(at) if "gradient reaching layer l at step t" in f["layout"]["title"]["text"]]
    trace = heat["data"][0]
    assert list(trace["y"]) == [
        "layer 1, forward",
        "layer 1, backward (t = 1: last position)",
        "layer 2, forward",
        "layer 2, backward (t = 1: last position)",
    ]
    run = rnnviz.open_run(watched, 1)
    want = np.stack([run.gradient_flow(layer, d)[1][-1] for layer, d in run.streams()])
    got = values(trace["z"]).reshape(4, T)
    # the head reads the backward direction at its first step: its later steps get exactly 0, left blank and said so
    assert (want[3, 1:] == 0).all() and np.isnan(got[3, 1:]).all()
    np.testing.assert_allclose(got[want > 0], np.log10(want[want > 0]), rtol=1e-5)
    assert heat["layout"]["annotations"][0]["text"] == "blank: exactly 0, no gradient reaches these steps"
    # the colour scale spans the decades of the gradients that do reach: whole decades around them
    zmin, zmax = trace["zmin"], trace["zmax"]
    assert zmin <= np.log10(want[want > 0].min()) and zmax >= np.log10(want.max()) and zmin > -15
    assert heat["layout"]["title"]["text"].endswith(f"(probe at step {run.gradient_flow()[0][-1]})")
    assert "`2 · lm`" not in texts(at)  # only run 1 is shown
    assert "output read at the last step only" in texts(at)  # no parts to tell apart, in words


def test_a_language_models_gradient_is_split_by_where_it_comes_from(watched, monkeypatch):
    at = open_with(watched, monkeypatch, "gradient_flow", "2,3")
    (parts,) = [f for f in figures(at) if f["layout"]["title"]["text"].startswith("Where the gradient")]
    run = rnnviz.open_run(watched, 2)
    lines = {t["name"]: values(t["y"]) for t in parts["data"]}
    for part, words in (("total", "all of it"), ("local", "from the output at t itself"), ("last", "last step")):
        (name,) = [n for n in lines if n.startswith("2 · lm") and words in n]
        np.testing.assert_allclose(lines[name], run.gradient_flow(part=part)[1][-1], rtol=1e-6)
    text = texts(at)
    assert "`3 · custom`: output read at the last step only" in text
    assert "`3 · custom`: one layer read one way" in text and "`2 · lm`: one layer read one way" not in text


def test_what_does_not_apply_to_a_custom_cell_or_a_language_model_says_so(watched, monkeypatch):
    at = open_with(watched, monkeypatch, "gates", "3")
    assert "a custom cell's gates are its own" in texts(at)
    at = open_with(watched, monkeypatch, "gates", "1")  # 2 layers x 2 directions: the gates drawn are one of them
    said = "This model has 2 layers, read in both directions: the gates below are its top layer's, read forward"
    assert said in texts(at)
    at = open_with(watched, monkeypatch, "saturation", "3")
    (named,) = [f for f in figures(at) if "saturated share of each named tanh" in f["layout"]["title"]["text"]]
    assert sorted(t["name"] for t in named["data"]) == ["tanh(c)", "tanh(g)"]
    assert "`3 · custom` is a custom cell" in texts(at)
    at = open_with(watched, monkeypatch, "overview", "2")
    assert "from the loss at the last step alone, the gradient reaching t = 1" in texts(at)


def test_the_report_and_the_api_hold_the_layers(watched, tmp_path):
    run = rnnviz.open_run(watched, 1)
    path = run.report(tmp_path / "r.html", rnnviz.open_run(watched, 2))
    html = path.read_text()
    assert "gradient reaching layer l at step t" in html and "Where the gradient reaching h_t comes from" in html
    fig = run.figure("depth_time")
    assert len(fig.data[0].y) == 4
    assert rnnviz.open_run(watched, 3).figure("depth_time").layout.annotations[0].text == views.ONE_STREAM
