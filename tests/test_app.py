"""Every page opens without an exception, on an empty store and on one with real runs, and draws their data."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from rnnviz.store import Store
from rnnviz.trainer import train

from .browser import data_root
from .conftest import MNIST_DIR, ROOT, quick_config

PAGES = ["train", "overview", "gradient_flow", "saturation", "gates", "compare"]


def open_page(page: str) -> AppTest:
    st.cache_data.clear()  # caches are process-wide: one test's store or data must not leak into the next
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    if page != "train":
        at.switch_page(f"rnnviz/pages/{page}.py")
        at.run()
    return at


def values(v) -> np.ndarray:
    """Plotly's JSON arrays, plain or base64-typed."""
    if isinstance(v, dict) and "bdata" in v:
        a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        return a.reshape([int(d) for d in str(v["shape"]).split(",")]) if "shape" in v else a
    return np.asarray(v, dtype=float)


def figures(at: AppTest) -> list[dict]:
    """The figures of the page's live charts (custom component instances; their arguments are JSON)."""
    charts = [c.proto for c in at.get("component_instance") if c.proto.component_name.endswith("livechart")]
    return [json.loads(json.loads(c.json_args)["spec"]) for c in charts]


@pytest.fixture
def empty_store(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNVIZ_STORE", str(tmp_path / "empty.sqlite"))
    monkeypatch.setenv("RNNVIZ_DATA_DIR", str(tmp_path / "nodata"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture
def full_store(trained_store, monkeypatch):
    monkeypatch.setenv("RNNVIZ_STORE", str(trained_store))


@pytest.mark.parametrize("page", PAGES)
def test_page_opens_on_an_empty_store(empty_store, page):
    at = open_page(page)
    assert not at.exception, at.exception
    if page == "train":
        assert any("MNIST is not on this machine" in w.value for w in at.warning)
        assert any(b.label == "Download MNIST" for b in at.button)
    else:
        assert at.info  # tells the user what to do, no chart of nothing


@pytest.mark.parametrize("page", PAGES)
def test_page_opens_with_finished_runs_and_draws_them(full_store, page):
    at = open_page(page)
    assert not at.exception, at.exception
    if page != "train":
        assert figures(at), "no chart drawn"


def test_overview_charts_contain_the_recorded_loss_and_a_reading(full_store, trained_store):
    at = open_page("overview")
    with Store(trained_store) as store:
        loss = store.scalars(1, ["loss"])["value"].to_numpy()
    panels = figures(at)[0]
    assert panels["layout"]["yaxis"]["title"]["text"] == "training loss"
    drawn = {t["name"]: values(t["y"]) for t in panels["data"] if t["yaxis"] == "y"}
    np.testing.assert_allclose(drawn["1 · test-rnn"], loss, rtol=1e-6)
    text = " ".join(m.value for m in at.markdown)
    assert "test-rnn" in text and "of hidden activations saturated" in text


def test_gradient_flow_heatmap_holds_log10_of_the_recorded_gradients(full_store, trained_store):
    at = open_page("gradient_flow")
    heat = figures(at)[0]
    panels = [t for t in heat["data"] if t["type"] == "heatmap"]
    assert [a["text"] for a in heat["layout"]["annotations"]] == ["1 · test-rnn", "2 · test-lstm"]
    with Store(trained_store) as store:
        for run_id, panel in zip((1, 2), panels):
            steps, flow = store.grad_flow(run_id)
            np.testing.assert_allclose(values(panel["z"]), np.log10(flow).T, rtol=1e-5)  # (T, probe steps)
            np.testing.assert_array_equal(values(panel["x"]), steps)


def test_gates_page_shows_the_lstm_gates(full_store):
    at = open_page("gates")
    titles = [f["layout"]["title"]["text"] for f in figures(at)]
    assert any("Gate f (forget)" in t for t in titles) and any("Cell state" in t for t in titles)


def test_train_form_refuses_bad_values_next_to_the_field(full_store, trained_store, monkeypatch, tmp_path):
    monkeypatch.setenv("RNNVIZ_DATA_DIR", str(data_root(tmp_path, MNIST_DIR)))
    at = open_page("train")
    at.text_input(key="form-blog-rnn-lr").set_value("-0.5")
    next(b for b in at.button if b.label == "Train").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert "must be > 0, got -0.5" in errors and any(e.startswith("Not started: lr") for e in errors)
    with Store(trained_store) as store:
        assert len(store.runs()) == 2  # nothing was started


def test_training_steps_shown_zooms_every_training_step_axis(full_store):
    at = open_page("overview")
    at.slider(key="step_window").set_value((10, 20)).run()
    assert not at.exception
    assert figures(at)[0]["layout"]["xaxis"]["range"] == [10, 20]
    at.switch_page("rnnviz/pages/gradient_flow.py").run()
    heat = figures(at)[0]["layout"]
    assert heat["xaxis"]["range"] == [10, 20] and heat["xaxis2"]["range"] == [10, 20]


@pytest.mark.parametrize("page", PAGES)
def test_pages_render_a_diverged_run_with_nan(tmp_path, monkeypatch, page):
    path = tmp_path / "nan.sqlite"
    with Store(path) as store:
        result = train(quick_config(cell="rnn", nonlinearity="relu", lr=10.0, optimizer="sgd", steps=50), store)
        assert result.status == "diverged"
    monkeypatch.setenv("RNNVIZ_STORE", str(path))
    at = open_page(page)
    assert not at.exception, at.exception
    if page == "overview":
        assert any("diverged" in m.value for m in at.markdown)


def test_train_form_enforces_the_caps(full_store, trained_store, monkeypatch, tmp_path):
    monkeypatch.setenv("RNNVIZ_DATA_DIR", str(data_root(tmp_path, MNIST_DIR)))
    monkeypatch.setenv("RNNVIZ_MAX_HIDDEN", "256")
    at = open_page("train")
    at.number_input(key="form-blog-rnn-hidden_size").set_value(4096)
    next(b for b in at.button if b.label == "Train").click().run()
    errors = [e.value for e in at.error]
    assert any("at most 256 here (got 4096); raise $RNNVIZ_MAX_HIDDEN" in e for e in errors), errors
    with Store(trained_store) as store:
        assert len(store.runs()) == 2


def test_a_read_only_store_is_browsed_and_training_is_refused(trained_store, tmp_path, monkeypatch):
    # tests/test_store.py mounts a store read-only for real; here the dashboard sees one as such
    path = tmp_path / "readonly.sqlite"
    path.write_bytes(trained_store.read_bytes())
    before = path.read_bytes()
    monkeypatch.setenv("RNNVIZ_STORE", str(path))
    monkeypatch.setattr(Store, "_cannot_write", lambda self: True)
    at = open_page("train")
    assert not at.exception, at.exception
    assert any("is read-only here" in i.value for i in at.info)
    buttons = {b.label: b for b in at.button}
    assert all(buttons[label].disabled for label in ("Train", "Train RNN vs LSTM", "Resume", "Delete…"))
    at.switch_page("rnnviz/pages/gradient_flow.py").run()
    assert not at.exception and figures(at)
    assert path.read_bytes() == before
