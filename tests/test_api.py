"""The notebook API, exports read back with the standard readers, and `watch` on a user's own loop."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import rnnviz
from rnnviz.config import ConfigError
from rnnviz.data import load_dir, sequences, to_float
from rnnviz.runner import check_resumable
from rnnviz.store import Store, StoreError
from rnnviz.views import layers

from .bad_inputs import watch_cases
from .conftest import MNIST_DIR, quick_config
from .test_app import PAGES, figures, open_page, values

WATCH_CASES = watch_cases()


def test_open_run_gives_config_records_and_the_dashboards_figures(trained_store):
    run = rnnviz.open_run(trained_store, 1)
    assert run.config.cell == "rnn" and run.status == "finished"
    scalars = run.scalars()
    assert scalars.index.name == "step" and len(scalars) >= 30
    assert {"loss", "accuracy", "grad_norm/global", "test_accuracy"} <= set(scalars.columns)
    np.testing.assert_allclose(run.scalars("loss")["loss"].to_numpy(), run.scalar("loss")[1])
    steps, flow = run.gradient_flow()
    assert flow.shape == (len(steps), 28) and (flow > 0).all()
    hsteps, counts, edges = run.histograms("h_all")
    assert counts.shape == (len(hsteps), len(edges) - 1)
    heat = run.figure("gradient_flow").to_plotly_json()
    z = values(heat["data"][0]["z"])
    np.testing.assert_allclose(z, np.log10(flow).T, rtol=1e-5)
    assert "test-rnn" in run.findings() and "saturated" in run.findings()
    assert rnnviz.open_run(trained_store).id == 2  # the newest by default


def test_scalars_of_a_range_of_steps_and_at_a_resolution(trained_store):
    run = rnnviz.open_run(trained_store, 1)
    every = run.scalars()
    some = run.scalars("loss", "accuracy", steps=(5, 12))
    assert some.index.tolist() == list(range(5, 13)) and list(some.columns) == ["accuracy", "loss"]
    pd.testing.assert_frame_equal(some, every.loc[5:12, ["accuracy", "loss"]], check_freq=False)
    coarse = run.scalars("loss", points=4)
    loss = every["loss"].dropna()
    assert len(coarse) <= 4 and coarse[("loss", "count")].sum() == len(loss)
    assert coarse[("loss", "max")].max() == loss.max() and coarse[("loss", "min")].min() == loss.min()
    assert coarse[("loss", "last")].iloc[-1] == loss.iloc[-1]
    np.testing.assert_allclose((coarse[("loss", "mean")] * coarse[("loss", "count")]).sum(), loss.sum())
    exact = run.scalars("loss", steps=(1, 10), points=400)["loss"]
    np.testing.assert_array_equal(exact["last"].to_numpy(), loss.loc[1:10].to_numpy())  # one bucket a step


def test_every_named_figure_draws_for_an_rnn_and_an_lstm(trained_store):
    rnn, lstm = rnnviz.open_run(trained_store, 1), rnnviz.open_run(trained_store, 2)
    watched = ("depth_time", "per_layer", "gradient_parts", "named_tanh", "named_tanh_slope")
    for name in rnnviz.VIEWS:
        fig = lstm.figure(name, rnn) if not name.startswith("gate") else lstm.figure(name)
        if name in watched:  # a watched model's layers, outputs and named tanh: these runs have none, and say so
            said = (layers.ONE_STREAM, layers.LAST_ONLY, layers.NO_NAMED_TANH)
            assert fig.layout.annotations[0].text in said, name
            continue
        assert fig.data, name
    with pytest.raises(ValueError, match="has no gates"):
        rnn.figure("gate_means")
    with pytest.raises(ValueError, match="unknown figure 'heatmap'; choose one of: overview"):
        rnn.figure("heatmap")
    both = lstm.figure("overview", rnn, large_fonts=True).to_plotly_json()
    assert {t["name"] for t in both["data"]} == {"1 · test-rnn", "2 · test-lstm"}
    assert both["layout"]["font"]["size"] == 22


def test_train_in_process_returns_the_recorded_run(tmp_path, capsys):
    cfg = quick_config(steps=20, cell="gru")
    run = rnnviz.train(cfg, store=tmp_path / "nb.sqlite", name="from-a-notebook")
    assert run.status == "finished" and run.row["step"] == 20 and run.config.name == "from-a-notebook"
    assert "20/20" in capsys.readouterr().err  # the progress bar
    assert rnnviz.runs(tmp_path / "nb.sqlite")["name"].tolist() == ["from-a-notebook"]
    with pytest.raises(ConfigError, match="unknown preset"):
        rnnviz.train("blog-gru", store=tmp_path / "nb.sqlite")
    changed = dict(steps=3, batch_size=16, data_dir=str(MNIST_DIR), threads=1, progress=False)
    run = rnnviz.train("quick-rnn", store=tmp_path / "nb.sqlite", **changed)
    assert run.row["name"] == "quick-rnn (batch size 16, steps 3)"  # a preset's name with what differs from it


def test_parquet_export_reads_back_with_pandas(trained_store, tmp_path):
    run = rnnviz.open_run(trained_store, 2)
    files = run.export(tmp_path / "pq", "parquet")
    assert {f.name for f in files} >= {"config.json", "scalars.parquet", "grad_h.parquet", "hist__gate_f.parquet"}
    scalars = pd.read_parquet(tmp_path / "pq" / "scalars.parquet")
    pd.testing.assert_series_equal(scalars["loss"], run.scalars("loss")["loss"], check_names=False)
    flow = pd.read_parquet(tmp_path / "pq" / "grad_h.parquet")
    np.testing.assert_allclose(flow.to_numpy(), run.gradient_flow()[1])
    with pytest.raises(StoreError, match="unknown export format 'xlsx'"):
        run.export(tmp_path / "x", "xlsx")


def test_tensorboard_export_reads_back_with_tensorboard(trained_store, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = rnnviz.open_run(trained_store, 2)
    (logdir,) = run.export(tmp_path / "tb", "tensorboard")
    assert logdir.parent == (tmp_path / "tb").resolve()
    events = EventAccumulator(str(logdir), size_guidance={"scalars": 0, "histograms": 0, "tensors": 0})
    events.Reload()
    tags = events.Tags()
    assert {"loss", "test_accuracy", "grad_h/t=1", "grad_h/t=28"} <= set(tags["scalars"])
    losses = events.Scalars("loss")
    np.testing.assert_allclose([e.value for e in losses], run.scalar("loss")[1], rtol=1e-6)
    assert [e.step for e in losses] == run.scalar("loss")[0].tolist()
    hist = events.Histograms("hist/h_all")
    steps, counts, _ = run.histograms("h_all")
    assert [h.step for h in hist] == steps.tolist()
    assert hist[-1].histogram_value.num == counts[-1].sum()


def mnist_batches(n: int, batch: int = 32):
    train_split, _ = load_dir(MNIST_DIR)
    xs = to_float(sequences(train_split.images[: n * batch], 28, None))
    ys = torch.from_numpy(train_split.labels[: n * batch].astype(np.int64))
    return [(xs[i : i + batch], ys[i : i + batch]) for i in range(0, n * batch, batch)]


def test_watch_records_a_users_own_loop_for_the_dashboard(tmp_path):
    torch.manual_seed(0)
    lstm, head = nn.LSTM(28, 32, batch_first=True), nn.Linear(32, 10)
    opt = torch.optim.Adam([*lstm.parameters(), *head.parameters()], lr=0.01)
    batches = mnist_batches(25)
    store = tmp_path / "watched.sqlite"
    with rnnviz.watch(lstm, head, batches[0], store=store, name="my lstm", probe_every=10) as w:
        for x, y in batches:
            hs, _ = lstm(x)
            loss = nn.functional.cross_entropy(head(hs[:, -1]), y)
            opt.zero_grad()
            loss.backward()
            w.step(loss, accuracy=0.5)
            opt.step()
    run = rnnviz.open_run(store, w.run_id)
    assert run.status == "finished" and run.row["step"] == 25 and run.config.cell == "lstm"
    assert len(run.scalar("loss")[1]) == 25 and run.scalar("accuracy")[1][0] == 0.5
    assert "grad_norm/weight_hh_l0" not in run.scalar_names()  # names are the wrapper's: rnn.*, head.*
    assert {"grad_norm/rnn.weight_hh_l0", "grad_norm/head.weight"} <= set(run.scalar_names())
    steps, flow = run.gradient_flow()
    assert steps.tolist() == [1, 10, 20, 25] and flow.shape == (4, 28)
    for name in ("overview", "gradient_flow", "saturation", "gate_scatter", "global_norm"):
        assert run.figure(name).data, name
    with pytest.raises(StoreError, match="recorded by rnnviz.watch"):
        check_resumable(Store(store), w.run_id)


def test_watch_follows_a_time_major_module_and_marks_a_crashed_loop_failed(tmp_path):
    rnn, head = nn.RNN(28, 16), nn.Linear(16, 10)  # batch_first=False: (T, B, I)
    x, y = mnist_batches(1)[0]
    with pytest.raises(RuntimeError, match="boom"):
        with rnnviz.watch(rnn, head, (x.transpose(0, 1), y), store=tmp_path / "w.sqlite", probe_every=1) as w:
            w.step(1.0)
            raise RuntimeError("boom")
    run = rnnviz.open_run(tmp_path / "w.sqlite", w.run_id)
    assert run.status == "failed" and "boom" in run.row["error"] and run.gradient_flow()[1].shape == (1, 28)


@pytest.mark.parametrize("what, arguments, message", WATCH_CASES, ids=[c[0] for c in WATCH_CASES])
def test_watch_refuses_what_it_cannot_follow_saying_what_to_do_and_records_nothing(what, arguments, message, tmp_path):
    store = tmp_path / "w.sqlite"
    with pytest.raises(rnnviz.WatchError) as raised:
        rnnviz.watch(**arguments(), store=store)
    assert message in str(raised.value), str(raised.value)
    assert not store.exists() or rnnviz.runs(store).empty


@pytest.mark.parametrize("cell", [nn.LSTM, nn.RNN])
def test_a_watched_run_opens_on_every_dashboard_page(cell, tmp_path, monkeypatch):
    rnn, head = cell(28, 16, batch_first=True), nn.Linear(16, 10)
    opt = torch.optim.SGD([*rnn.parameters(), *head.parameters()], lr=0.1)
    batches = mnist_batches(6)
    with rnnviz.watch(rnn, head, batches[0], store=tmp_path / "w.sqlite", probe_every=3) as w:
        for x, y in batches:
            loss = nn.functional.cross_entropy(head(rnn(x)[0][:, -1]), y)
            opt.zero_grad()
            loss.backward()
            w.step(loss)
            opt.step()
    monkeypatch.setenv("RNNVIZ_STORE", str(tmp_path / "w.sqlite"))
    for page in PAGES:
        at = open_page(page)
        assert not at.exception, (page, at.exception)
        if page == "inspector":  # it reads checkpoints, and a watched loop saves none
            assert "runs recorded with rnnviz.watch have none" in at.warning[0].value
        elif page not in ("train", "remedies", "sweeps") and (page != "gates" or cell is nn.LSTM):
            assert figures(at), page
