"""Sweeps on a local Ray started once for these tests: grids, seeds, groups, a killed worker and a
restarted writer, bad grids, and the command line's JSON line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from rnnviz import cluster, sweeps
from rnnviz.api import Sweep, open_sweep
from rnnviz.config import ConfigError, Limits
from rnnviz.store import Status, Store
from tests.conftest import ROOT, quick_config

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def ray_address():
    address = cluster.connect()  # 2 CPUs here: one per core
    yield address
    ray.shutdown()


def small_spec(steps: int = 40, seeds: int = 2, **grid) -> sweeps.SweepSpec:
    base = quick_config(cell="rnn", name="set", hidden_size=16, steps=steps, checkpoint_every=10, eval_every=20)
    return sweeps.SweepSpec(base, grid or {"lr": [0.001, 0.01], "hidden_size": [8, 16]}, seeds)


class Background:
    """`run_sweep` in a thread, as a sweep's driver, while the test watches the store."""

    def __init__(self, spec: sweeps.SweepSpec, path) -> None:
        self.store = Store(path)
        self.result: dict = {}
        self.thread = threading.Thread(target=self._run, args=(spec,), daemon=True)
        self.thread.start()

    def _run(self, spec: sweeps.SweepSpec) -> None:
        self.result["sweep_id"] = cluster.run_sweep(spec, self.store, report=lambda line: None)

    def join(self, timeout: float = 240) -> int:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the sweep did not finish"
        return self.result["sweep_id"]


