"""Sweeps on Ray: each run a Ray task asking for its CPUs and GPUs, every record sent to one writer.

Ray schedules the runs, places them on the machines of a cluster and retries a run whose worker or node died
(the retry goes on from the run's last checkpoint). The store stays one SQLite file on the machine where the
sweep was started: a `Writer` actor pinned to that machine owns it, and trainers anywhere send it their records
in batches (one call per `WriteBuffer` flush, every half second), never a SQLite file shared over a network.
The writer commits a batch before it answers, and Ray restarts it if it dies and retries the call: a record
that a trainer was told was committed is in the store, and one sent twice is written once (records are keyed
by run, name and step).

`ray` is imported inside the functions: a dashboard or a single run never waits for it.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import checkpoints, sweeps
from .config import Limits, RunConfig, cores
from .store import UNFINISHED, Status, Store
from .store.liveness import proc_start

if TYPE_CHECKING:
    import torch

RETRIES = 3  # times Ray runs a task again after its worker or node died
PACKAGE = Path(__file__).resolve().parent


class ClusterError(RuntimeError):
    """Ray could not be started or reached; the message says what to do."""


class SweepStopped(KeyboardInterrupt):
    """Ctrl-C stopped a sweep; its runs stopped at the end of a step and kept what they recorded."""

    def __init__(self, sweep_id: int) -> None:
        super().__init__(f"sweep {sweep_id} stopped")
        self.sweep_id = sweep_id


def connect(address: str | None = None) -> str:
    """Join the Ray cluster at `address` (else $RAY_ADDRESS), or start a local one sized to this machine's
    cores, without Ray's web dashboard; returns the cluster's address."""
    import ray

    if not ray.is_initialized():
        address = address or os.environ.get("RAY_ADDRESS") or None
        if address:
            _reachable(address)
        try:
            if address:
                # the nodes get this very rnnviz (the driver's), so a sweep never mixes versions
                ray.init(address=address, runtime_env={"py_modules": [str(PACKAGE)]}, log_to_driver=False)
            else:
                ray.init(num_cpus=cores(), include_dashboard=False, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = f"the Ray cluster at {address}" if address else "a local Ray"
            raise ClusterError(
                f"could not start or reach {where} ({type(exc).__name__}: {exc}); check the address "
                "(`ray status` on the head node prints it), or leave out --ray-address and $RAY_ADDRESS to "
                "run on this machine"
            ) from None
    return ray.get_runtime_context().gcs_address


def _reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail in seconds, not after Ray's minute of retries, when nothing listens at a cluster's address."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        return  # "auto" and the like: Ray finds the cluster itself
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise ClusterError(
            f"nothing answers at the Ray cluster address {address} ({exc.strerror or exc}); start the cluster "
            "(`ray start --head` prints its address), or leave out --ray-address and $RAY_ADDRESS to run on "
            "this machine"
        ) from None


class Writer:
    """The sweep's single writer: the only process that writes its runs' records into the store."""

    def __init__(self, store_path: str) -> None:
        self.store = Store(store_path)

    def call(self, method: str, *args: Any) -> Any:
        return getattr(self.store, method)(*args)

    def save_checkpoint(self, run_id: int, data: bytes) -> None:
        checkpoints.write(self.store.checkpoint_path(run_id), data)

    def load_checkpoint(self, run_id: int) -> bytes | None:
        path = self.store.checkpoint_path(run_id)
        return path.read_bytes() if path.exists() else None


class WriterClient:
    """A trainer's store (`RunStore`) on any machine of the cluster: every write is a call to the writer."""

    def __init__(self, writer: Any) -> None:
        self.writer = writer

    def _call(self, method: str, *args: Any) -> Any:
        import ray

        return ray.get(self.writer.call.remote(method, *args))

    def create_run(self, cfg: RunConfig) -> int:
        return self._call("create_run", cfg)

    def mark_running(self, run_id: int, pid: int) -> None:
        self._call("mark_running", run_id, pid, socket.gethostname(), proc_start(pid))

    def set_hist_edges(self, run_id: int, edges: dict[str, np.ndarray]) -> None:
        self._call("set_hist_edges", run_id, edges)

    def append(
        self,
        run_id: int,
        step: int,
        scalars: list[tuple[int, str, float]],
        arrays: list[tuple[int, str, np.ndarray]],
        summary: dict[str, float | None],
    ) -> bool:
        return self._call("append", run_id, step, scalars, arrays, summary)

    def truncate(self, run_id: int, step: int) -> None:
        self._call("truncate", run_id, step)

    def finish(self, run_id: int, status: Status, error: str | None = None, seconds: float | None = None) -> None:
        self._call("finish", run_id, status, error, seconds)

    def run(self, run_id: int) -> dict:
        return self._call("run", run_id)

    def save_checkpoint(self, run_id: int, step: int, model: torch.nn.Module, opt: torch.optim.Optimizer) -> None:
        import ray

        ray.get(self.writer.save_checkpoint.remote(run_id, checkpoints.dumps(step, model, opt)))

    def load_checkpoint(self, run_id: int) -> dict | None:
        import ray

        data = ray.get(self.writer.load_checkpoint.remote(run_id))
        return None if data is None else checkpoints.loads(data, f"run {run_id}'s checkpoint")


