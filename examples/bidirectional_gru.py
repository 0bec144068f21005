"""A 2-layer bidirectional GRU under rnnviz.watch: each direction on its own time axis, every layer.

    python examples/bidirectional_gru.py --store runs.sqlite --steps 300
    rnnviz app --store runs.sqlite

The answer sits at t = 1: the forward direction must carry it T steps, the backward one reads it last.
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

torch.manual_seed(0)
gru = nn.GRU(4, 32, num_layers=2, bidirectional=True)  # time-major: (T, B, features)
head = nn.Linear(2 * 32, 2)  # reads the forward and backward outputs at the last position
opt = torch.optim.Adam([*gru.parameters(), *head.parameters()], lr=0.003)
x0, y0 = next(batches(1, seed=1))

with rnnviz.watch(
    gru,
    head,
    (x0.transpose(0, 1), y0),
    store=args.store,
    name="bidirectional GRU, first sign",
    probe_every=20,
    total_steps=args.steps,
) as w:
    for x, y in batches(args.steps):
        out, _ = gru(x.transpose(0, 1))  # (T, B, 2H)
        loss = nn.functional.cross_entropy(head(out[-1]), y)
        opt.zero_grad()
        loss.backward()
        w.step(loss)
        opt.step()

run = rnnviz.open_run(args.store, w.run_id)
for layer, direction in run.streams():
    flow = run.gradient_flow(layer, direction)[1][-1]
    print(f"run {run.id}, layer {layer} {direction}: ||dL/dh_t|| from t = 1 to T: {flow[0]:.2g} ... {flow[-1]:.2g}")
