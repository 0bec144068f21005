"""Steps per second against the length T of the adding problem, for each cell: a plain fused loop (the baseline,
no recording) and rnnviz's trainer as the memory horizon runs it (probes and evaluations at its schedule), with
the ratio of the two and each one's ratio to its own speed at the shortest T, all measured in this same run.

    python bench/bench_memory.py [--lengths 10,40,100,400] [--steps 60] [--hidden-size 32] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rnnviz import tasks  # noqa: E402
from rnnviz.config import RunConfig  # noqa: E402
from rnnviz.models import build_model, loss_fn  # noqa: E402
from rnnviz.store import Store  # noqa: E402
from rnnviz.trainer import batch_order, train  # noqa: E402


def plain(cfg: RunConfig) -> float:
    """Steps/s of the fused model and Adam on the task's batches, nothing recorded."""
    data = tasks.load(cfg)
    torch.manual_seed(cfg.seed)
    model = build_model(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    batches = batch_order(len(data.train_x), cfg.batch_size, torch.Generator().manual_seed(cfg.seed))
    t0 = time.perf_counter()
    for _ in range(cfg.steps):
        idx = next(batches)
        out, _ = model(data.inputs(data.train_x[idx]))
        loss = loss_fn(out, data.train_y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return cfg.steps / (time.perf_counter() - t0)


def instrumented(cfg: RunConfig) -> float:
    """Steps/s of rnnviz's trainer, everything recorded, from the first step to the end (data included)."""
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "runs.sqlite") as store:
        result = train(cfg, store)
    return cfg.steps / result.seconds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lengths", default="10,40,100,400")
    p.add_argument("--cells", default="rnn,lstm,gru")
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--hidden-size", type=int, default=32)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    lengths = [int(t) for t in args.lengths.split(",")]
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", file=sys.stderr)
    rows = []
    for cell in args.cells.split(","):
        first: dict[str, float] = {}
        for T in lengths:
            # the memory horizon's schedule: six probes and evaluations over the run
            every = max(args.steps // 6, 1)
            cfg = RunConfig(task="adding", length=T, cell=cell, hidden_size=args.hidden_size, batch_size=50,
                            lr=0.01, steps=args.steps, probe_every=every, eval_every=every,
                            checkpoint_every=args.steps, threads=args.threads)  # fmt: skip
            speeds = {"plain": plain(cfg), "rnnviz": instrumented(cfg)}
            first = first or speeds
            row = {"cell": cell, "T": T, **{f"{k}_steps_per_s": round(v, 1) for k, v in speeds.items()}}
            row["rnnviz_vs_plain"] = round(speeds["rnnviz"] / speeds["plain"], 2)
            row["plain_vs_shortest_T"] = round(speeds["plain"] / first["plain"], 3)
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}", file=sys.stderr)


if __name__ == "__main__":
    main()