def train_run(run_id: int, writer: Any, threads: int) -> dict[str, Any]:
    """One run of a sweep, in a Ray worker: from its last checkpoint if an earlier attempt got that far."""
    from .trainer import train

    client = WriterClient(writer)
    row = client.run(run_id)
    if row["stop_requested"]:  # stopped while it waited for Ray
        return {"run_id": run_id, "status": row["status"]}
    cfg = RunConfig.from_dict(json.loads(row["config"])).replace(threads=threads)
    return train(cfg, client, run_id=run_id, resume=True).to_dict()


def run_sweep(
    spec: sweeps.SweepSpec,
    store: Store,
    name: str = "",
    address: str | None = None,
    cpus_per_run: float = 1,
    gpus_per_run: float = 0,
    report: Callable[[str], None] = print,
) -> int:
    """Record a sweep's runs and train them on Ray, waiting for all; returns the sweep's id. Ctrl-C stops its runs
    (each keeps what it recorded) and marks the sweep stopped."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    spec.validate(Limits.from_env())
    configs = spec.configs()
    address = connect(address)
    sweep_id = store.create_sweep(name or f"{spec.base.display_name} sweep", spec.to_json(), "ray", address)
    ids: list[int] = []
    queue: list[int] = []  # runs not handed to Ray yet
    failed = False
    try:  # from here on, Ctrl-C stops what the sweep has started and keeps it
        ids += [store.create_run(cfg, Status.WAITING, sweep_id) for cfg in configs]
        report(f"sweep {sweep_id}: {len(ids)} runs (runs {ids[0]}-{ids[-1]}) on Ray at {address}")
        here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
        writer = (
            ray.remote(Writer)
            .options(
                name=f"rnnviz-writer-{sweep_id}",
                num_cpus=0,
                max_restarts=-1,
                max_task_retries=-1,
                scheduling_strategy=here,
            )
            .remote(str(store.path))
        )
        task = ray.remote(train_run).options(num_cpus=cpus_per_run, num_gpus=gpus_per_run, max_retries=RETRIES)
        threads = max(1, int(cpus_per_run))
        # Ray hands a task's CPUs back while it waits in ray.get, and a trainer waits on the writer at every
        # flush: given every run at once, Ray started 5 runs on 2 cores. So no more runs are in flight than
        # the cluster's CPUs (and GPUs) hold at the runs' asking.
        slots = in_flight(ray.cluster_resources(), cpus_per_run, gpus_per_run)
        queue = list(ids)
        refs: dict[Any, int] = {}
        pending: list[Any] = []
        while queue or pending:
            while queue and len(pending) < slots:
                run_id = queue.pop(0)
                ref = task.remote(run_id, writer, threads)
                refs[ref] = run_id
                pending.append(ref)
            done, pending = ray.wait(pending, num_returns=1, timeout=5.0)
            for ref in done:
                run_id = refs[ref]
                try:
                    outcome = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    failed = True
                    error = f"Ray lost the run {RETRIES + 1} times ({type(exc).__name__}); run the sweep again"
                    store.finish(run_id, Status.FAILED, error)
                    report(f"run {run_id}: failed: {error}")
                    continue
                failed |= outcome["status"] == Status.FAILED
                accuracy = outcome.get("test_accuracy")
                shown = f", test accuracy {accuracy:.1%}" if accuracy is not None else ""
                finished = len(ids) - len(pending) - len(queue)
                report(f"run {run_id}: {outcome['status']}{shown} ({finished} of {len(ids)} done)")
    except KeyboardInterrupt:
        for run_id in queue:  # never started: nothing to wait for
            store.finish(run_id, Status.STOPPED)
        _stop_and_wait(store, ids)
        store.finish_sweep(sweep_id, Status.STOPPED)
        report(f"sweep {sweep_id} stopped; each run kept what it recorded")
        raise SweepStopped(sweep_id) from None
    store.finish_sweep(sweep_id, Status.FAILED if failed else Status.FINISHED)
    return sweep_id


def in_flight(resources: dict[str, float], cpus_per_run: float, gpus_per_run: float) -> int:
    """How many runs of a sweep a cluster with these resources (Ray's `cluster_resources()`) trains at once, each
    asking for cpus_per_run CPUs (above 0) and gpus_per_run GPUs."""
    slots = int(resources.get("CPU", 0) // cpus_per_run)
    if gpus_per_run:
        slots = min(slots, int(resources.get("GPU", 0) // gpus_per_run))
    return max(1, slots)


def _stop_and_wait(store: Store, run_ids: list[int], wait_s: float = 15.0) -> None:
    """Ask the runs to stop and wait until they have: each finishes its step, commits and saves (Ray ends
    a driver's tasks with it, so the driver must outlive them). Waits on the store, not on Ray, which may
    raise the same interrupt again; a second Ctrl-C leaves at once."""
    run_ids = [r for r in run_ids if store.run(r)["status"] in UNFINISHED]
    for run_id in run_ids:
        store.request_stop(run_id)
    deadline = time.monotonic() + wait_s
    try:
        while time.monotonic() < deadline and any(store.run(r)["status"] in UNFINISHED for r in run_ids):
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass


def progress_to_stderr(line: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {line}", file=sys.stderr, flush=True)
