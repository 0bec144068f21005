"""The controls a presenter touches in front of a room: the blog pair starts once however often it is clicked,
the sidebar says how a picked run ended, the digit inspector opens on a run it can read, and a shared
dashboard opens on the blog pair."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from rnnviz import roles, runner
from rnnviz.cli import main
from rnnviz.config import RunConfig, preset
from rnnviz.dashboard import reads
from rnnviz.store import Status, Store

from .apptest import open_page
from .browser import data_root
from .conftest import MNIST_DIR, quick_config
from .test_train_page import sleeper  # noqa: F401 (a fixture)


@pytest.fixture
def store_path(tmp_path, monkeypatch):
    path = tmp_path / "runs.sqlite"
    Store(path).close()
    monkeypatch.setenv("RNNVIZ_STORE", str(path))
    monkeypatch.setenv("RNNVIZ_DATA_DIR", str(data_root(tmp_path, MNIST_DIR)))
    return path


@pytest.fixture
def launched(monkeypatch, sleeper):  # noqa: F811
    """runner.launch records the runs as training under a live stand-in process, and starts no trainer."""

    def launch(configs: list[RunConfig], store: Store, limits, reuse: bool = False) -> list[int]:
        ids = [store.create_run(cfg) for cfg in configs]
        for run_id in ids:
            store.mark_running(run_id, sleeper)
        return ids

    monkeypatch.setattr(runner, "launch", launch)


def names(path) -> list[str]:
    with Store(path) as store:
        return sorted(store.runs()["name"])


class Stale:
    """reads.runs_table as a page's cache holds it for up to a second: a table read before."""

    def __init__(self, table: pd.DataFrame) -> None:
        self.table = table

    def __call__(self, path: str) -> pd.DataFrame:
        return self.table

    def clear(self) -> None:
        pass


def test_the_blog_pair_starts_once_however_often_its_button_is_clicked(store_path, launched, monkeypatch):
    monkeypatch.setenv("RNNVIZ_MAX_ACTIVE_RUNS", "8")  # a machine of 8 cores: room for a second pair
    with Store(store_path) as store:
        before = store.runs()
    at = open_page("train")
    late = open_page("train")  # a second tab, or this one's second click: drawn before the pair started
    button = at.button(key="train-pair")
    assert button.label == "Train RNN vs LSTM" and not button.disabled
    button.click().run()
    assert not at.exception, at.exception
    assert names(store_path) == ["blog-lstm", "blog-rnn"]
    button = at.button(key="train-pair")
    assert button.label == "Training RNN vs LSTM" and button.disabled  # the room sees it started
    said = " ".join(s.value for s in at.success)
    assert "**1 · blog-rnn** and **2 · blog-lstm**" in said, said
    assert at.session_state["selected_runs"] == [1, 2]
    # a click on a button drawn before the pair started, read with the page's runs table of up to a second
    # before (its cache) that has no pair yet: the store is asked, and it watches the pair, starting none
    fresh = reads.runs_table
    monkeypatch.setattr(reads, "runs_table", Stale(before))
    late.button(key="train-pair").click().run()
    assert not late.exception and not late.error, (late.exception, late.error)
    assert names(store_path) == ["blog-lstm", "blog-rnn"]
    monkeypatch.setattr(reads, "runs_table", fresh)
    late.run()  # its next refresh: the pair it is watching
    assert late.button(key="train-pair").disabled
    assert "**1 · blog-rnn** and **2 · blog-lstm**" in " ".join(s.value for s in late.success)
    # a tab opened while it trains leads to it, with the pair picked
    other = open_page("train")
    assert other.button(key="train-pair").disabled
    other.session_state["selected_runs"] = []
    other.button(key="watch-pair").click().run()
    assert other.session_state["selected_runs"] == [1, 2]


