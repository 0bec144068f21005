"""A 3-layer LSTM under rnnviz.watch: the gradient reaching every layer at every time step.

python examples/stacked_lstm.py --store runs.sqlite --steps 300
rnnviz app --store runs.sqlite        # Gradient flow: "Layers, directions and outputs"
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
lstm = nn.LSTM(4, 32, num_layers=3, batch_first=True)
head = nn.Linear(32, 2)
opt = torch.optim.Adam([*lstm.parameters(), *head.parameters()], lr=0.003)
probe = next(batches(1, seed=1))  # a fixed batch the probe reads every probe_every steps

with rnnviz.watch(
    lstm, head, probe, store=args.store, name="3-layer LSTM, first sign", probe_every=20, total_steps=args.steps
) as w:
    for x, y in batches(args.steps):
        out, _ = lstm(x)  # (B, T, H)
        loss = nn.functional.cross_entropy(head(out[:, -1]), y)
        opt.zero_grad()
        loss.backward()
        w.step(loss)  # after backward, before the optimizer's step
        opt.step()

run = rnnviz.open_run(args.store, w.run_id)
steps, flow = run.gradient_flow(layer=0)  # the first layer; run.streams() lists them all
print(f"run {run.id}: ||dL/dh_1|| / ||dL/dh_T|| in layer 0 at step {steps[-1]}: {flow[-1, 0] / flow[-1, -1]:.2g}")
