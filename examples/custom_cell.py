"""A cell written in Python under rnnviz.watch: a peephole LSTM (Gers and Schmidhuber 2000), given its step.

    python examples/custom_cell.py --store runs.sqlite --steps 300
    rnnviz app --store runs.sqlite

rnnviz unrolls the one-step function (x_t, state) -> (h_t, state) for the probe; rnnviz.tanh names a tanh
whose saturation and slope it records (torch.tanh outside the probe).
"""

from __future__ import annotations

import argparse

import torch
from first_sign import batches
from torch import nn

import rnnviz

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--store", default="runs.sqlite")
parser.add_argument("--steps", type=int, default=300)
args = parser.parse_args()


class PeepholeLSTM(nn.Module):
    def __init__(self, n_in: int, n_hidden: int) -> None:
        super().__init__()
        self.hidden = n_hidden
        self.lin = nn.Linear(n_in + n_hidden, 4 * n_hidden)
        self.peep = nn.Parameter(torch.zeros(3, n_hidden))  # the gates also read the cell state

    def step(self, xt: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]):
        h, c = state
        i, f, g, o = self.lin(torch.cat([xt, h], 1)).chunk(4, 1)
        i, f = torch.sigmoid(i + self.peep[0] * c), torch.sigmoid(f + self.peep[1] * c)
        c = f * c + i * rnnviz.tanh(g, "g")
        h = torch.sigmoid(o + self.peep[2] * c) * rnnviz.tanh(c, "c")
        return h, (h, c)

    def initial(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.zeros(batch, self.hidden), torch.zeros(batch, self.hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        state = self.initial(len(x))
        for t in range(x.shape[1]):
            h, state = self.step(x[:, t], state)
        return h


torch.manual_seed(0)
cell, head = PeepholeLSTM(4, 32), nn.Linear(32, 2)
opt = torch.optim.Adam([*cell.parameters(), *head.parameters()], lr=0.003)
probe = next(batches(1, seed=1))

with rnnviz.watch(
    cell,
    head,
    probe,
    store=args.store,
    name="peephole LSTM, first sign",
    step=cell.step,
    state0=cell.initial,
    probe_every=20,
    jacobian_examples=1,
    total_steps=args.steps,
) as w:
    for x, y in batches(args.steps):
        loss = nn.functional.cross_entropy(head(cell(x)), y)
        opt.zero_grad()
        loss.backward()
        w.step(loss)
        opt.step()

run = rnnviz.open_run(args.store, w.run_id)
jac = run.series("jacobian_norm")[1][-1]
print(f"run {run.id}: ||ds_T/ds_1|| = {jac[0]:.2g}; tanh(c) slope at t = 1: {run.series('tanh_slope_c')[1][-1][0]:.2f}")
