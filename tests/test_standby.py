"""Warm trainers: a standby process takes the next run, trains it as a spawned worker would, and is passed
over when it is gone; the hand-over is safe between two launchers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from rnnviz import runner
from rnnviz.config import ConfigError, Limits, rnn_vs_lstm
from rnnviz.store import Status, Store
from rnnviz.store.liveness import process_alive

from .conftest import quick_config, wait_for


@pytest.fixture
def standbys(monkeypatch):
    """Turns warm trainers on and, at the end, stops any this test started that are still waiting."""
    monkeypatch.setenv("RNNVIZ_STANDBY", "1")
    started: list[int] = []
    yield started
    for pid in started:
        if process_alive(pid, None):
            os.kill(pid, signal.SIGKILL)


def test_the_pair_is_trained_by_two_standbys_as_workers_would(tmp_path, standbys, monkeypatch):
    monkeypatch.setenv("RNNVIZ_STANDBY", "2")
    with Store(tmp_path / "runs.sqlite") as store:
        standbys += runner.ensure_standby(store)
        assert len(standbys) == 2
        assert runner.ensure_standby(store) == []  # two are wanted, two are warming
        folder = runner.standby_dir(store.path)
        wait_for(lambda: all((folder / f"{pid}.ready").exists() for pid in standbys), timeout=60)
        ids = runner.launch(rnn_vs_lstm(quick_config(steps=30)), store, Limits(active_runs=2))
        assert sorted(store.run(run_id)["pid"] for run_id in ids) == sorted(standbys)
        wait_for(lambda: all(store.run(run_id)["status"] not in ("queued", "running") for run_id in ids), timeout=120)
        wait_for(lambda: not any(process_alive(pid, None) for pid in standbys), timeout=30)  # one run each
        for run_id in ids:
            assert store.run(run_id)["status"] == Status.FINISHED
            assert store.scalars(run_id, ["loss"])["step"].tolist() == list(range(1, 31))
            log = runner.log_path(store.path, run_id).read_text()
            assert json.loads(log.strip().splitlines()[-1])["run_id"] == run_id  # the worker's own line, in its log
        assert list(folder.iterdir()) == []


def test_a_dead_standby_is_passed_over(tmp_path, standbys):
    with Store(tmp_path / "runs.sqlite") as store:
        gone = subprocess.Popen(["true"])
        gone.wait()
        folder = runner.standby_dir(store.path)
        folder.mkdir(parents=True)
        (folder / f"{gone.pid}.ready").write_text("")
        (run_id,) = runner.launch([quick_config(steps=10)], store, Limits(active_runs=2))
        pid = store.run(run_id)["pid"]
        assert pid != gone.pid
        assert not (folder / f"{gone.pid}.ready").exists()
        wait_for(lambda: store.run(run_id)["status"] == Status.FINISHED, timeout=120)


def test_no_standby_starts_while_runs_train(tmp_path, standbys):
    with Store(tmp_path / "runs.sqlite") as store:
        store.create_run(quick_config())  # queued, its trainer about to start
        assert runner.ensure_standby(store) == []


def test_two_launchers_never_take_the_same_standby(tmp_path):
    path = tmp_path / "runs.sqlite"
    with Store(path):
        pass
    folder = runner.standby_dir(path)
    folder.mkdir(parents=True)
    (folder / f"{os.getpid()}.ready").write_text("")
    taken: list[int | None] = []
    threads = [threading.Thread(target=lambda: taken.append(runner._take_standby(path))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(taken, key=lambda p: p is None) == [os.getpid()] + [None] * 7


def test_a_standby_is_handed_its_job_and_exits_when_idle(tmp_path):
    path = tmp_path / "runs.sqlite"
    with Store(path):
        pass
    got: list[dict | None] = []
    waiting = threading.Thread(target=lambda: got.append(runner.stand_by(path, lambda: None, os.getppid(), idle_s=30)))
    waiting.start()
    wait_for(lambda: (runner.standby_dir(path) / f"{os.getpid()}.ready").exists(), timeout=10)
    assert runner._take_standby(path) == os.getpid()
    runner._hand_over(path, os.getpid(), ["--run-id", "7"], tmp_path / "logs" / "run-7.log")
    waiting.join(timeout=10)
    assert got == [{"flags": ["--run-id", "7"], "log": str(tmp_path / "logs" / "run-7.log")}]
    assert list(runner.standby_dir(path).iterdir()) == []
    start = time.monotonic()
    # nobody came: it ends, leaving nothing
    assert runner.stand_by(path, lambda: None, os.getppid(), idle_s=0.2) is None
    assert time.monotonic() - start < 5
    assert list(runner.standby_dir(path).iterdir()) == []


def test_a_bad_standby_setting_is_refused(monkeypatch):
    monkeypatch.setenv("RNNVIZ_STANDBY", "two")
    with pytest.raises(ConfigError, match="RNNVIZ_STANDBY"):
        runner.standbys_wanted()


def test_a_standby_ends_with_the_dashboard_that_started_it(tmp_path, standbys):
    """A launcher (here a short Python process, as the Streamlit server would be) starts a standby and exits."""
    path = tmp_path / "runs.sqlite"
    with Store(path):
        pass
    code = f"from rnnviz import runner, store; print(runner.ensure_standby(store.Store({str(path)!r})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60).stdout
    (pid,) = json.loads(out)
    standbys.append(pid)
    wait_for(lambda: not process_alive(pid, None), timeout=60)
    assert list(runner.standby_dir(path).iterdir()) == []
