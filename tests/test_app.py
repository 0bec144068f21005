"""Every page opens without an exception, on an empty store and on one with real runs, and draws their data."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from rnnviz import runner
from rnnviz.config import preset
from rnnviz.dashboard.shown import Replay
from rnnviz.figures import gradient_decades
from rnnviz.store import Store
from rnnviz.trainer import train

from .apptest import figures, open_page, values
from .browser import data_root
from .conftest import MNIST_DIR, ROOT, quick_config

PAGES = ["train", "overview", "gradient_flow", "saturation", "gates", "compare", "remedies", "sweeps", "inspector"]


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
    if page == "remedies":  # a store without the remedies set says how to record one
        assert "No remedies set recorded yet" in at.info[0].value
    elif page == "sweeps":  # and one without a set of runs, how to start one
        assert "rnnviz sweep --preset" in at.info[0].value
    elif page != "train":
        assert figures(at), "no chart drawn"


def test_overview_charts_contain_the_recorded_loss_and_a_reading(full_store, trained_store):
    at = open_page("overview")
    with Store(trained_store) as store:
        loss = store.scalars(1, ["loss"])["value"].to_numpy()
    panels = figures(at)[0]
    assert panels["layout"]["annotations"][0]["text"] == "training loss"
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
        floor = gradient_decades([store.grad_flow(i)[1] for i in (1, 2)])[0]
        for run_id, panel in zip((1, 2), panels):
            steps, flow = store.grad_flow(run_id)
            with np.errstate(divide="ignore"):
                drawn = np.log10(flow)
            # under the colour scale's floor: the band "below", or for exactly 0 the band "underflowed"
            drawn = np.where(drawn < floor, np.where(np.isneginf(drawn), floor - 0.75, floor - 0.25), drawn)
            np.testing.assert_allclose(values(panel["z"]), drawn.T, rtol=1e-5)  # (T, probe steps)
            np.testing.assert_array_equal(values(panel["x"]), steps)


def test_gradient_flow_says_why_with_each_runs_chain_slopes_and_the_lstms_path(full_store):
    at = open_page("gradient_flow")
    titles = [f["layout"]["title"]["text"] for f in figures(at)]
    assert "1 · test-rnn: Jacobians and bound (step 30)" in titles and "2 · test-lstm: Jacobians (step 30)" in titles
    for run in ("1 · test-rnn", "2 · test-lstm"):
        assert any(t.startswith(f"{run}: tanh") and t.endswith("slope over training") for t in titles)
    assert "Cell-state path ∏ f_k against the RNN's Jacobian" in titles
    text = " ".join(m.value for m in at.markdown)
    assert "the mean tanh slope φ" in text and "forget gates f from t = 2 to 28" in text
    # the readings quote a median of probes, the charts one probe: the page says so, where a teacher saw the RNN's
    # text (3.8 × 10⁻⁴) disagree with the chart under it (1.9 × 10⁻²)
    captions = " ".join(c.value for c in at.caption)
    assert "median of its run's last 5 probes" in captions and "the one probe its chart draws" in captions


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


def xmax(fig: dict) -> float:
    return max(values(t["x"]).max() for t in fig["data"] if len(values(t["x"])))


def test_the_step_scrubber_moves_every_chart_of_every_page(full_store):
    at = open_page("overview")
    at.slider(key="scrub").set_value(15).run()
    assert not at.exception
    assert xmax(figures(at)[0]) <= 15 and at.query_params["step"] == "15"
    assert "step 15 of 30" in at.markdown[0].value
    at.switch_page("rnnviz/dashboard/pages/gradient_flow.py").run()
    heat, curve, *_ = figures(at)
    assert xmax(heat) == 10  # the probes are at steps 1, 10, 20, 30: the last one up to step 15
    assert all("(probe at step 10)" in t["name"] for t in curve["data"])  # the probe's step, so named
    at.switch_page("rnnviz/dashboard/pages/saturation.py").run()
    notes = [a["text"] for a in figures(at)[0]["layout"]["annotations"]]
    panels = [n for n in notes if " · " in n]  # the panels' titles; each panel writes its saturated share too
    assert len(panels) == 2 and all("(probe at step 10)" in p for p in panels)
    assert len([n for n in notes if "% of |h| > 0.99" in n]) == 2
    at.slider(key="scrub").set_value(30).run()  # the right end follows the latest step again
    assert "step" not in at.query_params and xmax(figures(at)[1]) == 30


def test_while_a_run_trains_the_sidebar_follows_the_latest_step_in_words(tmp_path, monkeypatch):
    path = tmp_path / "live.sqlite"
    with Store(path) as store:  # a run with 10 steps recorded whose trainer (this process) is alive
        run_id = train(quick_config(name="live-rnn", steps=10), store).run_id
        store.mark_running(run_id, os.getpid())
    monkeypatch.setenv("RNNVIZ_STORE", str(path))
    at = open_page("gradient_flow")
    said = " ".join(c.value for c in at.sidebar.caption)
    assert "Following the latest step, live" in said  # not a number of its own, older than the charts'
    at.slider(key="scrub").set_value(0).run()  # pinned: the number is the step every chart shows
    assert "Following the latest step" not in " ".join(c.value for c in at.sidebar.caption)


def test_a_training_run_is_called_training_on_every_page(tmp_path, monkeypatch):
    path = tmp_path / "live.sqlite"
    with Store(path) as store:  # one run training (its trainer, this process, is alive), one about to start
        training = train(quick_config(name="live-rnn", steps=10), store).run_id
        store.mark_running(training, os.getpid())
        starting = store.create_run(quick_config(name="next-lstm", cell="lstm"))
    monkeypatch.setenv("RNNVIZ_STORE", str(path))
    at = open_page("train")
    table = next(d.value for d in at.dataframe if "run_id" in d.value.columns).set_index("run_id")
    assert table.loc[training, "status"] == "training" and table.loc[starting, "status"] == "starting"
    picker = next(s for s in at.selectbox if s.label == "Run")
    assert picker.options == [f"{starting} · next-lstm (starting)", f"{training} · live-rnn (training)"]
    at.session_state["selected_runs"] = [training, starting]
    at.switch_page("rnnviz/dashboard/pages/compare.py").run()
    said = " ".join(m.value for m in [*at.sidebar.markdown, *at.sidebar.caption])
    assert "training, " in said and "starting" in said and "running" not in said and "queued" not in said
    compared = next(d.value for d in at.dataframe if "status" in d.value.index)
    assert sorted(compared.loc["status"]) == ["starting", "training"]


def test_a_link_reopens_runs_and_step_in_presenter_mode(full_store):
    st.cache_data.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params.update(runs="1", step="20", present="1")
    at.run()
    at.switch_page("rnnviz/dashboard/pages/overview.py").run()
    assert not at.exception
    assert at.session_state["selected_runs"] == [1] and at.slider(key="scrub").value == 20
    fig = figures(at)[0]
    assert [t["name"] for t in fig["data"]] == ["1 · test-rnn"] * 3 and xmax(fig) <= 20
    assert fig["layout"]["font"]["size"] == 22  # large fonts
    at.switch_page("rnnviz/dashboard/pages/gradient_flow.py").run()
    assert {a["font"]["size"] for a in figures(at)[0]["layout"]["annotations"]} == {22}  # the panel labels too
    assert any("stSidebar" in h.proto.body for h in at.get("html"))  # the sidebar and controls hidden
    assert at.query_params["present"] == "1"


def test_the_train_pages_preset_link_survives_the_sidebars_parameters(full_store):
    st.cache_data.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["preset"] = "quick-rnn"
    at.run()
    assert at.selectbox[0].value == "quick-rnn" and at.query_params["preset"] == "quick-rnn"
    assert at.number_input(key="form-quick-rnn-steps").value == 1200


@pytest.mark.parametrize(
    "query", [{"runs": "1,x", "step": "20"}, {"step": "-3", "replay": "soon"}, {"runs": "99"}, {"replay": "inf"}]
)
def test_a_broken_link_opens_the_latest_runs_instead(full_store, query):
    st.cache_data.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params.update(query)
    at.run()
    at.switch_page("rnnviz/dashboard/pages/overview.py").run()
    assert not at.exception, at.exception
    assert "replay" not in at.session_state and "pinned_step" not in at.session_state
    if query.get("runs") != "99":
        assert figures(at)  # the latest runs are drawn
    else:  # a run that does not exist (deleted since the link was made): nothing picked, and it says so
        assert "No run selected" in at.info[0].value


def test_replay_plays_a_finished_run_back_on_every_page(full_store):
    at = open_page("overview")
    at.selectbox(key="replay_seconds").set_value(10)
    next(b for b in at.button if b.label == "Replay").click().run()
    assert not at.exception
    replay = at.session_state["replay"]
    # it waits at step 0 for the page's charts to say they are drawn (no browser here to say it)
    assert replay.last == 30 and at.get("progress")[0].proto.text.startswith("Replay: step 0 of")
    assert replay.waiting and replay.step() == 0
    replay.created -= Replay.WAIT_S  # charts that never report: it starts anyway
    at.run()
    assert not replay.waiting
    replay.started -= 5  # half of the 10 s have passed
    at.switch_page("rnnviz/dashboard/pages/gradient_flow.py").run()
    assert 10 <= xmax(figures(at)[0]) <= 20 and "Replay: step 1" in at.get("progress")[0].proto.text
    assert 10 <= at.slider(key="scrub").value <= 20  # the step scrubber stands where the replay is, not at 30
    curve = next(f for f in figures(at) if "||dL/dh_t|| at" in f["layout"]["title"]["text"])
    assert curve["layout"]["title"]["text"].startswith("||dL/dh_t|| at the step shown")  # not "latest probe"
    replay.started -= 10
    at.run()
    assert "replay" not in at.session_state and not at.get("progress")
    assert xmax(figures(at)[0]) == 30


def test_a_late_refresh_carrying_the_scrubbers_old_step_does_not_stop_a_replay(full_store):
    # The browser sends the sidebar's 1 s refreshes on its own timer, each with the scrubber where it last drew
    # it: one sent before the replay's newest step reached the browser carries the step before. Read as the
    # person scrubbing back, it stopped every replay started from the sidebar after ~4 s in Chromium.
    at = open_page("overview")
    at.selectbox(key="replay_seconds").set_value(10)
    next(b for b in at.button if b.label == "Replay").click().run()
    replay = at.session_state["replay"]
    replay.created -= Replay.WAIT_S
    at.run()
    replay.started -= 3
    at.run()
    before = at.slider(key="scrub").value
    replay.started -= 2
    at.run()
    assert at.slider(key="scrub").value > before
    at.slider(key="scrub").set_value(before).run()  # the late refresh
    assert at.session_state["replay"] is replay and at.session_state["pinned_step"] is None
    moved = next(v for v in range(30) if v not in [v for _, v in at.session_state["scrub_set"]])
    at.slider(key="scrub").set_value(moved).run()  # a person's move ends it and pins the step
    assert "replay" not in at.session_state and at.session_state["pinned_step"] == moved


def test_inspector_reads_a_digit_with_the_lstm_checkpoint(full_store):
    at = open_page("inspector")
    at.selectbox(key="insp-run").set_value(2).run()
    assert not at.exception, at.exception
    assert "at its checkpoint of step **30**" in at.markdown[0].value
    titles = [f["layout"]["title"]["text"] for f in figures(at)]
    for want in (
        "Digit (label",
        "||dL/dx_t||, painted",
        "Class probabilities",
        "Hidden state",
        "Gate f (forget)",
        "Cell",
    ):
        assert any(t.startswith(want) for t in titles), (want, titles)
    at.slider(key="insp-t-28").set_value(5).run()
    assert figures(at)[0]["layout"]["title"]["text"].endswith("time step 5 of 28")
    next(b for b in at.button if b.label == "One it gets wrong").click().run()
    assert not at.exception and at.markdown[0].value.endswith(": wrong.")
    next(b for b in at.button if b.label == "Random").click().run()
    assert not at.exception


def test_inspector_explains_a_run_without_a_checkpoint(full_store, trained_store, tmp_path, monkeypatch):
    path = tmp_path / "fresh.sqlite"
    with Store(path) as store:
        store.create_run(quick_config())
    monkeypatch.setenv("RNNVIZ_STORE", str(path))
    at = open_page("inspector")
    assert not at.exception and "No run has a checkpoint to read yet" in at.warning[0].value
    assert "A run is queued or training" in at.warning[0].value and not at.selectbox  # no run to pick


def test_compare_offers_metrics_in_words(full_store):
    at = open_page("compare")
    picker = at.multiselect(key="cmp-metrics")
    assert "Validation accuracy" in picker.options and "Test accuracy" in picker.options
    assert "Gradient norm of W_hh (recurrent weights)" in picker.options
    assert not [o for o in picker.options if re.fullmatch(r"[a-z0-9_/.]+", o)], picker.options  # no raw name
    assert picker.value == ["validation_accuracy", "saturated", "grad_h_ratio"]  # the values: the recorded names


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


def test_a_run_changed_from_its_preset_is_named_for_the_changes(full_store, trained_store, monkeypatch, tmp_path):
    monkeypatch.setenv("RNNVIZ_DATA_DIR", str(data_root(tmp_path, MNIST_DIR)))
    monkeypatch.setenv("RNNVIZ_MAX_ACTIVE_RUNS", "3")  # runs with no trainer stay queued here
    monkeypatch.setattr(runner, "_spawn", lambda store, run_id, *extra: None)
    copy = tmp_path / "runs.sqlite"
    copy.write_bytes(trained_store.read_bytes())
    monkeypatch.setenv("RNNVIZ_STORE", str(copy))
    at = open_page("train")
    at.text_input(key="form-blog-rnn-lr").set_value("0.003")
    at.number_input(key="form-blog-rnn-steps").set_value(800)
    next(b for b in at.button if b.label == "Train").click().run()
    assert not at.exception, at.exception
    with Store(copy) as store:
        assert store.runs()["name"].iloc[0] == "blog-rnn (lr 0.003, steps 800)"
    next(b for b in at.button if b.label == "Train as an RNN vs LSTM pair").click().run()
    assert not at.exception, at.exception
    with Store(copy) as store:  # each named after its own cell's run of the preset
        assert store.runs()["name"].iloc[:2].tolist() == [
            "blog-lstm (lr 0.003, steps 800)",
            "blog-rnn (lr 0.003, steps 800)",
        ]


def test_the_blog_pair_says_how_long_it_takes_on_this_machine(empty_store, monkeypatch, tmp_path):
    monkeypatch.setenv("RNNVIZ_DATA_DIR", str(data_root(tmp_path, MNIST_DIR)))
    at = open_page("train")
    assert any("Nothing has been timed on this machine yet" in m.value for m in at.markdown)
    with Store(os.environ["RNNVIZ_STORE"]) as store:
        # quick-lstm probes five times as often as blog-lstm: its steps cost more, so it is not gone by
        for name, seconds in (("blog-rnn", 50.0), ("blog-lstm", 90.0), ("quick-lstm", 1.0)):
            cfg = preset(name)
            run_id = store.create_run(cfg)
            store.mark_running(run_id, os.getpid())
            store.append(run_id, cfg.steps, [], [], {})
            store.finish(run_id, "finished", None, seconds)
    at = open_page("train")
    assert any("It takes **about 90 seconds** on this machine" in m.value for m in at.markdown)


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
    at.switch_page("rnnviz/dashboard/pages/gradient_flow.py").run()
    assert not at.exception and figures(at)
    assert path.read_bytes() == before


def test_the_dashboard_starts_runs_left_waiting_by_a_killed_trainer(empty_store, monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 4)  # the cap on runs at once is one per core
    spawned: list[int] = []
    monkeypatch.setattr(runner, "_spawn", lambda store, run_id, *extra: spawned.append(run_id))
    with Store(os.environ["RNNVIZ_STORE"]) as store:
        ids = [store.create_run(quick_config(), status="waiting") for _ in range(5)]
    at = open_page("overview")
    assert not at.exception and spawned == ids[:4]  # up to the cap of 4; the fifth waits for a slot
