"""What the pages say while the blog pair trains (the LSTM at half the RNN's pace) or replays: readings that quote
one kind of accuracy for every run shown, one step for a replay wherever it is written, and the runs' gradient
heatmaps on one training-step axis. On a short RNN and LSTM recorded here, cut where a live pair stands."""

from __future__ import annotations

import json
import os
import re
import time

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from rnnviz import findings, views, words
from rnnviz.dashboard import shown
from rnnviz.dashboard.shown import Replay, ShownRun
from rnnviz.store import Store
from rnnviz.trainer import train

from .apptest import figures, open_page, values
from .conftest import ROOT, quick_config
from .test_app import xmax


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> str:
    """A short RNN and LSTM recorded every step, evaluated on the validation split every 20 steps."""
    path = tmp_path_factory.mktemp("pair") / "runs.sqlite"
    with Store(path) as store:
        for cell in ("rnn", "lstm"):
            assert train(quick_config(name=f"live-{cell}", cell=cell, steps=50), store).status == "finished"
    return str(path)


def cut(path: str, run_id: int, step: int) -> ShownRun:
    """A recorded run as a page shows it at `step` (a live run that has got that far, or the scrubber's step)."""
    with Store(path, readonly=True) as store:
        table = store.runs().set_index("run_id", drop=False)
    return ShownRun(path, table.loc[run_id], until=step)


def batch_mean(path: str, run_id: int, last: int) -> float:
    """The mean recorded batch accuracy of steps last-49..last, read from the store itself."""
    with Store(path, readonly=True) as store:
        acc = store.scalars(run_id, ["accuracy"]).set_index("step")["value"]
    return float(acc.loc[last - 49 : last].mean())


ACCURACY = re.compile(r"(batch|validation|test) accuracy")


def quoted(reading: str) -> str:
    """The kind of accuracy a reading quotes first."""
    return ACCURACY.findall(reading)[0]


def test_a_live_pairs_readings_quote_the_same_accuracy_and_say_which(pair):
    """The RNN at step 30 has a validation point (step 20); the LSTM, at half its pace, none before step 20. Each
    reading then quotes its batch accuracy first (the mean over its last steps, as recorded), and only then the
    validation accuracy the RNN has and the LSTM does not yet: before, the RNN's reading quoted validation
    accuracy and the LSTM's its batch accuracy, side by side."""
    rnn, lstm = cut(pair, 1, 30), cut(pair, 2, 15)
    said = {r.id: findings.of(r, [rnn, lstm]) for r in (rnn, lstm)}
    assert {quoted(s) for s in said.values()} == {"batch"}, said
    for r, last in ((rnn, 30), (lstm, 15)):
        mean = words.percent(batch_mean(pair, r.id, last))
        assert f"batch accuracy {mean} (the mean of its last {last} training batches)" in said[r.id], said
    assert "no validation accuracy yet (evaluated every 20 steps)" in said[2]
    assert "validation accuracy" in said[1].split("batches)")[1], said[1]  # after the batch accuracy
    # once both have been evaluated, both quote their validation accuracy, and no batch accuracy
    rnn, lstm = cut(pair, 1, 40), cut(pair, 2, 20)
    said = {r.id: findings.of(r, [rnn, lstm]) for r in (rnn, lstm)}
    assert {quoted(s) for s in said.values()} == {"validation"}, said
    assert not any("batch" in s for s in said.values()) and "at step 20" in said[2], said


def test_a_run_read_alone_before_its_first_evaluation_says_when_it_comes(pair):
    reading = findings.of(cut(pair, 2, 10))
    assert quoted(reading) == "batch" and "no validation accuracy yet" in reading, reading
    assert quoted(findings.of(cut(pair, 1, 30))) == "validation"  # alone, with one: its validation accuracy


class MovingClock:
    """time as shown.py sees it, with a second passing at every reading of the clock: a page's rerun that reads
    the replay's step in three places takes that long on a loaded machine."""

    def __init__(self) -> None:
        self.passed = 0.0

    def monotonic(self) -> float:
        self.passed += 1.0
        return time.monotonic() + self.passed


def test_a_replay_writes_one_step_in_the_progress_bar_the_status_lines_the_scrubber_and_the_charts(pair, monkeypatch):
    """Each place read the replay's clock for itself; on a loaded machine the progress bar, the scrubber and a
    status line said 1,529, 1,527 and 1,472 at once. Now the step is read once a run, and the scrubber, whose
    own refresh trails the page's, draws no number of its own during a replay."""
    monkeypatch.setenv("RNNVIZ_STORE", pair)
    at = open_page("overview")
    at.selectbox(key="replay_seconds").set_value(10)
    next(b for b in at.button if b.label == "Replay").click().run()
    replay = at.session_state["replay"]
    replay.created -= Replay.WAIT_S  # no browser here to say the charts are drawn: it starts anyway
    at.run()
    replay.started -= 3
    monkeypatch.setattr(shown, "time", MovingClock())
    at.run()
    assert not at.exception, at.exception
    (bar,) = at.get("progress")
    step = int(re.fullmatch(r"Replay: step (\d+) of 50", bar.proto.text).group(1))
    assert 0 < step < 50
    lines = [line for m in at.markdown for line in m.value.splitlines() if "showing step" in line]
    assert len(lines) == 2 and all(f"replaying; showing step {step} of 50" in line for line in lines), (step, lines)
    # the sidebar says the replayed step too, and gives away no ending (it said "finished, 10.7% test accuracy")
    sidebar = [line.strip() for c in at.sidebar.caption for line in c.value.splitlines() if " · live-" in line]
    assert sidebar == [f"{r} · live-{c}: replaying, step {step} of 50" for r, c in ((1, "rnn"), (2, "lstm"))], sidebar
    assert at.slider(key="scrub").value == step
    assert {xmax(f) for f in figures(at)[:1]} == {step}  # the curves end at the step written above them
    assert "Replaying: the step shown is written above the charts." in [c.value for c in at.sidebar.caption]


