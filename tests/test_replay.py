"""A replay and the step scrubber as the sidebar tells them, in Streamlit's AppTest on the recorded runs of
tests/data/outcomes: a link's replay length in its box, the clock started once every chart is on screen, and a
scrubbed run's line that says nothing of how the run went on."""

from __future__ import annotations

import re

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from rnnviz.dashboard import live

from .apptest import open_page
from .conftest import ROOT
from .outcomes import BY_OUTCOME, writable_copy

RNN, LSTM = BY_OUTCOME["rnn-collapsed-underflow"], BY_OUTCOME["lstm"]  # 10.7% and 98.4% test accuracy


@pytest.fixture
def outcomes(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNVIZ_STORE", str(writable_copy(tmp_path)))


def sidebar_lines(at: AppTest) -> list[str]:
    return [line.strip() for c in at.sidebar.caption for line in c.value.splitlines() if " · blog-" in line]


@pytest.mark.parametrize("seconds", [60, 45])
def test_a_replay_links_box_says_the_length_it_plays(outcomes, seconds):
    """?replay=60 played for 60 s beside a box that said 30 s; a length the box does not offer is offered."""
    st.cache_data.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params.update({"runs": f"{RNN['run_id']},{LSTM['run_id']}", "replay": str(seconds)})
    at.run()
    assert not at.exception, at.exception
    box = at.selectbox(key="replay_seconds")
    assert at.session_state["replay"].seconds == seconds and box.value == seconds and f"{seconds} s" in box.options
    assert not [w for w in at.warning if "Session State" in w.value]  # not "set through Session State and a default"


def test_a_replays_clock_starts_once_every_chart_of_the_page_is_on_screen(outcomes, monkeypatch):
    """The first chart to say it was drawn started the clock: a loaded machine's last chart came up seconds
    later, at step 183-405 of a 30 s replay."""
    drawn: set[str] = set()
    keys: list[str] = []
    show = live.livechart.show

    def reporting(spec, key, *args, ready=None, **kwargs):  # a browser whose charts in `drawn` are on screen
        show(spec, key, *args, ready=ready, **kwargs)
        keys.append(key)
        return ready if key in drawn else None

    monkeypatch.setattr(live.livechart, "show", reporting)
    at = open_page("gradient_flow")
    at.session_state["selected_runs"] = [RNN["run_id"], LSTM["run_id"]]
    at.run()
    next(b for b in at.button if b.label == "Replay").click().run()
    replay = at.session_state["replay"]
    keys.clear()
    at.run()
    charts = set(keys)
    assert len(charts) > 1, charts
    drawn.add(keys[0])
    at.run()
    assert replay.waiting and at.get("progress")[0].proto.text == "Replay: step 0 of 5,000"
    drawn.update(charts)
    at.run()
    assert not replay.waiting and replay.step() == 0  # it starts at its beginning


def test_a_scrubbed_sidebar_says_only_what_was_known_at_the_step_shown(outcomes):
    """Scrubbed back to step 1,500, the sidebar said "finished, 10.7% test accuracy" beside charts that stop there."""
    at = open_page("overview")
    at.session_state["selected_runs"] = [RNN["run_id"], LSTM["run_id"]]
    at.run()
    assert any("finished, 10.7% test accuracy" in line for line in sidebar_lines(at)), sidebar_lines(at)
    at.slider(key="scrub").set_value(1500).run()
    assert not at.exception, at.exception
    said = sidebar_lines(at)
    assert said == [f"{r['run_id']} · {r['name']}: scrubbed back, step 1,500 of 5,000" for r in (RNN, LSTM)], said
    page = " ".join(m.value for m in at.markdown)
    assert "finished" not in page.split("Reading")[0], page  # the Overview's status lines neither


def test_a_replay_plays_to_its_end_on_a_page_that_draws_no_runs(outcomes):
    """The page's body ended a replay, so on the Train page it never ended: the bar above the page, drawn on
    every page, said "Replay: step 5,000 of 5,000" for good, and the scrubber stayed without a number."""
    at = open_page("overview")
    at.session_state["selected_runs"] = [RNN["run_id"], LSTM["run_id"]]
    at.run()
    next(b for b in at.button if b.label == "Replay").click().run()
    at.switch_page("rnnviz/dashboard/pages/train.py").run()
    replay = at.session_state["replay"]
    replay.start()
    replay.started -= 10  # a third of the 30 s
    at.run()
    assert not at.exception, at.exception
    (bar,) = at.get("progress")  # at least 20 frames of 83.3 steps (a loaded machine's run takes a few more)
    assert 1666 <= int(re.fullmatch(r"Replay: step ([\d,]+) of 5,000", bar.proto.text)[1].replace(",", "")) < 5000
    replay.started -= 30
    at.run()
    assert "replay" not in at.session_state and not at.get("progress")
    assert at.slider(key="scrub").value == 5000


def test_a_scrubbed_compare_table_says_scrubbed_back_not_how_the_run_ended(outcomes):
    """Scrubbed back to step 1,500, Compare's table said "finished" above "step reached 1,500": finished there."""
    at = open_page("overview")
    at.session_state["selected_runs"] = [RNN["run_id"], LSTM["run_id"]]
    at.run()
    at.slider(key="scrub").set_value(1500).run()
    at.switch_page("rnnviz/dashboard/pages/compare.py").run()
    assert not at.exception, at.exception
    tables = [d.value for d in at.dataframe if "status" in d.value.index]
    assert tables, [d.value.index.tolist() for d in at.dataframe]
    assert tables[0].loc["status"].tolist() == ["scrubbed back", "scrubbed back"], tables[0]
    assert tables[0].loc["step reached"].tolist() == ["1,500", "1,500"], tables[0]


def test_a_scrubbed_inspector_says_the_scrubber_does_not_move_it(full_store):
    """Scrubbed back, every page is cut at the step but the inspector, which reads the last checkpoint: it said
    "at its checkpoint of step 5,000" beside a sidebar saying "scrubbed back, step 1,500" (a fresh-eyes walk)."""
    at = open_page("inspector")
    at.selectbox(key="insp-run").set_value(2).run()
    assert not [c for c in at.caption if "scrubber" in c.value]  # following the latest step: nothing to say
    at.session_state["pinned_step"] = 10
    at.run()
    assert not at.exception, at.exception
    said = [c.value for c in at.caption if "scrubber" in c.value]
    assert said == [
        "The step scrubber's step 10 does not move this page: it reads the weights the run saved at its last "
        "checkpoint, step 30."
    ], said
