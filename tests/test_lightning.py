"""The Lightning callback: a LightningModule's recurrent layer recorded with no change to its training step, live
in the store while it trains (as the dashboard reads it), and a crash recorded as a failed run."""

from __future__ import annotations

import time

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import rnnviz
from rnnviz.store import Store

L = pytest.importorskip("lightning")
from rnnviz.lightning import RnnvizCallback  # noqa: E402


class Tagger(L.LightningModule):
    """A 2-layer bidirectional GRU with an output at every step."""

    def __init__(self, fail_at: int = -1) -> None:
        super().__init__()
        self.encoder = nn.Module()
        self.encoder.gru = nn.GRU(3, 8, num_layers=2, bidirectional=True, batch_first=True)
        self.fc = nn.Linear(16, 4)
        self.fail_at = fail_at

    def training_step(self, batch, batch_idx):
        if batch_idx == self.fail_at:
            raise RuntimeError("out of memory (pretend)")
        x, y = batch
        out, _ = self.encoder.gru(x)
        return nn.functional.cross_entropy(self.fc(out).transpose(1, 2), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


class ReadsTheStore(L.Callback):
    """What a dashboard page would read while the run trains: the run's row, from its own connection."""

    def __init__(self, path) -> None:
        self.path, self.seen = path, []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        time.sleep(0.3)  # a slower step, so that the writer's half-second commits fall inside training
        if batch_idx:
            with Store(self.path) as s:
                row = s.runs().iloc[0]
            self.seen.append((batch_idx, row["status"], int(row["step"])))


def fit(tmp_path, module, steps: int, *callbacks):
    g = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.randn(steps * 4, 6, 3, generator=g), torch.randint(0, 4, (steps * 4, 6), generator=g))
    trainer = L.Trainer(
        max_steps=steps,
        callbacks=list(callbacks),
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
    )
    trainer.fit(module, DataLoader(data, batch_size=4))


def test_a_lightning_run_is_in_the_store_while_it_trains(tmp_path):
    store = tmp_path / "l.sqlite"
    watch = RnnvizCallback(rnn="encoder.gru", head="fc", store=store, probe_every=2, outputs="all")
    reader = ReadsTheStore(store)
    fit(tmp_path, Tagger(), 5, watch, reader)
    # each batch found the run training, its recorded steps growing while it trained (the writer commits at
    # least every half second, as for rnnviz's own runs)
    assert all(status == "running" for _, status, _ in reader.seen), reader.seen
    seen = [step for _, _, step in reader.seen]
    assert seen == sorted(seen) and 1 <= seen[-1] < 5, reader.seen
    run = rnnviz.open_run(store, watch.run_id)
    assert run.status == "finished" and run.row["step"] == 5 and run.row["total_steps"] == 5
    assert run.streams() == [(0, "forward"), (0, "backward"), (1, "forward"), (1, "backward")]
    assert run.gradient_flow(1, "backward", "last")[0].tolist() == [1, 2, 4, 5]
    assert {"grad_norm/rnn.weight_hh_l1_reverse", "grad_norm/head.weight"} <= set(run.scalar_names())


def test_a_crash_in_the_training_step_marks_the_run_failed(tmp_path):
    store = tmp_path / "l.sqlite"
    watch = RnnvizCallback(rnn="encoder.gru", head="fc", store=store, outputs="all")
    with pytest.raises(RuntimeError, match="pretend"):
        fit(tmp_path, Tagger(fail_at=3), 5, watch)
    run = rnnviz.open_run(store, watch.run_id)
    assert run.status == "failed" and "out of memory (pretend)" in run.row["error"] and run.row["step"] == 3


def test_a_wrong_attribute_names_the_modules_parts(tmp_path):
    watch = RnnvizCallback(rnn="gru", head="fc", store=tmp_path / "l.sqlite")
    with pytest.raises(rnnviz.WatchError, match="Tagger has no rnn at .gru; its submodules are: encoder, fc"):
        fit(tmp_path, Tagger(), 2, watch)
    assert rnnviz.runs(tmp_path / "l.sqlite").empty
