"""Instrumented training against a plain PyTorch loop: the marginal cost of a step, measured in lockstep.

For each cell (the blog's RNN and LSTM, and a GRU at the same settings) and each thread count, rnnviz's trainer
runs with the default config (every statistic, the probe and its Jacobian chain) and without the chain
(jacobian_examples 0), in turn and rotated every repeat. Each trainer runs in lockstep with a plain fused loop
(the same model, data, optimiser and batch order, the validation split evaluated at the same steps, nothing
recorded): after each of the trainer's steps, from its per-step stop check, the plain loop takes the same step,
so both see the same machine at the same moment. A machine that other work shares slows both alike, where
runs measured one after the other had met different loads (ranges of 0.85-0.97x for one figure). The cost of
a step is the time between two stop checks less the plain step taken there, summed between --from and
--steps (start-up, the first steps and the end's evaluation and probe excluded), in wall-clock time and in the
process's CPU time (rnnviz's trainer runs no thread of its own, so the process's CPU between two readings is
the step's). A ratio is plain / instrumented; the median and the range over the repeats are printed, with the
probe's own cost in ms.

With more than one thread the CPU time is not the step's cost: OpenMP's idle threads spin (GNU OpenMP's
default wait policy), so the plain loop's two threads burned 14x one thread's CPU for the same work. Read the
wall-clock ratio there, or run with OMP_WAIT_POLICY=passive in the environment, so that idle threads sleep and
the CPU time counts work again; the policy is printed with each line.

    python bench/bench_training.py [--steps 1200] [--from 200] [--repeats 3] [--threads 1 2]
        [--cells rnn lstm gru] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rnnviz import data as datamod  # noqa: E402
from rnnviz.config import RunConfig, preset  # noqa: E402
from rnnviz.models import build_model, loss_fn  # noqa: E402
from rnnviz.probes import evaluate, probe  # noqa: E402
from rnnviz.store import Store  # noqa: E402
from rnnviz.trainer import batch_order, train  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mnist-10k"
VARIANTS = ("plain", "rnnviz", "rnnviz, no chain")


def config(cell: str, steps: int, data_dir: str, threads: int) -> RunConfig:
    """The blog's settings for the cell (the GRU: the blog RNN's, with a GRU cell); the default diagnostics."""
    name = "blog-lstm" if cell == "lstm" else "blog-rnn"
    base = RunConfig().jacobian_examples  # the default config's chain, whatever the preset records
    return preset(name, cell=cell, steps=steps, data_dir=data_dir, threads=threads, jacobian_examples=base)


def clocks() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def fused_step(model: torch.nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor) -> None:
    """A plain training step: the fused forward and backward pass and the update, nothing recorded."""
    logits, _ = model(x)
    loss = loss_fn(logits, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


class Plain:
    """The plain loop, a step at a time: the trainer's model, data split, batches and optimiser, the validation
    split evaluated at the same steps, nothing recorded."""

    def __init__(self, cfg: RunConfig) -> None:
        self.cfg = cfg
        train_split, _ = datamod.load(cfg.dataset, cfg.data_dir, progress=False)
        images = datamod.sequences(train_split.images, cfg.seq_len)
        labels = torch.from_numpy(train_split.labels.astype(np.int64))
        train_idx, val_idx = (torch.from_numpy(i) for i in datamod.validation_split(len(images), cfg.seed))
        self.xs, self.ys = images[train_idx], labels[train_idx]
        self.val_x, self.val_y = images[val_idx], labels[val_idx]
        torch.manual_seed(cfg.seed)
        self.model = build_model(cfg)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        self.batches = batch_order(len(self.xs), cfg.batch_size, torch.Generator().manual_seed(cfg.seed))

    def step(self, step: int) -> None:
        idx = next(self.batches)
        fused_step(self.model, self.opt, datamod.to_float(self.xs[idx]), self.ys[idx])
        if step % self.cfg.eval_every == 0 and step < self.cfg.steps:
            evaluate(self.model, self.val_x, self.val_y, datamod.to_float)


def lockstep(cfg: RunConfig, start: int, store_path: Path) -> tuple[tuple[float, float], tuple[float, float]]:
    """ms per step (wall, CPU) between `start` and cfg.steps of the plain loop and of rnnviz's trainer, run in
    lockstep: at each of the trainer's per-step stop checks the plain loop takes the same step."""
    plain = Plain(cfg)
    spent = {"plain": [0.0, 0.0], "rnnviz": [0.0, 0.0]}
    at = {"step": 0, "clock": clocks()}

    def tick() -> bool:
        at["step"] += 1
        now = clocks()
        if at["step"] > start:
            spent["rnnviz"][0] += now[0] - at["clock"][0]
            spent["rnnviz"][1] += now[1] - at["clock"][1]
        plain.step(at["step"])
        after = clocks()
        if at["step"] > start:
            spent["plain"][0] += after[0] - now[0]
            spent["plain"][1] += after[1] - now[1]
        at["clock"] = after
        return False

    with Store(store_path) as store:
        result = train(cfg, store, should_stop=tick)
    assert result.status == "finished", result.error
    assert at["step"] == cfg.steps, at
    n = cfg.steps - start
    return (spent["plain"][0] * 1000 / n, spent["plain"][1] * 1000 / n), (
        spent["rnnviz"][0] * 1000 / n,
        spent["rnnviz"][1] * 1000 / n,
    )


