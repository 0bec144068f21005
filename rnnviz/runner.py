"""Start, stop and list background trainer processes (one OS process per run, never a thread)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from .config import EXECUTION_ONLY, WATCHED, ConfigError, Limits, RunConfig, cores
from .store import ACTIVE, RESUMABLE, UNFINISHED, Status, Store, StoreError

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


def launch(configs: list[RunConfig], store: Store, limits: Limits, reuse: bool = False) -> list[int]:
    """Record a set of runs and start as many as the cap on runs at once allows; the rest wait, and each
    trainer that ends starts the next (see `start_waiting`). Returns every run id, in order. With `reuse`, a
    config that already has a run finished or on its way (see `reusable_runs`) keeps that run: the Remedies set
    launched after the blog pair reuses the pair, which keeps its ids, and so its colours, on every page."""
    for cfg in configs:
        cfg.validate()
        limits.check(cfg)
    before = reusable_runs(store) if reuse else {}
    ids = [before.get(_what(cfg.to_json())) or store.create_run(cfg, status=Status.WAITING) for cfg in configs]
    start_waiting(store, limits)
    return ids


def start_waiting(store: Store, limits: Limits) -> list[int]:
    """Start waiting runs while there are free slots under the cap; returns the ids started."""
    claimed = store.claim_waiting(limits.active_runs)
    for run_id in claimed:
        _spawn(store, run_id, "--active-runs", str(limits.active_runs))
    return claimed


def resume(store: Store, run_id: int) -> None:
    """Continue a run from its last checkpoint in a new trainer process."""
    check_resumable(store, run_id)
    _spawn(store, run_id, "--resume")


def share_of_cores(training: int) -> int:
    """Torch threads for each of `training` runs that train at once: the cores split evenly, at least 1."""
    return max(1, cores() // max(training, 1))


def _spawn(store: Store, run_id: int, *extra: str) -> None:
    # A run that leaves its threads to rnnviz (0) gets its share of the cores among the runs training now,
    # itself included: every run of a set claimed together is queued before the first trainer starts, so
    # they split the cores instead of each taking them all.
    training = set(active(store)["run_id"].astype(int)) | {run_id}
    threads = store.config(run_id).threads or share_of_cores(len(training))
    flags = ["--store", str(store.path), "--run-id", str(run_id), "--threads", str(threads), *extra]
    store.set_process(run_id, _background(["worker", *flags], log_path(store.path, run_id)))


def start_set(flags: list[str], store: Store) -> Path:
    """Start `rnnviz sweep FLAGS` in the background, like a trainer, so a set outlives the dashboard that
    started it; returns its log. The set shows in the store once Ray has started."""
    log = store.path.parent / "logs" / f"{store.path.stem}-set-{time.strftime('%Y%m%d-%H%M%S')}.log"
    _background(["sweep", *flags, "--store", str(store.path)], log)
    return log


def _background(args: list[str], log: Path) -> int:
    """`python -m rnnviz ARGS` in a new session (it outlives the Streamlit server, its reloads and its Ctrl-C),
    its output appended to `log`; returns its pid."""
    log.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PACKAGE_ROOT), env.get("PYTHONPATH", "")) if p)
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "rnnviz", *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    return proc.pid


def stop(store: Store, run_id: int) -> None:
    """Ask a run to stop; its trainer finishes the current step, saves, and exits within about a second."""
    store.request_stop(run_id)


def active(store: Store) -> pd.DataFrame:
    """Runs queued or training now (runs whose process died are marked interrupted first)."""
    runs = store.runs()
    return runs[runs["status"].isin(ACTIVE)]


def _what(config_json: str) -> str:
    """A config as JSON without the fields that only say how it was computed."""
    values = json.loads(config_json)
    return json.dumps({k: v for k, v in values.items() if k not in EXECUTION_ONLY}, sort_keys=True)


def finished_runs(store: Store) -> dict[str, int]:
    """The newest finished run of each config (threads and device aside), keyed by `_what`."""
    runs = store.runs()  # newest first
    done = runs[runs["status"] == Status.FINISHED]
    return {what: int(run_id) for run_id, what in zip(done["run_id"][::-1], map(_what, done["config"][::-1]))}


def reusable_runs(store: Store) -> dict[str, int]:
    """The newest run of each config (threads and device aside) that finished or has not ended yet (waiting,
    queued, training), keyed by `_what`: a set launched again needs none of them trained again."""
    runs = store.runs()  # newest first
    kept = runs[runs["status"].isin([Status.FINISHED, *UNFINISHED])]
    return {what: int(run_id) for run_id, what in zip(kept["run_id"][::-1], map(_what, kept["config"][::-1]))}


def _step_cost(cfg: RunConfig) -> tuple:
    """What sets the time of a training step: the cell, its size, the batch, the sequence and the probes."""
    return cfg.cell, cfg.hidden_size, cfg.batch_size, cfg.seq_len, cfg.probe_every


def steps_per_second(runs: pd.DataFrame, cfg: RunConfig) -> float | None:
    """How fast runs like cfg trained on this machine: the steps over the seconds of its finished runs of the
    same step cost (see `_step_cost`), data loading and evaluations included; None when it has none."""
    done = runs[(runs["status"] == Status.FINISHED) & (runs["seconds"] > 0) & (runs["host"] == socket.gethostname())]
    like = [
        i
        for i, config in zip(done.index, done["config"])
        if _step_cost(RunConfig.from_dict(json.loads(config))) == _step_cost(cfg)
    ]
    if not like:
        return None
    return float(done.loc[like, "step"].sum() / done.loc[like, "seconds"].sum())


def duration(runs: pd.DataFrame, configs: list[RunConfig]) -> float | None:
    """Seconds a set of runs started together takes on this machine: its slowest run's, at the speed that
    earlier runs like each of them trained at here; None when one of them has nothing to go by."""
    speeds = [steps_per_second(runs, cfg) for cfg in configs]
    if any(speed is None for speed in speeds):
        return None
    return max(cfg.steps / speed for cfg, speed in zip(configs, speeds) if speed)


def record(
    configs: list[RunConfig],
    store: Store,
    limits: Limits,
    report: Callable[[str], None] = print,
    poll_s: float = 2.0,
) -> list[int]:
    """Make sure every config has a finished run: reuse one recorded before, launch the rest (at most
    `limits.active_runs` at once) and wait for them. Returns the run ids in the order of `configs`.
    Ctrl-C stops the runs it launched (each keeps what it recorded)."""
    ids: dict[int, int] = {}
    finished = finished_runs(store)
    for k, cfg in enumerate(configs):
        before = finished.get(_what(cfg.to_json()))
        if before is not None:
            ids[k] = before
            report(f"{cfg.display_name}: recorded before as run {before}")
    todo = [k for k in range(len(configs)) if k not in ids]
    new = launch([configs[k] for k in todo], store, limits) if todo else []
    ids.update(zip(todo, new))
    pending = set(new)
    shown: dict[int, tuple] = {}
    try:
        while pending:
            runs = store.runs().set_index("run_id")
            for run_id in sorted(pending):
                row = runs.loc[run_id]
                state = (row["status"], int(row["step"]) * 10 // max(int(row["total_steps"]), 1))
                if shown.get(run_id) != state:
                    shown[run_id] = state
                    report(f"run {run_id} {row['name']}: {row['status']}, step {row['step']} of {row['total_steps']}")
                if row["status"] not in UNFINISHED:
                    pending.discard(run_id)
            if any(runs.loc[r, "status"] == Status.WAITING for r in pending):
                start_waiting(store, limits)  # in case a trainer died before starting the next
            if pending:
                time.sleep(poll_s)
    except KeyboardInterrupt:
        for run_id in pending:
            stop(store, run_id)
        report(f"stopped runs {', '.join(map(str, sorted(pending)))}; run the same command again to finish them")
        raise
    return [ids[k] for k in range(len(configs))]