def test_the_blog_pair_can_be_trained_again_once_it_has_ended(store_path, launched):
    with Store(store_path) as store:
        for cfg in (preset("blog-rnn"), preset("blog-lstm")):
            store.finish(store.create_run(cfg), Status.FINISHED)
    at = open_page("train")
    assert not at.button(key="train-pair").disabled
    at.button(key="train-pair").click().run()
    assert names(store_path) == ["blog-lstm", "blog-lstm", "blog-rnn", "blog-rnn"]


def test_a_started_pair_is_not_the_other_settings_training(store_path, launched, sleeper):  # noqa: F811
    with Store(store_path) as store:  # the blog RNN alone trains: not the pair, which can start
        store.mark_running(store.create_run(preset("blog-rnn")), sleeper)
        store.mark_running(store.create_run(quick_config(cell="lstm", name="blog-lstm")), sleeper)
    at = open_page("train")
    assert not at.button(key="train-pair").disabled


# Each Train page button beside the pair's: how to find it on a page, and the runs one click starts.
BUTTONS = {
    "train once": (lambda at: at.button(key="exp-1"), ["tutorial-lstm"]),
    "5 seeds": (lambda at: at.button(key="exp-seeds-1"), [f"tutorial-lstm (seed {s})" for s in range(5)]),
    "settings, train": (lambda at: at.button(key="settings-train"), ["blog-rnn"]),
    "settings, pair": (lambda at: at.button(key="settings-pair"), ["blog-lstm", "blog-rnn"]),
}


@pytest.mark.parametrize("which", list(BUTTONS))
def test_every_train_button_starts_its_runs_once_on_a_double_click(store_path, launched, monkeypatch, which):
    monkeypatch.setenv("RNNVIZ_MAX_ACTIVE_RUNS", "16")  # room for a second set: only the guard stops it
    find, started = BUTTONS[which]
    with Store(store_path) as store:
        before = store.runs()
    at = open_page("train")
    late = open_page("train")  # the double click's second click: sent before the page redrew
    find(at).click().run()
    assert not at.exception and not at.error, (at.exception, at.error)
    assert names(store_path) == sorted(started)
    assert find(at).disabled and find(at).label.startswith("Training")  # greyed out while they train
    monkeypatch.setattr(reads, "runs_table", Stale(before))  # its page's table: read before the first click
    find(late).click().run()
    assert not late.exception and not late.error, (late.exception, late.error)
    assert names(store_path) == sorted(started)  # found in the store: watched, not started again


def test_stopping_a_run_says_what_happened_and_keeps_the_picker_on_it(store_path, sleeper):  # noqa: F811
    with Store(store_path) as store:
        for name in ("blog-rnn", "blog-lstm"):
            store.mark_running(store.create_run(preset(name)), sleeper)
    at = open_page("train")

    def picker():
        return next(s for s in at.selectbox if s.label == "Run")

    assert picker().value == 2  # the newest run first
    picker().set_value(1).run()  # the second run in the picker
    next(b for b in at.button if b.label == "Stop").click().run()
    assert not at.exception and not at.error, (at.exception, at.error)
    with Store(store_path) as store:
        assert dict(store.conn.execute("SELECT id, stop_requested FROM runs").fetchall()) == {1: 1, 2: 0}
    said = " ".join(i.value for i in at.info)
    assert "Asked **1 · blog-rnn** to stop" in said, said
    with Store(store_path) as store:  # its trainer honours the request: the run ends, stopped, at step 40
        store.append(1, 40, [], [], {})
        store.finish(1, Status.STOPPED)
    reads.runs_table.clear()
    at.run()  # the rerun the run's end sets off
    assert picker().value == 1  # still the run it stopped, now labelled as stopped
    assert picker().options[1] == "1 · blog-rnn (stopped)"
    said = " ".join(i.value for i in at.info)
    assert "Stopped **1 · blog-rnn** at step 40 of 5,000" in said and "**Resume** continues it" in said, said


