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

from . import data as datamod
from . import roles
from .config import EXECUTION_ONLY, WATCHED, ConfigError, Limits, RunConfig, cores
from .store import ACTIVE, RESUMABLE, UNFINISHED, Status, Store, StoreError
from .store.liveness import proc_start, process_alive

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
# A warm trainer waits this long to be handed a run, then exits.
STANDBY_IDLE_S = 3600.0


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
    ids = [before.get(_result_key(cfg.to_json())) or store.create_run(cfg, status=Status.WAITING) for cfg in configs]
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
    log = log_path(store.path, run_id)
    pid = _take_standby(store.path)
    if pid is None:
        store.set_process(run_id, _background(["worker", *flags], log))
    else:
        store.set_process(run_id, pid)
        _hand_over(store.path, pid, flags, log)


# ---- warm trainers ----
# A new trainer process spends about 2.5 s before its first step here: 1.5 s importing torch and rnnviz, and
# 1 s in the optimiser's first use (torch imports its compiler to guard it). That is most of the wait between
# a click on Train and the first point, so the pages that start runs keep trainers waiting with that paid
# (`ensure_standby`). Written by hand because the trainers must outlive the Streamlit server (a
# multiprocessing pool dies with it) and Ray takes 4-9 s and 645 MiB to start. The hand-over is files beside
# the store, each named by the standby's pid and renamed atomically, so two launchers never take the same one:
#   <pid>.warming (written by its launcher) -> <pid>.ready (warm) -> <pid>.taken -> <pid>.job (the worker's
#   flags and log), which the standby reads and then trains as `rnnviz worker` would.


def standbys_wanted() -> int:
    """How many warm trainers to keep: $RNNVIZ_STANDBY (0 turns them off), else 2, one per run of the pair."""
    value = os.environ.get("RNNVIZ_STANDBY", "2")
    try:
        return max(int(value), 0)
    except ValueError:
        raise ConfigError("standby", f"$RNNVIZ_STANDBY must be a number of warm trainers, not {value!r}") from None


def standby_dir(store_path: Path) -> Path:
    return store_path.parent / "standby" / store_path.stem


def _standby_files(store_path: Path) -> list[tuple[Path, int, bool]]:
    """The standby files that hold their process's start time (.warming, .ready, .taken): (path, pid, whether
    that process still lives). A dead one's files are removed, its job too."""
    found = []
    for path in sorted(standby_dir(store_path).glob("*.*")):
        if not path.stem.isdigit() or path.suffix not in (".warming", ".ready", ".taken"):
            continue
        try:
            alive = process_alive(int(path.stem), path.read_text() or None)
        except FileNotFoundError:
            continue  # taken or handed over just now
        if not alive:
            path.unlink(missing_ok=True)
            path.with_suffix(".job").unlink(missing_ok=True)
        found.append((path, int(path.stem), alive))
    return found


def ensure_standby(store: Store) -> list[int]:
    """Start warm trainers until `standbys_wanted` wait for this store; returns the pids started. None start
    while runs train: their imports would take the cores from those runs, and after them a page starts
    them again."""
    want = standbys_wanted()
    if not want or store.readonly or len(active(store)):
        return []
    files = _standby_files(store.path)
    waiting = {pid for path, pid, alive in files if alive and path.suffix in (".warming", ".ready")}
    started = []
    for _ in range(want - len(waiting)):
        args = ["standby", "--store", str(store.path), "--launcher", str(os.getpid())]
        pid = _background(args, store.path.parent / "logs" / "standby.log")
        _write_atomic(standby_dir(store.path) / f"{pid}.warming", proc_start(pid) or "")
        started.append(pid)
    return started


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _take_standby(store_path: Path) -> int | None:
    """Take a warm trainer (or one warming up, which is still ahead of a new process); its pid, or None."""
    files = [(path, pid) for path, pid, alive in _standby_files(store_path) if alive]
    for path, pid in sorted(files, key=lambda f: f[0].suffix != ".ready"):
        if path.suffix not in (".ready", ".warming"):
            continue
        taken = path.with_suffix(".taken")
        try:
            os.rename(path, taken)  # atomic: of two launchers, one wins
        except FileNotFoundError:
            continue
        if process_alive(pid, taken.read_text() or None):
            return pid
        taken.unlink(missing_ok=True)
    return None


def _hand_over(store_path: Path, pid: int, flags: list[str], log: Path) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(standby_dir(store_path) / f"{pid}.job", json.dumps({"flags": flags, "log": str(log)}))


