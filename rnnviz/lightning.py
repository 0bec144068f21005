"""A PyTorch Lightning callback that records a LightningModule's recurrent layer with `rnnviz.watch`, with no change
to its training step (pip install "rnnviz[lightning]")."""

from __future__ import annotations

import operator
import os
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from .interop import Watch, WatchError
from .store import Status, Store

try:
    import lightning.pytorch as pl
except ImportError as exc:  # an optional extra
    raise ImportError(
        'rnnviz.lightning needs PyTorch Lightning: pip install "rnnviz[lightning]" (or pip install lightning)'
    ) from exc

Part = str | Callable[[nn.Module], nn.Module]  # an attribute path of the LightningModule ("encoder.lstm") or a getter


def _part(module: nn.Module, part: Part, what: str) -> nn.Module:
    if callable(part):
        return part(module)
    try:
        found = operator.attrgetter(part)(module)
    except AttributeError:
        names = ", ".join(n for n, _ in module.named_children()) or "none"
        raise WatchError(
            f"{type(module).__name__} has no {what} at .{part}; its submodules are: {names}. Pass {what}= the "
            "attribute that holds it (e.g. 'lstm' or 'encoder.rnn'), or a function of the module that returns it"
        ) from None
    if not isinstance(found, nn.Module):
        raise WatchError(f"{type(module).__name__}.{part} is a {type(found).__name__}, not a torch module")
    return found


class RnnvizCallback(pl.Callback):
    """Watches a LightningModule's recurrent layer: its runs show live in the rnnviz dashboard like any other.

        trainer = L.Trainer(callbacks=[RnnvizCallback(rnn="lstm", head="fc", store="runs.sqlite")])

    `rnn` and `head` name the module's recurrent layer and the head that reads it (attribute paths, or functions
    of the module); `probe_batch` is a fixed (inputs, targets) batch, by default the first training batch. Every
    other option is `rnnviz.watch`'s (probe_every, outputs, loss, step, state0, ...). The loss recorded each step
    is what training_step returns."""

    def __init__(
        self,
        rnn: Part,
        head: Part,
        store: str | os.PathLike | Store | None = None,
        probe_batch: tuple[torch.Tensor, torch.Tensor] | None = None,
        **options: Any,
    ) -> None:
        super().__init__()
        self.rnn, self.head, self.store = rnn, head, store
        self.probe_batch = probe_batch
        self.options = options
        self.watch: Watch | None = None

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if self.watch is not None:
            return
        probe = self.probe_batch
        if probe is None:
            if not (isinstance(batch, tuple | list) and len(batch) == 2):
                raise WatchError(
                    "the first training batch is not an (inputs, targets) pair; pass probe_batch=(x, y) to "
                    "RnnvizCallback"
                )
            probe = (batch[0].detach().clone(), batch[1].detach().clone())
        total = trainer.max_steps if trainer.max_steps and trainer.max_steps > 0 else 0
        if not total:
            estimated = trainer.estimated_stepping_batches
            total = int(estimated) if estimated != float("inf") else 0
        options = {"name": f"{type(pl_module).__name__} (Lightning)", "total_steps": total, **self.options}
        rnn, head = _part(pl_module, self.rnn, "rnn"), _part(pl_module, self.head, "head")
        self.watch = Watch(rnn, head, probe, self.store, **options)

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if self.watch is None:
            return
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        # the gradients of this step are still on the parameters: Lightning zeroes them before the next backward
        self.watch.step(loss.detach() if isinstance(loss, torch.Tensor) else float("nan") if loss is None else loss)

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.watch is not None:
            self.watch.close(Status.STOPPED if trainer.interrupted else Status.FINISHED)

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        if self.watch is None:
            return
        if isinstance(exception, KeyboardInterrupt):
            self.watch.close(Status.STOPPED)
        else:
            self.watch.close(Status.FAILED, f"{type(exception).__name__}: {exception}")

    @property
    def run_id(self) -> int | None:
        """The id of the run recorded (None before the first training batch)."""
        return self.watch.run_id if self.watch else None
