"""Instrumented training against a plain PyTorch loop: the marginal cost of a step, measured in the same run.

For each cell (the blog's RNN and LSTM, and a GRU at the same settings) and each thread count, three variants
run in turn, A/B/C interleaved and rotated every repeat: the plain fused loop (the same model, data, optimiser
and batch order, the validation split evaluated at the same steps, nothing recorded), rnnviz's trainer with the
default config (every statistic, the probe and its Jacobian chain), and the trainer without the chain
(jacobian_examples 0). Each run's time per step is its marginal cost between --from and --steps (start-up, the
first steps and the end's evaluation and probe excluded), in wall-clock time and in the process's CPU time
(steadier than the wall clock on a machine other work shares). A ratio is plain / instrumented, paired with
the plain run of the same repeat; the median and the range over the repeats are printed, with the probe's own
cost in ms.

With more than one thread the CPU time is not the step's cost: OpenMP's idle threads spin (GNU OpenMP's
default wait policy), so the plain loop's two threads burned 14x one thread's CPU for the same work. Read the
wall-clock ratio there (each repeat's pair runs back to back, the median over the repeats), or run with
OMP_WAIT_POLICY=passive in the environment, which every variant of the run shares, so that idle threads sleep
and the CPU time counts work again; the policy is printed with each line.

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


def per_step(a: tuple[float, float], b: tuple[float, float], steps: int) -> tuple[float, float]:
    """ms per step of wall-clock time and of the process's CPU time between two (wall, cpu) clock readings."""
    return (b[0] - a[0]) * 1000 / steps, (b[1] - a[1]) * 1000 / steps


def clocks() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def plain_loop(cfg: RunConfig, start: int) -> tuple[float, float]:
    """ms per step (wall, CPU) between `start` and cfg.steps: the trainer's model, data split, batches and
    optimiser, the validation split evaluated at the same steps, nothing recorded."""
    train_split, _ = datamod.load(cfg.dataset, cfg.data_dir, progress=False)
    images = datamod.sequences(train_split.images, cfg.seq_len)
    labels = torch.from_numpy(train_split.labels.astype(np.int64))
    train_idx, val_idx = (torch.from_numpy(i) for i in datamod.validation_split(len(images), cfg.seed))
    xs, ys, val_x, val_y = images[train_idx], labels[train_idx], images[val_idx], labels[val_idx]
    torch.manual_seed(cfg.seed)
    model = build_model(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    batches = batch_order(len(xs), cfg.batch_size, torch.Generator().manual_seed(cfg.seed))
    t0 = clocks()
    for step in range(1, cfg.steps + 1):
        idx = next(batches)
        logits, _ = model(datamod.to_float(xs[idx]))
        loss = loss_fn(logits, ys[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % cfg.eval_every == 0 and step < cfg.steps:
            evaluate(model, val_x, val_y, datamod.to_float)
        if step == start:
            t0 = clocks()
    return per_step(t0, clocks(), cfg.steps - start)


def instrumented(cfg: RunConfig, start: int, store_path: Path) -> tuple[float, float]:
    """ms per step (wall, CPU) between `start` and cfg.steps of rnnviz's trainer, timed from its per-step stop
    check."""
    calls: list[tuple[float, float]] = []

    def tick() -> bool:
        calls.append(clocks())
        return False

    with Store(store_path) as store:
        result = train(cfg, store, should_stop=tick)
    assert result.status == "finished", result.error
    return per_step(calls[start - 1], calls[cfg.steps - 1], cfg.steps - start)


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
            load = os.getloadavg()[0]
            with tempfile.TemporaryDirectory() as tmp:
                plain_loop(cfg.replace(steps=30), 10)  # warm-up: imports, allocator, data cache
                for r in range(args.repeats):
                    for v in VARIANTS[r % 3 :] + VARIANTS[: r % 3]:  # A/B/C, B/C/A, C/A/B: none always first
                        if v == "plain":
                            ms[v].append(plain_loop(cfg, args.start))
                        else:
                            run_cfg = cfg if v == "rnnviz" else chainless
                            ms[v].append(instrumented(run_cfg, args.start, Path(tmp) / f"{r}-{v}.sqlite"))
            probe_cost = {e: probe_ms(cfg, e) for e in (0, cfg.jacobian_examples)}
            # each repeat's ratio pairs an instrumented run with the plain run of the same repeat
            ratios = {(v, k): [p[k] / i[k] for p, i in zip(ms["plain"], ms[v])] for v in VARIANTS[1:] for k in (0, 1)}
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