def stand_by(
    store_path: Path, warm_up: Callable[[], None], launcher: int, idle_s: float = STANDBY_IDLE_S
) -> dict | None:
    """Run in a standby process: warm up, then wait to be handed a run. Returns the job (the worker's flags
    and its log), or None once it has waited `idle_s`, the store is gone or the dashboard that started it
    has ended (a run handed over outlives the dashboard, as a spawned one does)."""
    me, folder = os.getpid(), standby_dir(store_path)
    warm_up()
    mine = {suffix: folder / f"{me}{suffix}" for suffix in (".warming", ".ready", ".taken", ".job")}
    try:
        os.rename(mine[".warming"], mine[".ready"])
    except FileNotFoundError:
        if not (mine[".taken"].exists() or mine[".job"].exists()):  # its launcher wrote no file: say it is here
            _write_atomic(mine[".ready"], proc_start(me) or "")
    deadline, taken = time.monotonic() + idle_s, False
    while not mine[".job"].exists():
        if time.monotonic() > deadline or not store_path.exists() or os.getppid() != launcher:
            try:
                mine[".ready"].unlink()  # no launcher can take it now
            except FileNotFoundError:
                if not taken:  # taken a moment ago: its job follows
                    deadline, taken = time.monotonic() + 10, True
                    continue
            for path in mine.values():
                path.unlink(missing_ok=True)
            return None
        time.sleep(0.05)
    job = json.loads(mine[".job"].read_text())
    for path in mine.values():
        path.unlink(missing_ok=True)
    return job


def start_sweep(flags: list[str], store: Store, command: str = "sweep") -> Path:
    """Start `rnnviz sweep FLAGS` (or another command that runs a sweep, `horizon`) in the background, like a
    trainer, so a sweep outlives the dashboard that started it; returns its log. The sweep shows in the store once
    Ray has started."""
    log = store.path.parent / "logs" / f"{store.path.stem}-{command}-{time.strftime('%Y%m%d-%H%M%S')}.log"
    _background([command, *flags, "--store", str(store.path)], log)
    return log


def _background(args: list[str], log: Path) -> int:
    """`python -m rnnviz ARGS` in a new session (it outlives the Streamlit server, its reloads and its Ctrl-C),
    its output appended to `log`; returns its pid. Every trainer, warm trainer and sweep starts here."""
    roles.require("start trainers", StoreError)
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


def _result_key(config_json: str) -> str:
    """A config as JSON without the fields that only say how it was computed."""
    values = json.loads(config_json)
    return json.dumps({k: v for k, v in values.items() if k not in EXECUTION_ONLY}, sort_keys=True)


def _newest(runs: pd.DataFrame, statuses: list[str]) -> dict[str, int]:
    """Of a runs table (newest first), the newest run with one of these statuses of each config (threads and
    device aside), keyed by `_result_key`."""
    kept = runs[runs["status"].isin(statuses)]
    return {what: int(run_id) for run_id, what in zip(kept["run_id"][::-1], map(_result_key, kept["config"][::-1]))}


def finished_runs(store: Store) -> dict[str, int]:
    """The newest finished run of each config (threads and device aside), keyed by `_result_key`."""
    return _newest(store.runs(), [Status.FINISHED])


def reusable_runs(store: Store) -> dict[str, int]:
    """The newest run of each config (threads and device aside) that finished or has not ended yet (waiting,
    queued, training), keyed by `_result_key`: a set launched again needs none of them trained again."""
    return _newest(store.runs(), [Status.FINISHED, *UNFINISHED])


def training_runs(runs: pd.DataFrame, configs: list[RunConfig]) -> list[int] | None:
    """From a runs table, the newest run of each config (threads and device aside) that has not ended, if every
    config has one: that set trains already, and a second start would train it twice."""
    newest = _newest(runs, list(UNFINISHED))
    ids = [newest.get(_result_key(cfg.to_json())) for cfg in configs]
    return [i for i in ids if i is not None] if None not in ids else None


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


def planned_steps(cfg: RunConfig) -> int | None:
    """The steps a run of cfg trains: its steps, or its epochs over its training split (None when that split is
    not on this machine)."""
    if not cfg.epochs:
        return cfg.steps
    try:
        n = datamod.train_count(cfg.dataset, cfg.data_dir)
    except datamod.DataError:
        return None
    return cfg.total_steps(n) if n is not None else None


def duration(runs: pd.DataFrame, configs: list[RunConfig]) -> float | None:
    """Seconds a set of runs started together takes on this machine: its slowest run's, at the speed that
    earlier runs like each of them trained at here; None when one of them has nothing to go by."""
    speeds = [steps_per_second(runs, cfg) for cfg in configs]
    steps = [planned_steps(cfg) for cfg in configs]
    if any(speed is None for speed in speeds) or any(n is None for n in steps):
        return None
    return max(n / speed for n, speed in zip(steps, speeds) if n and speed)


def launch_and_wait(
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
        before = finished.get(_result_key(cfg.to_json()))
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
