"""The Train page's time for the quick memory horizon is measured on this machine, as its other estimates are:
the wall time of the one recorded in the store, else the speed of runs like its own; never a figure of its own
("about 5 minutes" where bench/README.md had measured 3 min 36 s)."""

from __future__ import annotations

import os
import socket

import pytest

from rnnviz import words
from rnnviz.config import cores
from rnnviz.dashboard.horizon_view import QUICK, quick_seconds
from rnnviz.store import Status, Store

from .apptest import open_page


def caption(path, monkeypatch) -> str:
    """The caption above *How long can it remember?* on the Train page."""
    monkeypatch.setenv("RNNVIZ_STORE", str(path))
    at = open_page("train")
    assert not at.exception, at.exception
    return next(c.value for c in at.caption if "runs on Ray" in c.value)


def test_nothing_timed_says_so_and_quotes_no_time(tmp_path, monkeypatch):
    said = caption(tmp_path / "runs.sqlite", monkeypatch)
    assert "nothing like it has been timed on this machine yet" in said and "minute" not in said, said


def test_runs_like_its_own_give_its_time_at_their_speed(tmp_path, monkeypatch):
    """Every run of the quick horizon recorded here (as an interrupted horizon leaves them), each having taken
    T/2 seconds of its steps: the page's time is their seconds, at that speed, over the runs Ray trains at once."""
    path = tmp_path / "runs.sqlite"
    configs = QUICK.sweep_spec().configs()
    with Store(path) as store:
        for cfg in configs:
            run_id = store.create_run(cfg)
            store.mark_running(run_id, os.getpid())  # trained on this machine
            with store.transaction() as c:
                c.execute("UPDATE runs SET step = ? WHERE id = ?", (cfg.steps, run_id))
            store.finish(run_id, Status.FINISHED, seconds=cfg.seq_len / 2)
    expected = sum(cfg.seq_len / 2 for cfg in configs) / min(cores(), len(configs))
    assert quick_seconds(str(path))[0] == pytest.approx(expected)
    said = caption(path, monkeypatch)
    assert f"it takes **{words.about(expected)}** on this machine" in said, said


def test_a_horizon_recorded_here_gives_its_wall_time(tmp_path):
    path = tmp_path / "runs.sqlite"
    with Store(path) as store:
        sweep_id = store.create_sweep("quick horizon", QUICK.sweep_spec().to_json(), "ray", None)
        store.finish_sweep(sweep_id, Status.FINISHED)
        with store.transaction() as c:
            c.execute("UPDATE sweeps SET created = ended - 216 WHERE id = ?", (sweep_id,))
        assert store.sweep(sweep_id)["host"] == socket.gethostname()
    seconds, said = quick_seconds(str(path))
    assert seconds == pytest.approx(216) and said == "the quick horizon recorded in this store took"
    assert words.about(seconds) == "about 3.5 minutes"