def probe_ms(cfg: RunConfig, examples: int, repeats: int = 5) -> float:
    """The probe's own cost at the cell's settings: median ms of `repeats` probes of 100 test digits."""
    _, test = datamod.load(cfg.dataset, cfg.data_dir, progress=False)
    x = datamod.to_float(datamod.sequences(test.images[: cfg.probe_batch], cfg.seq_len))
    y = torch.from_numpy(test.labels[: cfg.probe_batch].astype(np.int64))
    torch.manual_seed(cfg.seed)
    model = build_model(cfg)
    probe(model, x, y, cfg.saturation, cfg.hist_bins, examples)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        probe(model, x, y, cfg.saturation, cfg.hist_bins, examples)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=1200)
    ap.add_argument("--from", dest="start", type=int, default=200, help="the marginal cost is taken from this step")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--cells", nargs="+", default=["rnn", "lstm", "gru"])
    ap.add_argument("--data-dir", default=str(DEFAULT_DATA))
    args = ap.parse_args()
    torch.set_flush_denormal(True)  # as rnnviz's trainer does, so every variant computes the same way
    report = []
    for threads in args.threads:
        torch.set_num_threads(threads)  # the trainer sets the same from cfg.threads
        for cell in args.cells:
            cfg = config(cell, args.steps, args.data_dir, threads)
            chainless = cfg.replace(jacobian_examples=0)
            ms: dict[str, list[tuple[float, float]]] = {v: [] for v in VARIANTS}
            ratios: dict[tuple[str, int], list[float]] = {(v, k): [] for v in VARIANTS[1:] for k in (0, 1)}
            load = os.getloadavg()[0]
            with tempfile.TemporaryDirectory() as tmp:
                lockstep(cfg.replace(steps=30), 10, Path(tmp) / "warm-up.sqlite")  # imports, allocator, data
                for r in range(args.repeats):
                    for v in VARIANTS[1:][r % 2 :] + VARIANTS[1:][: r % 2]:  # none always first
                        run_cfg = cfg if v == "rnnviz" else chainless
                        plain, ours = lockstep(run_cfg, args.start, Path(tmp) / f"{r}-{v}.sqlite")
                        ms["plain"].append(plain)
                        ms[v].append(ours)
                        for k in (0, 1):  # each ratio pairs a trainer with the plain loop run in lockstep with it
                            ratios[v, k].append(plain[k] / ours[k])
            probe_cost = {e: probe_ms(cfg, e) for e in (0, cfg.jacobian_examples)}
            row = {
                "cell": cell,
                "threads": threads,
                "ms_per_step_wall": {v: round(statistics.median(t[0] for t in m), 3) for v, m in ms.items()},
                "ms_per_step_cpu": {v: round(statistics.median(t[1] for t in m), 3) for v, m in ms.items()},
                **{
                    f"ratio_{'cpu' if k else 'wall'}": {
                        v: [
                            round(statistics.median(ratios[v, k]), 3),
                            round(min(ratios[v, k]), 3),
                            round(max(ratios[v, k]), 3),
                        ]
                        for v in VARIANTS[1:]
                    }
                    for k in (0, 1)
                },  # fmt: skip
                "probe_ms": {str(e): round(c, 1) for e, c in probe_cost.items()},
                "probe_every": cfg.probe_every,
                "load_average": [round(load, 2), round(os.getloadavg()[0], 2)],
                "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default (active)"),
            }
            report.append(row)
            shown = " | ".join(
                f"{v}: wall {w[0]:.3f}x ({w[1]:.3f}-{w[2]:.3f}), CPU {c[0]:.3f}x ({c[1]:.3f}-{c[2]:.3f})"
                for v in VARIANTS[1:]
                for w, c in [(row["ratio_wall"][v], row["ratio_cpu"][v])]
            )
            probes = ", ".join(f"{c:.1f} ms with {e} Jacobian example(s)" for e, c in probe_cost.items())
            print(
                f"{cell:4s} {threads} thread(s): plain {row['ms_per_step_wall']['plain']:.2f} ms/step wall, "
                f"{row['ms_per_step_cpu']['plain']:.2f} CPU | {shown} | probe {probes}, every {cfg.probe_every} "
                f"steps | load {row['load_average']} | OMP_WAIT_POLICY {row['omp_wait_policy']}",
                flush=True,
            )
    print(json.dumps({"steps": args.steps, "from": args.start, "repeats": args.repeats, "results": report}))


if __name__ == "__main__":
    main()
