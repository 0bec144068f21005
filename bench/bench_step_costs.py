"""Where a recorded step's time goes: the trainer with parts of its recording taken out, each against the plain
loop run in lockstep with it (bench_training.py's `lockstep`), so that every part's cost is a difference of two
ratios measured under the same load.

Variants (every one without checkpoints and with commits only at the end, so that only the per-step work and
the probe differ):

- plain steps: the plain loop's own step inside the trainer's loop, nothing recorded (the loop's machinery);
- nothing: the trainer's step with a row of zeros for its statistics (the loss and accuracy it reads are kept);
- norms: only the gradients' norms (and the global one) in the row;
- saturation: only the two saturation counts (the in-place abs / compare / sum over (B, T, H));
- statistics: the whole row, as recorded;
- default: the whole row and the probe every probe_every steps with its Jacobian chain.

A part's share of the step is the difference of two ratios (e.g. nothing - saturation). The figures are in
bench/README.md ("Sixth pass").

    python bench/bench_step_costs.py [--cell rnn] [--steps 1200] [--from 200] [--repeats 2] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_training import DEFAULT_DATA, config, fused_step, lockstep  # noqa: E402

from rnnviz import stepstats, trainer  # noqa: E402

Row = Callable[[list[torch.Tensor], torch.Tensor, float, list[torch.Tensor], float], torch.Tensor]


def _row(head: list[torch.Tensor], grads: list[torch.Tensor], sat: list[torch.Tensor], norms: list[torch.Tensor]):
    """A row of p.columns' length: head, clipped, the two counts, each gradient's norm and the global one, with
    zeros for what the variant leaves out."""
    z = torch.zeros(())
    return torch.stack([*head, z, *(sat or [z, z]), *(norms or [z] * (len(grads) + 1))])


def nothing_row(head, hs, threshold, grads, clip):
    return _row(head, grads, [], [])


def norms_row(head, hs, threshold, grads, clip):
    norms = torch._foreach_norm(grads)
    return _row(head, grads, [], [*norms, torch.linalg.vector_norm(torch.stack(norms))])


def saturation_row(head, hs, threshold, grads, clip):
    beyond = hs.detach().abs_().gt_(threshold)  # as stepstats.step_row counts
    return _row(head, grads, [beyond.sum(), beyond[:, -1].sum()], [])


def plain_step(cfg, p, rows, step) -> None:
    """The plain loop's step (bench_training.Plain.step) on the trainer's model and batches; a row of zeros."""
    idx = next(p.batches)
    fused_step(p.model, p.opt, p.inputs(p.train_x[idx]), p.train_y[idx])
    rows.add(step, p.columns, torch.zeros(len(p.columns)))


ROWS: dict[str, Row | None] = {
    "nothing": nothing_row,
    "norms": norms_row,
    "saturation": saturation_row,
    "statistics": None,
    "default": None,
}
VARIANTS = ("plain steps", *ROWS)


@contextmanager
def variant(name: str) -> Iterator[None]:
    """The trainer as the variant records: its row, its step and its probe replaced for the block."""
    saved = trainer.step_row, trainer.train_step, trainer.Loop.probe, stepstats.Pace.due
    try:
        stepstats.Pace.due = lambda self: False  # commits at the end only: not a per-step cost
        if name == "plain steps":
            trainer.train_step = plain_step
        elif ROWS[name] is not None:
            trainer.step_row = ROWS[name]
        if name != "default":
            trainer.Loop.probe = lambda self, at: None
        yield
    finally:
        trainer.step_row, trainer.train_step, trainer.Loop.probe, stepstats.Pace.due = saved


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cell", default="rnn", choices=["rnn", "lstm", "gru"])
    ap.add_argument("--steps", type=int, default=1200)
    ap.add_argument("--from", dest="start", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    ap.add_argument("--data-dir", default=str(DEFAULT_DATA))
    args = ap.parse_args()
    torch.set_flush_denormal(True)
    torch.set_num_threads(args.threads)
    cfg = config(args.cell, args.steps, args.data_dir, args.threads).replace(checkpoint_every=10**9)
    ratios: dict[str, list[float]] = {v: [] for v in args.variants}
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        lockstep(cfg.replace(steps=30), 10, Path(tmp) / "warm-up.sqlite")
        for r in range(args.repeats):
            for v in args.variants[r % len(args.variants) :] + args.variants[: r % len(args.variants)]:
                with variant(v):
                    (_, plain), (_, ours) = lockstep(cfg, args.start, Path(tmp) / f"{r}-{v}.sqlite")
                ratios[v].append(plain / ours)
                print(f"  {v:12s} repeat {r + 1}: {plain / ours:.3f}x (plain {plain:.2f} ms CPU a step)", flush=True)
    print(f"{args.cell}, {args.threads} thread(s), steps {args.start}-{args.steps}, load {load:.1f} -> "
          f"{os.getloadavg()[0]:.1f}; CPU-time ratio plain / trainer, median (range):")  # fmt: skip
    for v, rs in ratios.items():
        print(f"  {v:12s} {statistics.median(rs):.3f}x ({min(rs):.3f}-{max(rs):.3f})")


if __name__ == "__main__":
    main()