def test_resuming_a_run_says_its_trainer_is_starting_until_it_trains(store_path, monkeypatch):
    """The resumed run reads as stopped for the seconds its trainer takes to start: the page said "was resumed
    and is stopped", kept Resume lit and stopped polling, while the run trained to its end unseen."""
    asked = []
    monkeypatch.setattr(runner, "resume", lambda store, run_id: asked.append(run_id))  # no trainer process here
    with Store(store_path) as store:
        run_id = store.create_run(preset("blog-rnn"))
        store.mark_running(run_id, os.getpid())
        store.append(run_id, 690, [], [], {})
        store.finish(run_id, Status.STOPPED)
    at = open_page("train")
    next(b for b in at.button if b.label == "Resume").click().run()
    assert not at.exception and not at.error, (at.exception, at.error)
    assert asked == [run_id]
    said = " ".join(i.value for i in at.info)
    assert "Resuming **1 · blog-rnn** from its last checkpoint, step 690 of 5,000: its trainer is starting" in said
    assert next(b for b in at.button if b.label == "Resume").disabled  # one trainer per click
    with Store(store_path) as store:  # the trainer picks it up
        store.mark_running(run_id, os.getpid())
    reads.runs_table.clear()
    at.run()
    said = " ".join(i.value for i in at.info)
    assert "Resuming **1 · blog-rnn** from its last checkpoint: training" in said, said
    assert not next(b for b in at.button if b.label == "Stop").disabled


def test_a_run_before_its_first_probe_is_told_once_per_run_on_gradient_flow(store_path, sleeper):  # noqa: F811
    """Each of a section's charts said "no probe recorded yet" (a replay at step 0 showed each run's line twice
    under Why it vanishes)."""
    with Store(store_path) as store:
        for name in ("blog-rnn", "blog-lstm"):
            store.mark_running(store.create_run(preset(name)), sleeper)
    at = open_page("gradient_flow")
    assert not at.exception, at.exception
    lines = [c.value for c in at.caption if "no probe recorded yet" in c.value]
    for run in ("1 · blog-rnn", "2 · blog-lstm"):  # once in each section of per-run charts: norms, and why
        assert sum(run in line for line in lines) == 2, lines


def test_the_train_page_gives_the_blog_pair_one_time_the_one_measured_here(store_path, monkeypatch):
    """A pair timed on a loaded machine (the LSTM's 5,000 steps in 300 s): the pair's box and the collapse row
    say the same, and no time measured elsewhere beside them says otherwise (their lines said 1-1.5 and about
    2 min a run, from a quieter machine)."""
    with Store(store_path) as store:
        for name, seconds in (("blog-rnn", 150.0), ("blog-lstm", 300.0)):
            cfg = preset(name)
            run_id = store.create_run(cfg)
            store.mark_running(run_id, os.getpid())
            store.append(run_id, cfg.steps, [], [], {})
            store.finish(run_id, Status.FINISHED, None, seconds)
    at = open_page("train")
    text = " ".join(m.value for m in at.markdown)
    assert text.count("It takes **about 5 minutes** on this machine") == 2, text  # the pair, the collapse row
    times = re.findall(r"(?:about )?[\d.,-]+ (?:s|min|seconds|minutes)\b[^.;\n]*", text)
    assert all("about 5 minutes" in t for t in times), times


def test_the_sidebar_says_a_picked_run_finished_and_its_test_accuracy(trained_store, store_path, sleeper):  # noqa: F811
    with Store(trained_store) as store:
        done, lstm = store.runs().set_index("run_id"), store.config(2)
    with Store(store_path) as store:  # the finished LSTM beside a run that still trains
        finished = store.create_run(lstm)
        store.finish(finished, Status.FINISHED)
        with store.transaction() as c:
            accuracy = float(done.loc[2, "test_accuracy"])
            c.execute("UPDATE runs SET step = 30, test_accuracy = ? WHERE id = ?", (accuracy, finished))
        training = store.create_run(quick_config(name="still-training"))
        store.mark_running(training, sleeper)
        store.finish(store.create_run(quick_config(task="adding", name="adding")), Status.FINISHED)  # no accuracy
    at = open_page("overview")
    at.multiselect(key="selected_runs").set_value([1, 2, 3]).run()
    lines = [c.value for c in at.sidebar.caption if "·" in c.value]
    assert lines, [c.value for c in at.sidebar.caption]
    said = lines[0].split("  \n")
    assert f"1 · test-lstm: finished, {100 * done.loc[2, 'test_accuracy']:.1f}% test accuracy" in said, said
    assert "2 · still-training: training, 0.0%" in said, said
    assert "3 · adding: finished" in said, said  # a task scored by its error, not a dash of accuracy


