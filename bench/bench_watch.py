"""The cost of `rnnviz.watch` on a user's own loop: a 2-layer LSTM character-level language model (an output and
a loss at every step, examples/char_lm.py's model and text), the user's step (forward, backward, optimizer step)
with `w.step(loss)` against the same loop without it, at the default probe interval (100 steps). Target: at most
1.05x.

Blocks of `--block` steps of each loop alternate (plain, watched, plain, ...), so that a change of the machine's
load falls on both; the watched loop's time includes its probes (one every 100 steps) and the store's writes.
Each block is timed by the wall clock and by this process's CPU time: on a machine shared with other work the
wall clock swings by 4x from block to block, the CPU time far less (one thread). Prints each pair, the median
ratios of watched to plain and the load average, then one JSON line.

    python bench/bench_watch.py [--pairs 5] [--block 200] [--threads 1]
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

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import rnnviz  # noqa: E402

TEXT = Path(__file__).resolve().parent.parent / "examples" / "data" / "gettysburg.txt"
H, E, T, B = 128, 32, 64, 32


class CharLM(nn.Module):
    def __init__(self, vocab: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, E)
        self.lstm = nn.LSTM(E, H, num_layers=2, batch_first=True)
        self.out = nn.Linear(H, vocab)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        return self.out(self.lstm(self.embed(idx))[0])  # (B, T, V)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--block", type=int, default=100, help="steps per block (a multiple of 100 holds whole probes)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    text = TEXT.read_text()
    chars = sorted(set(text))
    data = torch.tensor([chars.index(c) for c in text])
    V = len(chars)
    g = torch.Generator().manual_seed(0)

    def batch() -> tuple[torch.Tensor, torch.Tensor]:
        start = torch.randint(0, len(data) - T - 1, (B,), generator=g).tolist()
        idx = torch.stack([data[s : s + T + 1] for s in start])
        return idx[:, :-1], idx[:, 1:]

    def lm_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))

    torch.manual_seed(0)
    model = CharLM(V)
    opt = torch.optim.Adam(model.parameters(), lr=0.003)
    batches = [batch() for _ in range(args.block)]  # the same batches for both loops

    def block(w: rnnviz.Watch | None) -> tuple[float, float]:
        """Wall-clock and CPU seconds of one block of steps."""
        t0, c0 = time.perf_counter(), time.process_time()
        for idx, y in batches:
            loss = lm_loss(model(idx), y)
            opt.zero_grad()
            loss.backward()
            if w is not None:
                w.step(loss)
            opt.step()
        return time.perf_counter() - t0, time.process_time() - c0

    with tempfile.TemporaryDirectory() as tmp:
        idx0, y0 = batches[0]
        probe = (model.embed(idx0).detach(), y0)
        with rnnviz.watch(
            model.lstm, model.out, probe, store=Path(tmp) / "bench.sqlite", outputs="all", loss=lm_loss
        ) as w:
            block(None)  # warm-up of both loops (the watched one's first step probes)
            block(w)
            wall, cpu = [], []  # (plain, watched) seconds of each pair of blocks
            for k in range(args.pairs):
                (a, ca), (b, cb) = block(None), block(w)
                wall.append((a, b))
                cpu.append((ca, cb))
                ms = 1000 / args.block
                print(
                    f"pair {k + 1}: plain {a * ms:.1f} ms/step ({ca * ms:.1f} CPU), watched {b * ms:.1f} ms/step "
                    f"({cb * ms:.1f} CPU): {b / a:.3f}x wall, {cb / ca:.3f}x CPU"
                )
            probes = len(rnnviz.open_run(w.store, w.run_id).gradient_flow()[0])
    load = os.getloadavg()[0]
    ratio = {name: statistics.median(b / a for a, b in pairs) for name, pairs in (("wall", wall), ("cpu", cpu))}
    spread = {name: [round(b / a, 3) for a, b in pairs] for name, pairs in (("wall", wall), ("cpu", cpu))}
    print(
        f"watched / plain: {ratio['cpu']:.3f}x CPU time, {ratio['wall']:.3f}x wall clock (medians of {args.pairs} "
        f"pairs of {args.block} steps; {probes} probes); load average {load:.1f}; {args.threads} thread(s)"
    )
    result = {
        "ratio_cpu": round(ratio["cpu"], 4),
        "ratio_wall": round(ratio["wall"], 4),
        "ratios": spread,
        "plain_ms_per_step": round(1000 * statistics.median(a for a, _ in wall) / args.block, 2),
        "watched_ms_per_step": round(1000 * statistics.median(b for _, b in wall) / args.block, 2),
        "load": load,
        "threads": args.threads,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
