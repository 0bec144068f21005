"""A sweep on Ray against the best local schedule of the same runs, Ray's start-up, and the single
writer's throughput.

    python bench/bench_sweep.py [--runs 8] [--steps 200] [--data-dir DIR]

1. The same `--runs` runs (quick-rnn, one thread each) three ways, timed in this one process:
   one after another in plain processes; as many at once as there are cores in plain processes (the best
   local schedule); and as a sweep on a local Ray (`cluster.run_sweep`, one CPU per run, Ray already started).
   Prints the ratio Ray / best local schedule (issue #16's target: at most 1.1).
2. Ray's start-up: seconds for `ray.init()` and the resident memory of Ray's processes once started.
3. The writer: records a second it commits when sent batches from a Ray task as trainers send them
   (one flush: `--batch` scalars, and ten times that), against the same batches written straight into
   SQLite.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rnnviz import cluster, sweeps  # noqa: E402
from rnnviz.config import cores, preset  # noqa: E402
from rnnviz.store import Store  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "mnist-10k"


def configs(n: int, steps: int, data_dir: str):
    base = preset("quick-rnn", steps=steps, probe_every=50, eval_every=steps, data_dir=data_dir, threads=1)
    return sweeps.SweepSpec(base, {}, n)


def plain(spec: sweeps.SweepSpec, store: Path, at_once: int) -> float:
    """The runs as `rnnviz train` processes, `at_once` at a time; seconds for all."""
    todo = spec.configs()
    t0 = time.monotonic()
    running: list[subprocess.Popen] = []
    while todo or running:
        while todo and len(running) < at_once:
            cfg = todo.pop(0)
            flags = ["--preset", "quick-rnn", "--steps", str(cfg.steps), "--probe-every", "50", "--eval-every",
                     str(cfg.steps), "--seed", str(cfg.seed), "--threads", "1", "--data-dir", cfg.data_dir]  # fmt: skip
            command = [sys.executable, "-m", "rnnviz", "train", *flags, "--store", str(store)]
            running.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT))
        time.sleep(0.05)
        running = [p for p in running if p.poll() is None]
    return time.monotonic() - t0


def ray_memory_mib() -> float:
    """Resident memory of Ray's processes: this process's descendants (the GCS and raylet it started, and
    their workers), from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            parents[int(pid)] = int(stat[stat.rindex(")") + 2 :].split()[1])
            status = Path(f"/proc/{pid}/status").read_text().splitlines()
            rss[int(pid)] = next((int(line.split()[1]) for line in status if line.startswith("VmRSS:")), 0)
        except (OSError, ValueError):
            continue
    mine, grew = {os.getpid()}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in mine} - mine
        mine |= more
        grew = bool(more)
    return sum(rss.get(pid, 0) for pid in mine - {os.getpid()}) / 1024


def writer_throughput(path: Path, batch: int, seconds: float) -> tuple[float, float]:
    """Scalars a second committed through the writer actor (from a Ray task) and straight into SQLite."""
    import ray

    with Store(path) as store:
        direct_id = store.create_run(preset("quick-rnn"))
        remote_id = store.create_run(preset("quick-rnn"))
        rows = lambda step: [(step, f"s{k}", float(k)) for k in range(batch)]  # noqa: E731
        n, t0 = 0, time.monotonic()
        while time.monotonic() - t0 < seconds:
            n += 1
            store.append(direct_id, n, rows(n), [], {})
        direct = n * batch / (time.monotonic() - t0)
    writer = ray.remote(cluster.Writer).options(num_cpus=0).remote(str(path))

    @ray.remote(num_cpus=1)
    def send(run_id: int, batch: int, seconds: float) -> float:
        client = cluster.WriterClient(writer)
        client.run(run_id)  # the actor has started
        n, t0 = 0, time.monotonic()
        while time.monotonic() - t0 < seconds:
            n += 1
            client.append(run_id, n, [(n, f"s{k}", float(k)) for k in range(batch)], [], {})
        return n * batch / (time.monotonic() - t0)

    through = ray.get(send.remote(remote_id, batch, seconds))
    ray.kill(writer)
    return through, direct


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch", type=int, default=600, help="scalars in one flush (12 a step, 50 steps)")
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA))
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    spec = configs(args.runs, args.steps, args.data_dir)
    print(f"{args.runs} quick-rnn runs of {args.steps} steps, one thread each, {cores()} cores; load {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        one_by_one = plain(spec, tmp_path / "serial.sqlite", 1)
        print(f"plain processes, one after another:      {one_by_one:6.1f} s")
        best = plain(spec, tmp_path / "local.sqlite", cores())
        print(f"plain processes, {cores()} at once (best local): {best:6.1f} s")
        import ray

        t0 = time.monotonic()
        cluster.connect()
        started = time.monotonic() - t0
        memory = ray_memory_mib()
        with Store(tmp_path / "ray.sqlite") as store:
            t0 = time.monotonic()
            cluster.run_sweep(spec, store, report=lambda line: None)
            on_ray = time.monotonic() - t0
        print(f"the sweep on Ray ({cores()} CPUs, 1 a run):   {on_ray:6.1f} s")
        print(f"ratio Ray / best local schedule: {on_ray / best:.2f}x (target <= 1.10); "
              f"Ray / one after another: {on_ray / one_by_one:.2f}x")  # fmt: skip
        print(f"Ray start-up: {started:.1f} s; Ray's processes hold {memory:.0f} MiB once started")
        for batch in (args.batch, 10 * args.batch):
            through, direct = writer_throughput(tmp_path / f"writer-{batch}.sqlite", batch, 5.0)
            print(f"writer, batches of {batch}: {through:,.0f} scalars/s through the actor from a Ray task, "
                  f"{direct:,.0f} scalars/s straight into SQLite ({through / direct:.2f}x)")  # fmt: skip
        ray.shutdown()


if __name__ == "__main__":
    main()
