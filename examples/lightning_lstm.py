"""A LightningModule's LSTM watched by rnnviz's callback, with no change to its training step.

pip install "rnnviz[lightning]"
python examples/lightning_lstm.py --store runs.sqlite --steps 300
rnnviz app --store runs.sqlite        # the run shows live while it trains
"""

from __future__ import annotations

import argparse

import lightning as L
import torch
from first_sign import batches
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import rnnviz
from rnnviz.lightning import RnnvizCallback

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--store", default="runs.sqlite")
parser.add_argument("--steps", type=int, default=300)
args = parser.parse_args()


class FirstSign(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(4, 32, batch_first=True)
        self.fc = nn.Linear(32, 2)

    def training_step(self, batch, batch_idx):
        x, y = batch
        out, _ = self.lstm(x)
        return nn.functional.cross_entropy(self.fc(out[:, -1]), y)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=0.003)


torch.manual_seed(0)
callback = RnnvizCallback(rnn="lstm", head="fc", store=args.store, probe_every=20)  # probe: the first batch
trainer = L.Trainer(
    max_steps=args.steps,
    callbacks=[callback],
    logger=False,
    enable_checkpointing=False,
    enable_progress_bar=False,
    enable_model_summary=False,
    accelerator="cpu",
)
x, y = (torch.cat(t) for t in zip(*batches(args.steps)))
loader = DataLoader(TensorDataset(x, y), batch_size=32)
trainer.fit(FirstSign(), train_dataloaders=loader)
run = rnnviz.open_run(args.store, callback.run_id)
print(f"run {run.id}: {run.status}, {run.row['step']} steps, probes at {run.gradient_flow()[0].tolist()}")
