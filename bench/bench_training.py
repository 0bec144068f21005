"""Instrumented training throughput against a plain PyTorch loop, and against TensorBoard logging.

Prints, per cell, steps/s of: a plain loop with no recording (the baseline), rnnviz's trainer with
every default probe on, and the plain loop plus SummaryWriter logging of the same scalars and
histograms at the same interval; the ratios to the baseline measured in this same run; and the
store's size per 1,000 steps. Variants are interleaved and repeated; medians are reported.

    python bench/bench_training.py [--steps 1000] [--repeats 3] [--jacobian-examples N] [--threads N] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rnnviz import data as datamod  # noqa: E402
from rnnviz.config import RunConfig, cores, preset  # noqa: E402
from rnnviz.models import build_model, loss_fn  # noqa: E402
from rnnviz.probes import hist_ranges  # noqa: E402
from rnnviz.store import Store  # noqa: E402
from rnnviz.trainer import batch_order, train  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mnist-10k"


def plain_loop(cfg: RunConfig, writer=None) -> float:
    """The same fused model, data pipeline and optimiser, nothing recorded (or logged to TensorBoard)."""
    t0 = time.perf_counter()
    train_split, test_split = datamod.load(cfg.dataset, cfg.data_dir, progress=False)
    xs = datamod.sequences(train_split.images, cfg.seq_len)
    ys = torch.from_numpy(train_split.labels.astype(np.int64))
    probe_x = datamod.to_float(datamod.sequences(test_split.images[: cfg.probe_batch], cfg.seq_len))
    torch.manual_seed(cfg.seed)
    model = build_model(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    batches = batch_order(len(xs), cfg.batch_size, torch.Generator().manual_seed(cfg.seed))
    ranges = hist_ranges(cfg.cell, cfg.nonlinearity)
    for step in range(1, cfg.steps + 1):
        if writer is not None and (step == 1 or step % cfg.probe_every == 0):
            trace = model.unrolled(probe_x)
            hs = torch.stack(trace.hs, 1).detach()
            named = {"h_last": hs[:, -1], "h_all": hs, "preact": trace.preact.detach()}
            if trace.cs is not None:
                named["c"] = trace.cs.detach()
            named.update({f"gate_{g}": v.detach() for g, v in trace.gates.items()})
            for name, v in named.items():
                lo, hi = ranges[name]
                writer.add_histogram(name, v.clamp(lo, hi), step, bins=np.linspace(lo, hi, cfg.hist_bins + 1))
        idx = next(batches)
        x = datamod.to_float(xs[idx])
        y = ys[idx]
        logits, hs = model(x)
        loss = loss_fn(logits, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if writer is not None:
            writer.add_scalar("loss", loss.item(), step)
            writer.add_scalar("accuracy", (logits.argmax(1) == y).float().mean().item(), step)
            for n, p in model.named_parameters():
                writer.add_scalar(f"grad_norm/{n}", p.grad.norm().item(), step)
            writer.add_scalar("saturated", (hs.detach().abs() > cfg.saturation).float().mean().item(), step)
    if writer is not None:
        writer.flush()
    return time.perf_counter() - t0


def instrumented(cfg: RunConfig, store_path: Path) -> float:
    t0 = time.perf_counter()
    with Store(store_path) as store:
        result = train(cfg, store)
    assert result.status == "finished", result.error
    return time.perf_counter() - t0


def tensorboard_loop(cfg: RunConfig, logdir: Path) -> float:
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(logdir))
    try:
        return plain_loop(cfg, writer)
    finally:
        writer.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--data-dir", default=str(DEFAULT_DATA))
    ap.add_argument("--jacobian-examples", type=int, help="the probe's Jacobian examples (default: the config's)")
    ap.add_argument(
        "--threads", type=int, default=0, help="torch threads of every variant (default 0: the trainer's, every core)"
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads or cores())  # the trainer sets its threads; the plain loops get the same
    torch.set_flush_denormal(True)  # as rnnviz's trainer does, so every variant computes the same way
    report = {}
    for name in ("blog-rnn", "blog-lstm"):
        cfg = preset(name, steps=args.steps, data_dir=args.data_dir, threads=args.threads)
        if args.jacobian_examples is not None:
            cfg = cfg.replace(jacobian_examples=args.jacobian_examples)
        times: dict[str, list[float]] = {"plain": [], "rnnviz": [], "tensorboard": []}
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            plain_loop(cfg.replace(steps=20))  # warm-up: imports, allocator, data cache
            for r in range(args.repeats):
                times["plain"].append(plain_loop(cfg))
                store_path = tmp / f"bench-{r}.sqlite"
                times["rnnviz"].append(instrumented(cfg, store_path))
                times["tensorboard"].append(tensorboard_loop(cfg, tmp / f"tb-{r}"))
            with Store(store_path) as store:
                store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            store_kb = store_path.stat().st_size / 1024 / args.steps * 1000
            tb_kb = sum(f.stat().st_size for f in (tmp / f"tb-{r}").rglob("*")) / 1024 / args.steps * 1000
        med = {k: statistics.median(v) for k, v in times.items()}
        report[name] = {
            "steps_per_s": {k: round(args.steps / v, 1) for k, v in med.items()},
            "ratio_rnnviz_vs_plain": round(med["plain"] / med["rnnviz"], 3),
            "ratio_tensorboard_vs_plain": round(med["plain"] / med["tensorboard"], 3),
            "store_kib_per_1000_steps": round(store_kb),
            "tensorboard_kib_per_1000_steps": round(tb_kb),
        }
        r = report[name]
        print(
            f"{name:10s} plain {r['steps_per_s']['plain']:6.1f} steps/s | rnnviz {r['steps_per_s']['rnnviz']:6.1f} "
            f"({r['ratio_rnnviz_vs_plain']:.3f}x) | plain+TensorBoard {r['steps_per_s']['tensorboard']:6.1f} "
            f"({r['ratio_tensorboard_vs_plain']:.3f}x) | store {r['store_kib_per_1000_steps']} KiB/1000 steps "
            f"(TensorBoard {r['tensorboard_kib_per_1000_steps']} KiB)",
            flush=True,
        )
    print(json.dumps(report))


if __name__ == "__main__":
    main()
