"""Start, stop and list background trainer processes (one OS process per run, never a thread)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from .config import ConfigError, Limits, RunConfig
from .store import ACTIVE, Store, StoreError

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def log_path(store_path: Path, run_id: int) -> Path:
    """Where a background run's stdout and stderr go: beside the store."""
    return store_path.parent / "logs" / f"{store_path.stem}-run-{run_id}.log"


def check_capacity(store: Store, new_runs: int, limits: Limits) -> None:
    """Refuse to start runs beyond the cap on runs training at once."""
    running = len(active(store))
    if running + new_runs > limits.active_runs:
        raise ConfigError(
            "active_runs",
            f"{running} run(s) are training and at most {limits.active_runs} may train at once; stop one first "
            f"(or raise ${Limits.env_name('active_runs')})",
        )


RESUMABLE = ("stopped", "failed", "interrupted")


WATCHED = "external"  # the dataset of runs recorded by rnnviz.watch


def check_resumable(store: Store, run_id: int) -> None:
    if store.config(run_id).dataset == WATCHED:
        raise StoreError(f"run {run_id} was recorded by rnnviz.watch from your own loop; rnnviz cannot continue it")
    status = store.run(run_id)["status"]
    if status not in RESUMABLE:
        raise StoreError(f"run {run_id} is {status}; only {', '.join(RESUMABLE)} runs can be resumed")


def start(cfg: RunConfig, store: Store) -> int:
    """Queue a run and start its trainer process; returns the run id at once."""
    cfg.validate()
    run_id = store.create_run(cfg)
    _spawn(store, run_id)
    return run_id


def resume(store: Store, run_id: int) -> None:
    """Continue a run from its last checkpoint in a new trainer process."""
    check_resumable(store, run_id)
    _spawn(store, run_id, "--resume")


def _spawn(store: Store, run_id: int, *extra: str) -> None:
    log = log_path(store.path, run_id)
    log.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PACKAGE_ROOT), env.get("PYTHONPATH", "")) if p)
    with open(log, "ab") as out:
        # A new session: the trainer outlives the Streamlit server, its reloads and its Ctrl-C.
        proc = subprocess.Popen(
            [sys.executable, "-m", "rnnviz", "worker", "--store", str(store.path), "--run-id", str(run_id), *extra],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    store.set_process(run_id, proc.pid)


def stop(store: Store, run_id: int) -> None:
    """Ask a run to stop; its trainer finishes the current step, saves, and exits within about a second."""
    store.request_stop(run_id)


def active(store: Store) -> pd.DataFrame:
    """Runs queued or training now (runs whose process died are marked interrupted first)."""
    runs = store.runs()
    return runs[runs["status"].isin(ACTIVE)]