def wait_for(condition, timeout: float = 120, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = condition()
        if got is not None and (bool(got) if isinstance(got, (bool, np.bool_)) else True):
            return got
        time.sleep(every)
    raise AssertionError("timed out waiting")


def test_a_2x2_grid_with_2_seeds_ends_with_8_finished_runs_in_4_groups_shown_while_they_train(ray_address, tmp_path):
    path = tmp_path / "runs.sqlite"
    driver = Background(small_spec(), path)
    with Store(path) as store:

        def training_now():
            runs = store.runs()
            live = runs[(runs["status"] == Status.RUNNING) & (runs["step"] > 0)]
            return bool(len(live)) and (runs["status"] != Status.FINISHED).sum() >= 2

        assert wait_for(training_now)  # the sweep's runs are in the store, live, before the sweep ends
        sweep_id = driver.join()
        runs = store.runs()
        mine = runs[runs["sweep_id"] == sweep_id]
        assert len(mine) == 8 and set(mine["status"]) == {Status.FINISHED}
        assert (mine["step"] == 40).all()
        grouped = sweeps.groups(mine)
        assert grouped["group"].nunique() == 4 and set(grouped["group_seeds"]) == {2}
        table = Sweep(store, sweep_id).table()
        assert list(table[["lr", "hidden_size"]].itertuples(index=False, name=None)) == [
            (0.001, 8), (0.001, 16), (0.01, 8), (0.01, 16)
        ]  # fmt: skip
        assert (table["finished"] == 2).all()
        for row in table.itertuples():
            accs = mine.loc[mine["run_id"].isin(row.runs), "test_accuracy"]
            assert row.test_accuracy_mean == pytest.approx(accs.mean())
            assert row.test_accuracy_min == pytest.approx(accs.min()) and row.test_accuracy_max == accs.max()
            assert "of 2 seeds" in row.reading
        out = open_sweep(store).result()
        assert out["sweep_id"] == sweep_id and out["engine"] == "ray" and out["status"] == Status.FINISHED
        assert out["ray_address"] == ray_address and sorted(out["runs"]) == sorted(mine["run_id"])
        assert store.sweep(sweep_id)["status"] == Status.FINISHED


def run_at_step(store: Store, step: int):
    """The sweep's (only) run once it has committed `step`, else None."""
    runs = store.runs()
    return runs.iloc[0] if len(runs) and runs.iloc[0]["step"] >= step else None


def one_record_per_step(store: Store, run_id: int, steps: int) -> None:
    loss = store.scalars(run_id, ["loss"])
    assert loss["step"].tolist() == list(range(1, steps + 1))


def test_a_run_whose_worker_is_killed_is_retried_from_its_checkpoint_with_one_record_per_step(ray_address, tmp_path):
    path = tmp_path / "runs.sqlite"
    spec = small_spec(steps=400, seeds=1, hidden_size=[128])
    spec.base = spec.base.replace(checkpoint_every=50)
    driver = Background(spec, path)
    with Store(path) as store:
        row = wait_for(lambda: run_at_step(store, 60), every=0.05)
        killed = int(row["pid"])
        os.kill(killed, signal.SIGKILL)
        sweep_id = driver.join()
        run = store.runs().iloc[0]
        assert run["status"] == Status.FINISHED and run["step"] == 400
        assert int(run["pid"]) != killed  # a new worker took it over
        one_record_per_step(store, int(run["run_id"]), 400)
        assert store.sweep(sweep_id)["status"] == Status.FINISHED


def test_a_restarted_writer_loses_nothing_a_trainer_was_told_was_committed(ray_address, tmp_path):
    path = tmp_path / "runs.sqlite"
    driver = Background(small_spec(steps=400, seeds=1, hidden_size=[128]), path)
    with Store(path) as store:
        wait_for(lambda: run_at_step(store, 40), every=0.05)
        sweep_id = store.sweeps().iloc[0]["sweep_id"]
        before = store.scalars(int(store.runs().iloc[0]["run_id"]), ["loss"])
        ray.kill(ray.get_actor(f"rnnviz-writer-{sweep_id}"), no_restart=False)
        driver.join()
        run = store.runs().iloc[0]
        assert run["status"] == Status.FINISHED
        one_record_per_step(store, int(run["run_id"]), 400)
        after = store.scalars(int(run["run_id"]), ["loss"]).set_index("step")["value"]
        assert np.allclose(after.loc[before["step"]].to_numpy(), before["value"].to_numpy())


@pytest.mark.parametrize(
    "grid, field, message",
    [
        (["lr=0.001,20"], "lr", "must be at most 10"),
        (["chunk=7,5"], "chunk", "must divide 784"),
        (["seed=1,2"], "grid", "give the number of seeds with --seeds"),
        (["lr=fast"], "lr", "is not a float"),
        (["colour=red"], "grid", "is not a setting"),
        (["lr"], "grid", "write a field and its values"),
        (["lr=0.1,0.1"], "lr", "values repeat"),
        (["steps=100,10000000"], "steps", "at most 200000 here"),
    ],
)
def test_a_bad_grid_is_refused_before_anything_starts(tmp_path, grid, field, message):
    with pytest.raises(ConfigError) as refused:
        sweeps.SweepSpec(quick_config(), sweeps.parse_grid(grid), 2).validate(Limits())
    assert any(p.field == field and message in p.message for p in refused.value.problems), refused.value


def test_a_grid_over_chunk_reads_the_digits_in_chunks_and_names_each_run_for_its_point():
    spec = sweeps.SweepSpec(quick_config(name="blog-rnn"), sweeps.parse_grid(["chunk=28,7"]), 2)
    cfgs = spec.validate(Limits()).configs()
    assert [(c.seq_len, c.seed) for c in cfgs] == [(28, 0), (28, 1), (112, 0), (112, 1)]
    assert cfgs[3].name == "blog-rnn (chunk 7, seed 1)"
    assert sweeps.group_key(cfgs[2]) == sweeps.group_key(cfgs[3]) != sweeps.group_key(cfgs[0])


def test_a_band_is_min_to_max_under_5_seeds_and_interquartile_from_5():
    three = np.array([[0.1, 0.5], [0.2, 0.7], [0.9, 0.6]])
    mean, lo, hi = sweeps.band(three)
    assert np.allclose(mean, [0.4, 0.6]) and np.allclose(lo, [0.1, 0.5]) and np.allclose(hi, [0.9, 0.7])
    five = np.array([[0.0], [0.1], [0.2], [0.3], [10.0]])
    _, lo, hi = sweeps.band(five)
    assert lo[0] == pytest.approx(0.1) and hi[0] == pytest.approx(0.3)  # the outlier sets no band
    reading = "collapsed below 20% in 2 of 3 seeds (mean 16.3%, range 9.0% to 30.0%); 1 of 4 seeds not finished"
    assert sweeps.agreement([0.1, 0.09, 0.3, None]) == reading


def test_rnnviz_sweep_ends_with_one_json_line_and_runs_list_their_sweep(ray_address, tmp_path):
    store = tmp_path / "runs.sqlite"
    flags = ["--cell", "rnn", "--hidden-size", "8", "--steps", "20", "--batch-size", "32", "--probe-every", "10",
             "--eval-every", "10", "--probe-batch", "32", "--data-dir", str(quick_config().data_dir)]  # fmt: skip
    cli = [sys.executable, "-m", "rnnviz"]
    done = subprocess.run(
        [*cli, "sweep", *flags, "--grid", "lr=0.001,0.01", "--seeds", "2", "--ray-address", ray_address,
         "--store", str(store)],
        capture_output=True, text=True, timeout=240, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["engine"] == "ray" and out["ray_address"] == ray_address and out["status"] == "finished"
    assert len(out["runs"]) == 4 and [c["config"] for c in out["configs"]] == [{"lr": 0.001}, {"lr": 0.01}]
    for c in out["configs"]:
        assert set(c["test_accuracy"]) == {"mean", "min", "max"} and len(c["runs"]) == 2
        assert c["test_accuracy"]["min"] <= c["test_accuracy"]["mean"] <= c["test_accuracy"]["max"]
        assert set(c["saturated_fraction"]) == {"mean", "min", "max"}
    listed = json.loads(subprocess.run([*cli, "runs", "--json", "--store", str(store)], capture_output=True,
                                       text=True, cwd=ROOT, check=True).stdout)  # fmt: skip
    assert {r["sweep_id"] for r in listed} == {out["sweep_id"]}
    bad = subprocess.run([*cli, "sweep", "--grid", "lr=0.01,99", "--store", str(store)], capture_output=True,
                         text=True, cwd=ROOT)  # fmt: skip
    assert bad.returncode == 2 and "--lr: must be at most 10" in bad.stderr and "lr=99" in bad.stderr
    with Store(store) as s:
        assert len(s.sweeps()) == 1  # the refused sweep recorded nothing


def test_a_sweep_whose_driver_died_is_marked_interrupted_and_its_waiting_runs_too(tmp_path):
    with Store(tmp_path / "runs.sqlite") as store:
        sweep_id = store.create_sweep("gone", small_spec().to_json(), "ray", None)
        waiting = store.create_run(quick_config(), Status.WAITING, sweep_id)
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        store.conn.execute("UPDATE sweeps SET pid = ? WHERE id = ?", (dead.pid, sweep_id))
        assert store.run(waiting)["status"] == Status.INTERRUPTED
        assert store.sweep(sweep_id)["status"] == Status.INTERRUPTED
        assert "stopped before it finished" in store.run(waiting)["error"]


def test_ctrl_c_stops_a_sweep_whose_runs_keep_what_they_recorded(ray_address, tmp_path):
    store = tmp_path / "runs.sqlite"
    # far more steps than the test waits for (a tiny RNN trains thousands a second on a fast machine): Ctrl-C
    # must find the runs training, whatever the machine's speed
    flags = ["--cell", "rnn", "--hidden-size", "32", "--steps", "200000", "--batch-size", "32",
             "--data-dir", str(quick_config().data_dir), "--seeds", "2"]  # fmt: skip
    driver = subprocess.Popen(
        [sys.executable, "-m", "rnnviz", "sweep", *flags, "--ray-address", ray_address, "--store", str(store)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    with Store(store) as s:
        wait_for(lambda: store.exists() and len(r := s.runs()) == 2 and (r["step"] > 20).all(), timeout=180)
        driver.send_signal(signal.SIGINT)
        out, err = driver.communicate(timeout=60)
        assert driver.returncode == 130, err
        assert out.strip(), err
        result = json.loads(out.strip().splitlines()[-1])
        assert result["status"] == "stopped"
        runs = s.runs()
        assert set(runs["status"]) == {"stopped"} and (runs["step"] < 200_000).all()
        for run in runs.itertuples():
            one_record_per_step(s, run.run_id, run.step)