def test_a_replay_at_its_start_says_it_shows_step_0_not_that_nothing_was_recorded(pair, monkeypatch):
    """At a replay's start every run is cut at step 0: the reading said "no steps recorded yet" of runs that had
    recorded 50, and the sidebar how they ended."""
    monkeypatch.setenv("RNNVIZ_STORE", pair)
    at = open_page("overview")
    next(b for b in at.button if b.label == "Replay").click().run()
    assert not at.exception and at.session_state["replay"].waiting  # no browser here: its clock waits at step 0
    said = " ".join(m.value for m in at.markdown)
    for label in ("1 · live-rnn", "2 · live-lstm"):
        assert f"**{label}**: nothing recorded by step 0, the step shown (its records start at step 1)." in said
    assert "no steps recorded yet" not in said and "finished" not in said, said
    sidebar = " ".join(c.value for c in at.sidebar.caption)
    assert "1 · live-rnn: replaying, step 0 of 50" in sidebar and "test accuracy" not in sidebar, sidebar


def test_the_gradient_heatmaps_of_a_live_pair_share_one_training_step_axis(pair):
    """The LSTM at half the RNN's pace: its panel spans the RNN's steps too, its cells ending where it stands, the
    rest of the panel empty; before, each panel spanned its own run's steps, the LSTM's 20 as wide as the RNN's 50."""
    rnn, lstm, fresh = cut(pair, 1, 50), cut(pair, 2, 20), cut(pair, 2, 0)
    fig = views.gradient_flow([rnn, lstm, fresh]).to_plotly_json()
    layout = fig["layout"]
    ranges = [layout[a]["range"] for a in ("xaxis", "xaxis2", "xaxis3")]
    assert ranges[0] == ranges[1] == ranges[2], ranges
    heat = {t["name"]: values(t["x"]) for t in fig["data"] if t.get("name")}
    lo, hi = ranges[0]
    x = heat[rnn.label]
    assert lo <= x[0] - (x[1] - x[0]) / 2 and x[-1] + (x[-1] - x[-2]) / 2 <= hi  # the furthest run's cells whole
    assert heat[lstm.label][-1] == 20 and heat[rnn.label][-1] == 50
    assert (heat[lstm.label][-1] - lo) / (hi - lo) < 0.5  # the LSTM fills less than half the width it shares


def test_a_replay_a_link_started_says_its_own_length(pair, monkeypatch):
    """?replay=45 plays 50 steps in 45 s; the sidebar said "Replays 50 steps in 30 s", its picker's length."""
    monkeypatch.setenv("RNNVIZ_STORE", pair)
    st.cache_data.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params.update({"runs": "1,2", "replay": "45"})
    at.run()
    assert at.session_state["replay"].seconds == 45
    said = [c.value for c in at.sidebar.caption]
    assert "Replaying 50 steps in 45 s, a step every 0.9 s" in said, said


def test_the_runs_table_says_what_was_measured_and_when_and_its_progress_as_the_sidebar_does(tmp_path, monkeypatch):
    """The runs table's saturated share is a probe's: a training run's says the probe's step (beside a run at step
    37 a share of its step-10 probe read as the run's own), one not yet probed says so (not a 0 or a blank); its
    progress is written as the sidebar writes it (the table said 15.68% beside the sidebar's one decimal)."""
    path = tmp_path / "runs.sqlite"
    with Store(path) as store:
        done = train(quick_config(name="done-rnn", steps=10), store).run_id
        live = train(quick_config(name="live-rnn", steps=10), store).run_id
        fresh = store.create_run(quick_config(name="fresh-lstm", cell="lstm"))
        for run_id in (live, fresh):  # their trainer, this process, is alive
            store.mark_running(run_id, os.getpid())
        store.conn.execute("UPDATE runs SET step = 37, total_steps = 236 WHERE id = ?", (live,))  # 15.68%
        store.conn.commit()
        probed = int(store.series(live, "sat_t")[0][-1])
    monkeypatch.setenv("RNNVIZ_STORE", str(path))
    at = open_page("train")
    at.session_state["selected_runs"] = [live]
    at.run()
    assert not at.exception, at.exception
    frame = next(d for d in at.dataframe if "run_id" in d.value.columns)
    table = frame.value.set_index("run_id")
    with Store(path, readonly=True) as store:
        rows = store.runs().set_index("run_id", drop=False)
    share = {r: words.percent(findings.saturated(ShownRun(str(path), rows.loc[r]))) for r in (done, live)}
    assert table.loc[done, "saturated_fraction"] == share[done]
    assert table.loc[live, "saturated_fraction"] == f"{share[live]} (step {probed})" and probed < 37
    assert table.loc[fresh, "saturated_fraction"] == "not measured yet"
    progress = json.loads(frame.proto.columns)["progress"]["type_config"]
    written = progress["format"] % table.loc[live, "progress"]
    sidebar = " ".join(c.value for c in at.sidebar.caption)
    assert written == "15.7%" and f"live-rnn: training, {written}" in sidebar, (written, sidebar)
