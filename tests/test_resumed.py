"""A run resumed after a stop, or after its trainer died: its time is the whole run's, every segment of it, in the
runs table, `rnnviz runs` and the Train page's estimates; and the Train page's run picker says the status its
table says, in real Chromium."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import time

import pytest

from rnnviz import runner
from rnnviz.dashboard import runs as runs_section
from rnnviz.dashboard import shown
from rnnviz.store import Status, Store
from rnnviz.trainer import train

from .apptest import open_page
from .browser import chromium, data_root, streamlit_server
from .conftest import MNIST_DIR, quick_config
from .test_train_page import needs_chromium


def stop_after(calls: int):
    """A should_stop that asks the trainer to stop the `calls`-th time it is asked (about a step each)."""
    asked = iter(range(calls, -1, -1))
    return lambda: next(asked, 0) == 0


def test_a_resumed_run_s_time_is_every_segment_s(tmp_path):
    """Stopped at about step 15 and resumed to its end: its seconds, the table's elapsed and the speed the Train
    page's estimates go by count both segments (the table counted the last, and tutorial-lstm's estimate fell
    to 'about 20 seconds')."""
    cfg = quick_config(name="resumed", steps=40, checkpoint_every=10)
    with Store(tmp_path / "runs.sqlite") as store:
        first = train(cfg, store, should_stop=stop_after(15))
        assert first.status == Status.STOPPED and 0 < first.steps < cfg.steps, first
        second = train(cfg, store, run_id=first.run_id, resume=True)
        assert second.status == Status.FINISHED, second
        runs = store.runs()
    row = runs.set_index("run_id").loc[first.run_id]
    whole = first.seconds + second.seconds
    assert row["seconds"] == pytest.approx(whole, abs=0.02)  # RunResult rounds to 0.01 s
    assert row["elapsed"] == row["seconds"]
    assert runner.steps_per_second(runs, cfg) == pytest.approx(cfg.steps / row["seconds"])
    assert runner.duration(runs, [cfg]) == pytest.approx(row["seconds"])  # a run like it takes as long


@pytest.fixture
def trainer():
    """A live process to stand for a run's trainer, killed when the test says it dies."""
    proc = subprocess.Popen(["sleep", "600"])
    yield proc
    proc.kill()
    proc.wait()


def test_elapsed_counts_every_segment_live_after_a_crash_and_after_a_resume(tmp_path, trainer):
    """Segments set by hand: 20 s up to the last commit of a trainer that died, then a resume training for 5 s;
    the table counts both while it trains, and the 6 s the resumed trainer reports are added at its end."""
    with Store(tmp_path / "runs.sqlite") as store:
        run_id = store.create_run(quick_config(name="segments"))
        assert store.runs()["elapsed"].isna().all()  # queued: nothing trained yet
        store.mark_running(run_id, trainer.pid)
        now = time.time()
        with store.transaction() as c:
            c.execute("UPDATE runs SET started = ?, heartbeat = ? WHERE id = ?", (now - 30, now - 10, run_id))
        assert store.runs()["elapsed"].iloc[0] == pytest.approx(30, abs=2)  # training: so far
        trainer.kill()
        trainer.wait()
        runs = store.runs()  # reaped: its segment ends at its last commit
        assert runs["status"].iloc[0] == Status.INTERRUPTED and runs["elapsed"].iloc[0] == pytest.approx(20, abs=0.1)
        store.mark_running(run_id, os.getpid())  # resumed
        with store.transaction() as c:
            c.execute("UPDATE runs SET started = ? WHERE id = ?", (time.time() - 5, run_id))
        assert store.runs()["elapsed"].iloc[0] == pytest.approx(25, abs=2)
        store.finish(run_id, Status.FINISHED, seconds=6.0)
        runs = store.runs()
        assert (
            runs["seconds"].iloc[0] == pytest.approx(26, abs=0.1) and runs["elapsed"].iloc[0] == runs["seconds"].iloc[0]
        )
        store.finish(run_id, Status.FAILED, "a late word")  # an end said again adds no time
        assert store.runs()["seconds"].iloc[0] == pytest.approx(26, abs=0.1)


@needs_chromium
def test_the_run_picker_says_the_status_its_table_says(tmp_path, trainer):
    """A run training, then stopped while the Train page is open (as after a resume): the picker's label said
    '(training)' beside a table saying 'stopped', for Streamlit keeps a keyed selectbox's label as first drawn."""
    store_path = tmp_path / "runs.sqlite"
    with Store(store_path) as store:
        run_id = store.create_run(quick_config(name="picked"))
        store.mark_running(run_id, trainer.pid)
    with streamlit_server(store_path, data_root(tmp_path, MNIST_DIR)) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(url)
        picker = page.locator("[data-testid=stSelectbox] input[aria-label=Run]")
        picker.wait_for(timeout=60000)
        deadline = time.monotonic() + 30
        while "training" not in table_text(page):
            assert time.monotonic() < deadline, table_text(page)
            time.sleep(0.25)
        assert picker.input_value() == "1 · picked (training)"
        with Store(store_path) as store:
            store.finish(run_id, Status.STOPPED, seconds=3.0)
        deadline = time.monotonic() + 30
        while "stopped" not in table_text(page):  # the table polls the store
            assert time.monotonic() < deadline, table_text(page)
            time.sleep(0.25)
        deadline = time.monotonic() + 10  # and reruns the page, whose picker follows
        while (said := picker.input_value()) != "1 · picked (stopped)":
            assert time.monotonic() < deadline, (said, table_text(page))
            time.sleep(0.25)


def table_text(page) -> str:
    """The runs table's cells: its data grid draws on a canvas, and keeps them for screen readers."""
    return " ".join(page.locator("[data-testid=stDataFrame] [role=gridcell]").all_inner_texts())


def test_the_sidebar_follows_a_resumed_run_it_read_as_stopped_an_instant_before_the_table(
    trained_store, tmp_path, monkeypatch
):
    """A resumed run's trainer can start between the sidebar's read (stopped) and the runs table's (training):
    the table saw no change of its own, and the sidebar said "stopped" beside "training" until the next rerun (a
    fresh-eyes walk: 26 s after Resume). The table reruns the page when the sidebar said otherwise."""
    path = tmp_path / "live.sqlite"
    shutil.copy(trained_store, path)
    with sqlite3.connect(path) as c:
        c.execute("UPDATE runs SET status = 'running', host = 'another-machine' WHERE name = 'test-lstm'")
    monkeypatch.setenv("RNNVIZ_STORE", str(path))
    stale = [True]  # the sidebar reads before the page: it still sees the run stopped
    real_row, real_section = shown.run_row, runs_section.section

    def row(p, run_id):
        got = real_row(p, run_id)
        if got is not None and stale[0] and got["name"] == "test-lstm":
            got = got.copy()
            got["status"] = "stopped"
        return got

    def section(*args, **kwargs):
        stale[0] = False  # the runs table reads the store as it is: training
        return real_section(*args, **kwargs)

    monkeypatch.setattr(shown, "run_row", row)
    monkeypatch.setattr(runs_section, "section", section)
    at = open_page("train")
    assert not at.exception, at.exception
    lines = " ".join(c.value for c in at.sidebar.caption)
    assert "test-lstm: training" in lines and "test-lstm: stopped" not in lines, lines
