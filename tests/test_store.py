"""The run store: read while written, survives a killed trainer, refuses what it cannot use."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rnnviz import runner
from rnnviz.config import RunConfig
from rnnviz.store import SCHEMA_VERSION, Store, StoreError, export_run
from rnnviz.trainer import train

from .conftest import ROOT, quick_config, wait_for


def test_round_trip_of_scalars_arrays_and_histograms(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        run_id = store.create_run(RunConfig(cell="rnn"))
        store.set_hist_edges(run_id, {"h_all": np.linspace(-1, 1, 5)})
        store.append(
            run_id,
            2,
            [(1, "loss", 2.3), (2, "loss", 2.1)],
            [(1, "grad_h", np.arange(28.0)), (1, "hist/h_all", np.ones(4)), (2, "grad_h", np.ones(28))],
            {},
        )
        df = store.scalars(run_id)
        assert df.to_dict("list") == {"step": [1, 2], "name": ["loss", "loss"], "value": [2.3, 2.1]}
        steps, flow = store.grad_flow(run_id)
        assert steps.tolist() == [1, 2] and flow.shape == (2, 28) and flow[0, 27] == 27
        steps, counts, edges = store.histograms(run_id, "h_all")
        assert counts.shape == (1, 4) and edges.shape == (5,)
        assert store.run(run_id)["step"] == 2 and store.runs()["cell"].tolist() == ["rnn"]
        at, latest = store.arrays_at(run_id, 5)  # the last probe at or before step 5
        assert at == 2 and set(latest) == {"grad_h"} and store.arrays_at(run_id, 0) == (None, {})


def test_run_ids_that_do_not_exist_or_carry_sql_are_refused(tmp_path):
    with Store(tmp_path / "s.sqlite") as store:
        store.create_run(RunConfig())
        for bad in (99, "1; DROP TABLE runs", "1 OR 1=1"):
            with pytest.raises(StoreError):
                store.scalars(bad)
        assert len(store.runs()) == 1


def test_store_path_that_is_a_directory_or_not_a_store(tmp_path):
    with pytest.raises(StoreError, match="is a directory"):
        Store(tmp_path)
    (tmp_path / "text.sqlite").write_text("hello, not a database " * 100)
    with pytest.raises(StoreError, match="cannot be used as a run store"):
        Store(tmp_path / "text.sqlite")
    other = sqlite3.connect(tmp_path / "other.sqlite")
    other.execute("CREATE TABLE t (x)")
    other.commit()
    other.close()
    with pytest.raises(StoreError, match="not an rnnviz store"):
        Store(tmp_path / "other.sqlite")


def test_store_from_a_newer_schema_is_refused_untouched(tmp_path):
    path = tmp_path / "new.sqlite"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="newer rnnviz"):
        Store(path)
    assert path.read_bytes() == before


def test_delete_and_export(trained_store, tmp_path):
    out = tmp_path / "export"
    with Store(trained_store) as store:
        files = export_run(store, 1, out)
    names = {p.name for p in files}
    assert {"config.json", "scalars.csv", "grad_h.csv", "hist__h_all.csv"} <= names
    assert json.loads((out / "config.json").read_text())["cell"] == "rnn"
    header = (out / "scalars.csv").read_text().splitlines()[0].split(",")
    assert "loss" in header and "grad_norm/global" in header
    copy = tmp_path / "copy.sqlite"
    copy.write_bytes(trained_store.read_bytes())
    with Store(copy) as store:
        store.delete_run(1)
        assert store.runs()["run_id"].tolist() == [2]
        assert store.conn.execute("SELECT COUNT(*) FROM scalars WHERE run_id = 1").fetchone()[0] == 0


def test_a_store_made_where_one_was_deleted_does_not_take_its_checkpoints(tmp_path):
    path = tmp_path / "s.sqlite"
    with Store(path) as store:
        train(quick_config(steps=30, checkpoint_every=10), store)
        assert store.load_checkpoint(1)["step"] == 30
    path.unlink()
    with Store(path) as store:
        run_id = store.create_run(quick_config(cell="lstm"))
        assert run_id == 1 and store.load_checkpoint(run_id) is None  # a resume starts it from step 0


def test_killed_trainer_leaves_every_committed_step_readable(tmp_path):
    path = tmp_path / "kill.sqlite"
    cmd = [
        sys.executable,
        "-m",
        "rnnviz",
        "train",
        "--store",
        str(path),
        "--steps",
        "100000",
        "--threads",
        "1",
        "--batch-size",
        "32",
        "--probe-every",
        "10",
        "--data-dir",
        quick_config().data_dir,
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        reader = wait_for(lambda: path.exists() and Store(path))
        # another process reads while the trainer writes (the file can exist before run 1 is in it)
        seen = wait_for(lambda: len(reader.runs()) and reader.run(1)["step"] >= 40 and reader.run(1)["step"])
        assert reader.run(1)["status"] == "running"
        assert len(reader.scalars(1, ["loss"])) >= 40
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    with Store(path) as store:
        assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        run = store.run(1)
        assert run["status"] == "interrupted" and "ended without finishing" in run["error"]
        losses = store.scalars(1, ["loss"])
        assert losses["step"].tolist() == list(range(1, len(losses) + 1)) and len(losses) >= seen
        assert store.grad_flow(1)[1].shape[1] == 28


def test_background_run_starts_and_stops_on_request(tmp_path):
    with Store(tmp_path / "bg.sqlite") as store:
        run_id = runner.start(quick_config(steps=100000), store)
        wait_for(lambda: store.run(run_id)["step"] > 5)
        assert runner.active(store)["run_id"].tolist() == [run_id]
        runner.stop(store, run_id)
        asked = time.monotonic()
        wait_for(lambda: store.run(run_id)["status"] == "stopped", timeout=30)
        assert time.monotonic() - asked < 10
        assert runner.active(store).empty
        assert runner.log_path(store.path, run_id).exists()


def test_four_trainers_write_one_store_at_once_without_lock_errors(tmp_path):
    with Store(tmp_path / "four.sqlite") as store:
        ids = [
            runner.start(quick_config(steps=80, cell=cell, seed=i), store)
            for i, cell in enumerate(("rnn", "lstm", "gru", "rnn"))
        ]
        wait_for(lambda: runner.active(store).empty, timeout=120)
        runs = store.runs().set_index("run_id")
        assert runs.loc[ids, "status"].tolist() == ["finished"] * 4, runs[["status", "error"]]
        for run_id in ids:
            assert store.scalars(run_id, ["loss"])["step"].tolist() == list(range(1, 81))
            assert "locked" not in runner.log_path(store.path, run_id).read_text()


def test_full_disk_fails_the_run_clearly_and_keeps_what_was_committed(tmp_path):
    path = tmp_path / "full.sqlite"
    with Store(path) as store:
        run_id = store.create_run(quick_config())
        pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
        store.conn.execute(f"PRAGMA max_page_count = {pages + 300}")  # SQLite's view of a full disk
        result = train(quick_config(steps=5000, probe_every=5), store, run_id=run_id)
    assert result.status == "failed" and "full" in result.error and "Everything committed" in result.error
    with Store(path) as store:
        assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert store.run(run_id)["status"] == "failed"
        steps = store.scalars(run_id, ["loss"])["step"].tolist()
        assert steps and steps == list(range(1, len(steps) + 1))


def test_many_processes_opening_a_new_store_at_once(tmp_path):
    path = tmp_path / "race.sqlite"
    code = "import sys; from rnnviz.store import Store; Store(sys.argv[1]).create_run(__import__('rnnviz').RunConfig())"
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(path)], cwd=ROOT, stderr=subprocess.PIPE, text=True)
        for _ in range(8)
    ]
    errors = [p.communicate(timeout=60)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errors
    with Store(path) as store:
        assert len(store.runs()) == 8


def test_no_more_runs_than_the_cap_train_at_once(tmp_path):
    from rnnviz.config import ConfigError, Limits

    with Store(tmp_path / "cap.sqlite") as store:
        for _ in range(2):  # two runs training in this (live) process
            store.mark_running(store.create_run(quick_config()), os.getpid())
        runner.check_capacity(store, 1, Limits(active_runs=3))
        with pytest.raises(ConfigError, match="2 run\\(s\\) are training and at most 3 may train at once"):
            runner.check_capacity(store, 2, Limits(active_runs=3))


def test_export_refuses_a_file_as_directory_and_stays_inside(trained_store, tmp_path):
    target = tmp_path / "a-file"
    target.write_text("keep me")
    with Store(trained_store) as store:
        with pytest.raises(StoreError, match="exists and is not a directory"):
            export_run(store, 1, target)
        files = export_run(store, 1, tmp_path / "out" / ".." / "out")
    assert target.read_text() == "keep me"
    assert all(f.parent == (tmp_path / "out").resolve() for f in files)


def test_killed_run_resumes_from_its_checkpoint_to_the_uninterrupted_numbers(tmp_path):
    cfg = quick_config(steps=400, checkpoint_every=25, eval_every=200)
    with Store(tmp_path / "whole.sqlite") as store:
        whole = train(cfg, store)
        whole_loss = store.scalars(whole.run_id, ["loss"])["value"].to_numpy()
    path = tmp_path / "killed.sqlite"
    flags = [
        "--steps",
        "400",
        "--checkpoint-every",
        "25",
        "--eval-every",
        "200",
        "--batch-size",
        "32",
        "--probe-every",
        "10",
        "--probe-batch",
        "32",
        "--threads",
        "1",
        "--init",
        "glorot",
        "--data-dir",
        cfg.data_dir,
        "--store",
        str(path),
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "rnnviz", "train", *flags],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        reader = wait_for(lambda: path.exists() and Store(path))
        # the trainer opens the store before it creates its run: a reader may see the store without run 1
        wait_for(lambda: len(reader.runs()) and reader.run(1)["step"] >= 60)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    with Store(path) as store:
        assert store.run(1)["status"] == "interrupted"
        runner.check_resumable(store, 1)
        resumed = train(store.config(1), store, run_id=1, resume=True)
        loss = store.scalars(1, ["loss"])
        assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert resumed.status == "finished" and loss["step"].tolist() == list(range(1, 401))
    np.testing.assert_array_equal(loss["value"].to_numpy(), whole_loss)
    assert resumed.test_accuracy == whole.test_accuracy


def test_store_turned_read_only_mid_run_fails_it_clearly(tmp_path):
    path = tmp_path / "ro.sqlite"
    with Store(path) as store:
        run_id = store.create_run(quick_config())
        store.conn.execute("PRAGMA query_only = ON")  # every write from the trainer's connection now fails
        result = train(quick_config(steps=50), store, run_id=run_id)
    assert result.status == "failed" and "cannot write to the run store" in result.error
    assert "readonly" in result.error
    with Store(path) as store:
        assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert store.run(run_id)["status"] == "queued"  # nothing could be written, nothing was damaged


READ_ONLY_VIEWER = r"""
import json, sys
from rnnviz.store import Store, StoreError, export_run

