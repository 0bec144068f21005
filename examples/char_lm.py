"""A character-level language model (a 2-layer LSTM) under rnnviz.watch: an output and a loss at every step.

    python examples/char_lm.py --store runs.sqlite --steps 500
    rnnviz app --store runs.sqlite        # Gradient flow: where the gradient reaching h_t comes from

The text is examples/data/gettysburg.txt. With a loss at every step, most of the gradient reaching h_t is the
loss at t itself; the long-range part, ||dL_T/dh_t||, is the one that vanishes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

import rnnviz

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--store", default="runs.sqlite")
parser.add_argument("--steps", type=int, default=500)
parser.add_argument("--seq-len", type=int, default=64)
args = parser.parse_args()

text = (Path(__file__).parent / "data" / "gettysburg.txt").read_text()
chars = sorted(set(text))
data = torch.tensor([chars.index(c) for c in text])  # (N,)
V, H, T, B = len(chars), 128, args.seq_len, 32


class CharLM(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(V, 32)
        self.lstm = nn.LSTM(32, H, num_layers=2, batch_first=True)
        self.out = nn.Linear(H, V)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        hs, _ = self.lstm(self.embed(idx))  # (B, T, H)
        return self.out(hs)  # (B, T, V)


def batch(g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """B windows of T characters and the characters that follow each one."""
    start = torch.randint(0, len(data) - T - 1, (B,), generator=g)
    idx = torch.stack([data[s : s + T + 1] for s in start.tolist()])
    return idx[:, :-1], idx[:, 1:]


def lm_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))


torch.manual_seed(0)
model = CharLM()
opt = torch.optim.Adam(model.parameters(), lr=0.003)
g = torch.Generator().manual_seed(0)
idx0, y0 = batch(g)
# the probe unrolls the LSTM on embedded characters: give it the inputs the LSTM sees
probe = (model.embed(idx0).detach(), y0)

with rnnviz.watch(
    model.lstm,
    model.out,
    probe,
    store=args.store,
    name="char LM, 2-layer LSTM",
    outputs="all",
    loss=lm_loss,
    probe_every=50,
    total_steps=args.steps,
) as w:
    for _ in range(args.steps):
        idx, y = batch(g)
        loss = lm_loss(model(idx), y)
        opt.zero_grad()
        loss.backward()
        w.step(loss)
        opt.step()

run = rnnviz.open_run(args.store, w.run_id)
last = run.gradient_flow(part="last")[1][-1]
print(f"run {run.id}: loss {loss.item():.2f}; ||dL_T/dh_1|| / ||dL_T/dh_T|| = {last[0] / last[-1]:.2g}")
