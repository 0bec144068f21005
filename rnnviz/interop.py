"""Meeting other tools: TensorBoard export, and `watch` for a user's own training loop."""

from __future__ import annotations

import os
import time
from typing import cast

import torch
from torch import nn

from .config import WATCHED, RunConfig
from .models import MODULE_CELLS, Recurrent, SeqClassifier
from .probes import hist_edges, param_grad_norms, probe
from .store import Status, Store, WriteBuffer


class WatchError(ValueError):
    """A module or probe batch that `watch` cannot record, with what to do instead."""


class Watch:
    """Records a user's own training loop into a run store, so the dashboard shows it like its own runs.

    Call `step(loss)` after `loss.backward()` and before `optimizer.step()`; it records the loss and the
    gradient norm of every parameter each step, and every `probe_every` steps runs the unrolled probe on
    the fixed probe batch (||dL/dh_t||, saturation, histograms, gates). `close()` (or leaving a `with`
    block) marks the run finished; an exception inside the block marks it failed. `total_steps`, the loop's
    length if known, lets the pages say "step N of total_steps"; 0 (unknown) has them say "step N"."""

    def __init__(
        self,
        rnn: nn.Module,
        head: nn.Module,
        probe_batch: tuple[torch.Tensor, torch.Tensor],
        store: str | os.PathLike | Store | None = None,
        name: str = "",
        probe_every: int = 100,
        saturation: float = 0.99,
        hist_bins: int = 200,
        total_steps: int = 0,
        jacobian_examples: int = 0,
    ) -> None:
        cell = _check_module(rnn)
        rnn = cast(Recurrent, rnn)
        x, y = probe_batch
        if x.dim() != 3 or x.shape[2] != rnn.input_size:
            raise WatchError(
                f"the probe batch must be (batch, time, {rnn.input_size}) for a batch_first module or "
                f"(time, batch, {rnn.input_size}) otherwise; got {tuple(x.shape)}"
            )
        self.x = (x if rnn.batch_first else x.transpose(0, 1)).detach()
        if len(y) != len(self.x):
            raise WatchError(f"the probe batch has {len(self.x)} sequences but {len(y)} labels")
        self.y = y.detach()
        self.model = SeqClassifier.around(rnn, head)
        self.cfg = RunConfig(
            name=name or f"watched {cell}",
            cell=cell,
            nonlinearity=self.model.nonlinearity,
            hidden_size=rnn.hidden_size,
            steps=max(total_steps, 1),
            probe_every=probe_every,
            probe_batch=len(self.x),
            saturation=saturation,
            hist_bins=hist_bins,
            jacobian_examples=jacobian_examples,
            dataset=WATCHED,
        )
        self.store = store if isinstance(store, Store) else Store(store)
        self.run_id = self.store.create_run(self.cfg)
        self.store.mark_running(self.run_id, os.getpid())
        self.store.set_hist_edges(self.run_id, hist_edges(cell, self.model.nonlinearity, hist_bins))
        self.rec = WriteBuffer(self.store, self.run_id)
        self.steps = 0
        self.t0 = time.monotonic()
        self.closed = False

    def step(self, loss: torch.Tensor | float, **scalars: float) -> None:
        """Record one training step (extra scalars, e.g. accuracy=0.9, are recorded too)."""
        if self.closed:
            raise WatchError("this watch is closed; start a new one with rnnviz.watch(...)")
        self.steps += 1
        s = self.steps
        if s == 1 or s % self.cfg.probe_every == 0:
            self._probe(s)
        norms = param_grad_norms(self.model) if any(p.grad is not None for p in self.model.parameters()) else {}
        loss_v = loss.item() if isinstance(loss, torch.Tensor) else float(loss)
        values = {"loss": loss_v, **{f"grad_norm/{k}": v for k, v in norms.items()}, **scalars}
        self.rec.scalar(s, values)
        self.rec.flush(s)

    def _probe(self, s: int) -> None:
        arrays, probe_scalars = probe(
            self.model, self.x, self.y, self.cfg.saturation, self.cfg.hist_bins, self.cfg.jacobian_examples
        )
        self.rec.array(s, arrays)
        self.rec.scalar(s, {**probe_scalars, "saturated": float(arrays["sat_t"].mean())})
        self.rec.summary["saturated_fraction"] = float(arrays["sat_t"].mean())

    def close(self, status: Status = Status.FINISHED, error: str | None = None) -> None:
        if self.closed:
            return
        self.closed = True
        if status == Status.FINISHED and self.steps and self.steps % self.cfg.probe_every:
            self._probe(self.steps)  # the weights the loop ends with
        self.rec.flush(self.steps, force=True)
        self.store.finish(self.run_id, status, error, time.monotonic() - self.t0)

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        elif issubclass(exc_type, KeyboardInterrupt):
            self.close(Status.STOPPED)
        else:
            self.close(Status.FAILED, f"{exc_type.__name__}: {exc}")


def _check_module(rnn: nn.Module) -> str:
    """The cell name of a module `unrolled` can follow, or a WatchError saying why not."""
    cell = MODULE_CELLS.get(type(rnn))
    if cell is None:
        raise WatchError(
            f"rnnviz.watch records torch.nn.RNN, nn.LSTM and nn.GRU modules; got {type(rnn).__name__}. "
            "Pass the recurrent layer itself (e.g. model.rnn), not the whole model"
        )
    problems = []
    if rnn.num_layers != 1:
        problems.append(f"num_layers={rnn.num_layers} (only 1)")
    if rnn.bidirectional:
        problems.append("bidirectional=True")
    if not rnn.bias:
        problems.append("bias=False")
    if getattr(rnn, "proj_size", 0):
        problems.append(f"proj_size={rnn.proj_size}")
    if problems:
        raise WatchError(
            "rnnviz.watch unrolls a single-layer, one-directional layer with biases; this one has "
            + ", ".join(problems)
        )
    return cell


def watch(
    rnn: nn.Module,
    head: nn.Module,
    probe_batch: tuple[torch.Tensor, torch.Tensor],
    store: str | os.PathLike | Store | None = None,
    **options,
) -> Watch:
    """Record your own loop: `rnn` is a single-layer nn.RNN/LSTM/GRU, `head` maps the last hidden state to
    class logits (the probe's loss is cross-entropy), and `probe_batch` is a fixed (inputs, labels) batch."""
    return Watch(rnn, head, probe_batch, store, **options)