store = Store(sys.argv[1])
runs = store.runs()
out = {
    "readonly": store.readonly,
    "statuses": dict(zip(runs["name"], runs["status"])),
    "loss_rows": len(store.scalars(1, ["loss"])),
    "grad_flow_shape": list(store.grad_flow(2)[1].shape),
    "exported": len(export_run(store, 1, sys.argv[2])),
    "errors": [],
}
for action in (lambda: store.delete_run(1), lambda: store.request_stop(2)):
    try:
        action()
        out["errors"].append(None)
    except StoreError as exc:
        out["errors"].append(str(exc))
print(json.dumps(out))
"""


def read_only_mount_works(tmp: Path) -> bool:
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", f"mount --bind {tmp} {tmp} && mount -o remount,bind,ro {tmp}"],
        capture_output=True,
    )
    return probe.returncode == 0


def test_store_on_read_only_media_is_browsed_and_left_unchanged(trained_store, tmp_path):
    """The viewer runs with the store's directory mounted read-only (a private mount namespace), as from
    a read-only medium. Everything reads; nothing is written, not even the dead run's status."""
    media, out = tmp_path / "media", tmp_path / "out"
    media.mkdir()
    if not shutil.which("unshare") or not read_only_mount_works(media):
        pytest.skip("cannot mount a read-only directory here (needs unshare and CAP_SYS_ADMIN)")
    path = media / "runs.sqlite"
    path.write_bytes(trained_store.read_bytes())
    with Store(path) as store:  # the LSTM's trainer died: still 'running' in the file
        store.conn.execute("UPDATE runs SET status = 'running', pid = 999999999 WHERE id = 2")
    before = path.read_bytes()
    viewer = shlex.join([sys.executable, "-c", READ_ONLY_VIEWER, str(path), str(out / "run1")])
    proc = subprocess.run(
        ["unshare", "-m", "sh", "-c", f"mount --bind {media} {media} && mount -o remount,bind,ro {media} && {viewer}"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert seen["readonly"] is True
    assert sorted(seen["statuses"].values()) == ["finished", "interrupted"], seen["statuses"]
    assert seen["loss_rows"] == 30 and seen["grad_flow_shape"][1] == 28 and seen["exported"] >= 3
    assert all(e and "read-only" in e for e in seen["errors"]), seen["errors"]
    assert path.read_bytes() == before and [p.name for p in media.iterdir()] == ["runs.sqlite"]
