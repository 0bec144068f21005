"""The remedies set and launching sets of runs: one change per run, a cap on runs at once, waiting runs
started as slots free up, and `rnnviz demo` recording the set once."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import threading

import pytest

from rnnviz import runner
from rnnviz.config import REMEDIES, Limits, preset, remedies
from rnnviz.store import Store

from .conftest import MNIST_DIR, ROOT, quick_config, wait_for


def test_each_remedy_changes_one_thing_of_the_blog_rnn():
    base = dataclasses.asdict(preset("blog-rnn"))
    runs = remedies(clip=0.5)
    assert [r.name for r in runs] == [name for name, _, _ in REMEDIES]
    assert runs[0].name == "blog-rnn" and runs[-1].name == "blog-lstm"
    for cfg, (_, changes, _) in zip(runs, REMEDIES):
        diff = {k: v for k, v in dataclasses.asdict(cfg).items() if v != base[k] and k != "name"}
        assert diff == {**changes, **({"clip": 0.5} if "clip" in changes else {})}
    assert {r.seed for r in runs} == {0} and {r.steps for r in runs} == {5000}


def test_a_short_set_is_evaluated_ten_times_unless_told_how_often():
    assert {r.eval_every for r in remedies(steps=300)} == {30}  # the page's and `rnnviz demo --steps 300`'s
    assert {r.eval_every for r in remedies(steps=300, eval_every=100)} == {100}
    assert {r.eval_every for r in remedies()} == {preset("blog-rnn").eval_every}  # the blog pair's own, reused


def test_waiting_runs_are_claimed_under_the_cap_and_never_twice(tmp_path):
    path = tmp_path / "claim.sqlite"
    with Store(path) as store:
        ids = [store.create_run(quick_config(), status="waiting") for _ in range(6)]
        claimed: list[int] = []

        def claim() -> None:
            with Store(path) as own:  # each launcher has its own connection, as in separate processes
                claimed.extend(own.claim_waiting(slots=4))

        threads = [threading.Thread(target=claim) for _ in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(claimed) == ids[:4]  # the oldest four, each handed out once
        statuses = store.runs().set_index("run_id").loc[ids, "status"].tolist()
        assert statuses == ["queued"] * 4 + ["waiting"] * 2


def test_a_waiting_run_stops_before_it_starts(tmp_path):
    with Store(tmp_path / "stop.sqlite") as store:
        run_id = store.create_run(quick_config(), status="waiting")
        runner.stop(store, run_id)
        assert store.run(run_id)["status"] == "stopped"
        assert store.claim_waiting(slots=4) == []


def test_each_trainer_that_ends_starts_the_next_waiting_run(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNVIZ_MAX_ACTIVE_RUNS", "1")  # the trainers read the cap from their environment
    with Store(tmp_path / "chain.sqlite") as store:
        ids = runner.launch([quick_config(steps=20, seed=s) for s in range(3)], store, Limits.from_env())
        assert store.runs().set_index("run_id").loc[ids, "status"].tolist() == ["queued", "waiting", "waiting"]
        wait_for(lambda: (store.runs()["status"] == "finished").all(), timeout=120)
        runs = store.runs().set_index("run_id").loc[ids]
        # one at a time: each started after the one before ended
        assert (runs["started"].to_numpy()[1:] >= runs["ended"].to_numpy()[:-1]).all()


def torch_threads(command: list[str]) -> int:
    """The torch threads a trainer's command line gives it."""
    return int(command[command.index("--threads") + 1])


@pytest.mark.parametrize(
    "cores, cap, at_once, threads",
    [(1, None, 1, 1), (2, None, 2, 1), (8, None, 7, 1), (16, None, 7, 2), (16, "3", 3, 5)],
)
def test_runs_launched_together_share_the_cores(tmp_path, monkeypatch, cores, cap, at_once, threads):
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    if cap:
        monkeypatch.setenv("RNNVIZ_MAX_ACTIVE_RUNS", cap)
    else:  # the cap on runs at once defaults to the cores
        monkeypatch.delenv("RNNVIZ_MAX_ACTIVE_RUNS", raising=False)
    started: list[list[str]] = []

    class Trainer:
        """Stands in for subprocess.Popen: records a trainer's command line and starts nothing."""

        def __init__(self, command: list[str], **kwargs) -> None:
            started.append(command)
            self.pid = os.getpid()  # alive, so the run is not taken for one whose trainer died

    monkeypatch.setattr(runner.subprocess, "Popen", Trainer)
    with Store(tmp_path / "share.sqlite") as store:
        ids = runner.launch([quick_config(seed=s, threads=0) for s in range(7)], store, Limits.from_env())
        assert len(started) == at_once == len(runner.active(store))
        assert [torch_threads(c) for c in started] == [threads] * at_once
        store.finish(ids[0], "finished")  # a trainer ends and starts the next waiting run, as `worker` does
        runner.start_waiting(store, Limits.from_env())
        assert len(started) == min(at_once + 1, 7) and torch_threads(started[-1]) == threads
        assert len(runner.active(store)) <= at_once


def test_trainers_launched_together_train_on_their_share_of_the_cores(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 4)  # the launcher's view of the machine
    monkeypatch.delenv("RNNVIZ_MAX_ACTIVE_RUNS", raising=False)
    with Store(tmp_path / "real.sqlite") as store:
        ids = runner.launch([quick_config(steps=5, seed=s, threads=0) for s in range(2)], store, Limits.from_env())
        wait_for(lambda: (store.runs()["status"] == "finished").all(), timeout=120)
        for run_id in ids:  # each trainer ends its log with its result line
            result = json.loads(runner.log_path(store.path, run_id).read_text().strip().splitlines()[-1])
            assert result["run_id"] == run_id and result["threads"] == 2


def demo(store: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rnnviz", "demo", "--steps", "20", "--jobs", "2", "--data-dir", str(MNIST_DIR)]
        + ["--store", store, *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_demo_records_the_set_at_most_jobs_at_once_then_reuses_it(tmp_path):
    store = str(tmp_path / "demo.sqlite")
    first = demo(store)
    assert first.returncode == 0, first.stderr
    assert "Remedies page" in first.stdout
    with Store(store) as s:
        runs = s.runs().sort_values("run_id")
    assert runs["name"].tolist() == [name for name, _, _ in REMEDIES]
    assert (runs["status"] == "finished").all(), runs[["status", "error"]]
    for start in runs["started"]:  # never more than --jobs training at once
        assert ((runs["started"] <= start) & (runs["ended"] > start)).sum() <= 2
    again = demo(store, "--jobs", "1")  # other threads per run compute the same runs: reused
    assert again.returncode == 0 and again.stdout.count("recorded before") == len(REMEDIES)
    with Store(store) as s:
        assert len(s.runs()) == len(REMEDIES)


def test_demo_refuses_bad_settings_with_one_line(tmp_path):
    done = demo(str(tmp_path / "x.sqlite"), "--jobs", "0")
    assert done.returncode == 2 and done.stderr.strip() == "rnnviz: error: --jobs: must be >= 1, got 0"