def copy_store(source: Path, to: Path) -> Path:
    """A copy of a store and its checkpoints, to add runs to."""
    to.mkdir()
    with Store(source) as store, sqlite3.connect(to / source.name) as copy:
        store.conn.backup(copy)
    shutil.copytree(source.parent / "checkpoints", to / "checkpoints")
    return to / source.name


def test_the_inspector_opens_on_the_newest_run_it_can_read(trained_store, tmp_path, monkeypatch, sleeper):  # noqa: F811
    path = copy_store(trained_store, tmp_path / "copy")
    with Store(path) as store:  # newer than the finished pair: one queued, one training before its checkpoint
        queued = store.create_run(quick_config(name="queued"))
        training = store.create_run(quick_config(name="training"))
        store.mark_running(training, sleeper)
    monkeypatch.setenv("RNNVIZ_STORE", str(path))
    at = open_page("inspector")
    assert at.session_state["selected_runs"] == [queued, training]  # the sidebar's newest two: nothing to read
    assert not at.exception and not at.warning, at.warning
    run = at.selectbox(key="insp-run")
    assert run.value == 2 and run.options == ["2 · test-lstm (finished)", "1 · test-rnn (finished)"]
    assert "Run **2 · test-lstm (finished)** at its checkpoint of step **30**" in at.markdown[0].value


def test_the_inspector_says_what_to_do_while_no_run_has_a_checkpoint(store_path, sleeper):  # noqa: F811
    with Store(store_path) as store:
        store.mark_running(store.create_run(quick_config(name="training")), sleeper)
    at = open_page("inspector")
    assert not at.exception and not at.selectbox
    said = at.warning[0].value
    assert "No run has a checkpoint to read yet" in said and "its first checkpoint shows here" in said, said
    with Store(store_path) as store:  # it stopped before its first checkpoint
        store.finish(1, Status.STOPPED)
    said = open_page("inspector").warning[0].value
    assert "Train a run on the **Train** page, then open this page again" in said, said


@pytest.fixture
def talk_store(store_path):
    """The blog pair (runs 1 and 2), then two runs trained after it (3 and 4)."""
    with Store(store_path) as store:
        for cfg in (preset("blog-rnn"), preset("blog-lstm"), quick_config(name="later-a"), quick_config(name="b")):
            store.finish(store.create_run(cfg), Status.FINISHED)
    return store_path


@pytest.mark.parametrize("shared, opens_on", [(True, [1, 2]), (False, [3, 4])])
def test_a_shared_dashboard_opens_on_the_blog_pair(talk_store, monkeypatch, shared, opens_on):
    monkeypatch.setattr(roles, "KEY", "k" * 32 if shared else "")
    at = open_page("overview")
    assert not at.exception, at.exception
    assert at.session_state["selected_runs"] == opens_on  # without --share, the newest runs, as before


def test_share_says_which_runs_the_room_opens_on(talk_store, tmp_path, capsys):
    assert main(["app", "--dry-run", "--store", str(talk_store), "--share", "127.0.0.1"]) == 0
    assert "Every page opens on the blog pair: runs 1 (blog-rnn) and 2 (blog-lstm)." in capsys.readouterr().out
    empty = tmp_path / "none.sqlite"
    assert main(["app", "--dry-run", "--store", str(empty), "--share", "127.0.0.1"]) == 0
    assert "holds no blog pair (blog-rnn and blog-lstm), so the room opens on the newest" in capsys.readouterr().out
    assert not empty.exists()  # starting a share makes no store
