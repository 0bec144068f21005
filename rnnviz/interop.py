"""Meeting other tools: TensorBoard export, and `watch` for a user's own training loop."""

from __future__ import annotations

import inspect
import os
import time
from collections.abc import Callable
from functools import partial
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from .config import WATCHED, RunConfig
from .layered import LossFn, Probed, edges
from .models import MODULE_CELLS, SeqClassifier
from .probes import hist_edges, record_probe
from .stepstats import Pace, StepRows
from .store import Status, Store, WriteBuffer
from .unroll import State, StepFn, state_tensors, unroll_cell, unroll_module


class WatchError(ValueError):
    """A module or probe batch that `watch` cannot record, with what to do instead."""


class Watch:
    """Records a user's own training loop into a run store, so the dashboard shows it like its own runs.

    Call `step(loss)` after `loss.backward()` and before `optimizer.step()`; it records the loss and the
    gradient norm of every parameter each step, and every `probe_every` steps runs the unrolled probe on
    the fixed probe batch (||dL/dh_t||, saturation, histograms, gates; per layer and direction for a stacked or
    bidirectional module). `close()` (or leaving a `with` block) marks the run finished; an exception inside the
    block marks it failed. `total_steps`, the loop's length if known, lets the pages say "step N of total_steps";
    0 (unknown) has them say "step N"."""

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
        outputs: str = "last",
        loss: LossFn | None = None,
        step: StepFn | None = None,
        state0: State | Callable[[int], State] | None = None,
    ) -> None:
        x, y = probe_batch
        # everything is checked, and the probe batch run once through the model, before the run is created
        probed, x, what = _probed(rnn, head, x, y, outputs, loss, step, state0)
        self.x, self.y = x.detach(), y.detach()
        # the single-layer, one-directional module read at its last step keeps rnnviz's own probe
        self.simple = what["simple"]
        self.probed = probed
        self.model: nn.Module = SeqClassifier.around(rnn, head) if self.simple else _Pair(rnn, head)  # type: ignore[arg-type]
        self.cfg = RunConfig(
            name=name or f"watched {what['title']}",
            cell=probed.cell,
            nonlinearity=probed.nonlinearity,
            hidden_size=what["hidden_size"],
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
        hist = hist_edges if self.simple else edges
        self.store.set_hist_edges(self.run_id, hist(probed.cell, probed.nonlinearity, hist_bins))
        self.rec = WriteBuffer(self.store, self.run_id)
        self.pace = Pace(self.rec)  # commits every FLUSH_S, at most 1% of the process's CPU
        self.rows = StepRows()  # each step's values stay on the device until a commit is due
        self.params = list(self.model.named_parameters())  # walked once: a step reads their gradients
        self.grad_names = {n: f"grad_norm/{n}" for n, _ in self.params}
        self.steps = 0
        self.t0 = time.monotonic()
        self.closed = False

    def step(self, loss: torch.Tensor | float, **scalars: torch.Tensor | float) -> None:
        """Record one training step (extra scalars, e.g. accuracy=0.9, are recorded too). Tensors are not read
        here: they stay on their device, with the gradient norms, and move to the host in one transfer when a
        commit is due, so a step never waits for the device."""
        if self.closed:
            raise WatchError("this watch is closed; start a new one with rnnviz.watch(...)")
        self.steps += 1
        s = self.steps
        if s == 1 or s % self.cfg.probe_every == 0:
            self._probe(s)
        names: list[str] = []
        parts: list[torch.Tensor] = []
        host: dict[str, float] = {}
        for k, v in {"loss": loss, **scalars}.items():
            if isinstance(v, torch.Tensor):
                names.append(k)
                parts.append(v.detach().reshape(()))
            else:
                host[k] = float(v)
        grads = [(n, p.grad) for n, p in self.params if p.grad is not None]
        if grads:  # each gradient's norm and the global one, as grad_norms computes them
            norms = torch._foreach_norm([g for _, g in grads])
            names += [self.grad_names[n] for n, _ in grads] + ["grad_norm/global"]
            parts += [*norms, torch.linalg.vector_norm(torch.stack(norms))]
        device = parts[0].device if parts else torch.device("cpu")
        row = torch.stack([t.to(device) for t in parts]).float() if parts else torch.zeros(0)  # (len(names),)
        self.rows.add(s, tuple(names), row, host)
        due = self.pace.due()
        if due:
            self._read()
        self.pace.flush(s, due)

    def _read(self) -> None:
        """The held steps' values into the store's buffer (one transfer)."""
        for at, values in self.rows.drain():
            self.rec.scalar(at, values)

    def _probe(self, s: int) -> None:
        target = cast(SeqClassifier, self.model) if self.simple else self.probed
        record_probe(self.rec, s, target, self.x, self.y, self.cfg, saturated=True)

    def close(self, status: Status = Status.FINISHED, error: str | None = None) -> None:
        if self.closed:
            return
        self.closed = True
        if status == Status.FINISHED and self.steps and self.steps % self.cfg.probe_every:
            self._probe(self.steps)  # the weights the loop ends with
        self._read()
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


class _Pair(nn.Module):
    """A watched model's recurrent part and head under one module, so their parameters are named rnn.* and head.*
    as in rnnviz's own runs."""

    def __init__(self, rnn: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.rnn, self.head = rnn, head


def _inside(module: nn.Module) -> str:
    """Where a model holds an nn.RNN/LSTM/GRU (" at .encoder.lstm"), or ""."""
    for path, sub in module.named_modules():
        if path and type(sub) in MODULE_CELLS:
            return f"; this {type(module).__name__} holds an nn.{type(sub).__name__} at .{path}: pass that"
    return ""


def _check_module(rnn: nn.Module) -> str:
    """The cell name of a module `unroll_module` can follow, or a WatchError saying why not and what to pass."""
    cell = MODULE_CELLS.get(type(rnn))
    if cell is None:
        raise WatchError(
            f"rnnviz.watch unrolls torch.nn.RNN, nn.LSTM and nn.GRU modules; got {type(rnn).__name__}. Pass the "
            f"recurrent layer itself (e.g. model.rnn), not the whole model{_inside(rnn)}; for a cell of your own, "
            "pass its one-step function as step=fn(x_t, state) -> (h_t, state) with its first state as state0"
        )
    if getattr(rnn, "proj_size", 0):
        raise WatchError(
            f"rnnviz.watch does not unroll an nn.LSTM with proj_size={rnn.proj_size} (h_t = W_hr (o * tanh(c_t))); "
            "pass its one-step function as step=fn(x_t, state) -> (h_t, state), with state0, to watch it as a "
            "custom cell"
        )
    return cell


def _check_step(step: Any, state0: Any, x: torch.Tensor) -> State:
    """A custom cell's first state for the probe batch, or a WatchError saying what to pass."""
    if not callable(step):
        raise WatchError(f"step must be a function (x_t, state) -> (h_t, state); got {type(step).__name__}")
    try:
        inspect.signature(step).bind(x[:, 0], None)
    except TypeError as exc:
        raise WatchError(
            f"step must take two arguments, (x_t, state), and return (h_t, state); its signature is "
            f"{inspect.signature(step)} ({exc})"
        ) from None
    except ValueError:  # a builtin without a signature: the dry run tells
        pass
    if state0 is None:
        raise WatchError(
            "a custom cell needs its first state: pass state0=, a tensor (batch, hidden) or a tuple of them, "
            "or a function of the batch size that returns it (e.g. state0=lambda b: torch.zeros(b, 64))"
        )
    state = state0(len(x)) if callable(state0) else state0
    try:
        tensors = state_tensors(state)
    except TypeError as exc:
        raise WatchError(f"state0: {exc}") from None
    if any(t.shape[:1] != x.shape[:1] for t in tensors):
        raise WatchError(
            f"state0 must hold one row per sequence of the probe batch ({len(x)}); got shapes "
            f"{[tuple(t.shape) for t in tensors]}: pass a function of the batch size, e.g. "
            "state0=lambda b: torch.zeros(b, 64)"
        )
    try:
        with torch.no_grad():
            answer = step(x[:, 0], state)
    except Exception as exc:  # the user's code: say where it failed, with its own message
        raise WatchError(
            f"step(x_t, state0) failed on the probe batch's first step, x_t {tuple(x[:, 0].shape)}: "
            f"{type(exc).__name__}: {exc}"
        ) from None
    if not (isinstance(answer, tuple | list) and len(answer) == 2 and isinstance(answer[0], torch.Tensor)):
        got = type(answer).__name__ + (f" of {len(answer)}" if isinstance(answer, tuple | list) else "")
        raise WatchError(f"step must return (h_t, state), h_t a tensor (batch, hidden); it returned a {got}")
    if answer[0].dim() != 2 or len(answer[0]) != len(x):
        raise WatchError(f"step must return h_t of shape (batch, hidden) = ({len(x)}, H); got {tuple(answer[0].shape)}")
    return state


def _default_loss(outputs: str) -> LossFn:
    if outputs == "last":
        return F.cross_entropy
    # an output at every step: class scores (B, T, C) against targets (B, T), meaned over every position
    return lambda logits, y: F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


def _probed(
    rnn: nn.Module,
    head: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    outputs: str,
    loss: LossFn | None,
    step: StepFn | None,
    state0: Any,
) -> tuple[Probed, torch.Tensor, dict[str, Any]]:
    """What the probe runs for this model, the probe batch batch-first, and words about the model; or a
    WatchError saying what to change. The probe batch is run once through it, so nothing is recorded for a
    model the probe would fail on."""
    if outputs not in ("last", "all"):
        raise WatchError(
            f"outputs must be 'last' (the head reads the last step) or 'all' (an output and a loss at every "
            f"step, e.g. a language model or a tagger); got {outputs!r}"
        )
    if loss is not None and not callable(loss):
        raise WatchError(f"loss must be a function (outputs, targets) -> a scalar tensor; got {type(loss).__name__}")
    if not isinstance(x, torch.Tensor) or x.dim() != 3:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise WatchError(
            f"the probe batch's inputs must be (batch, time, features) for a batch_first module or a custom cell, "
            f"or (time, batch, features) otherwise; got {shape}"
        )
    if step is not None:
        if not isinstance(rnn, nn.Module):
            raise WatchError("with step=, pass the module that holds the cell's parameters as the first argument")
        state = _check_step(step, state0, x)
        unroll = partial(unroll_cell, step, state)
        probed = Probed(unroll, head, outputs, loss or _default_loss(outputs), "custom", "tanh", step)
        simple = False
        title = f"{type(rnn).__name__} (custom cell)"
    else:
        cell = _check_module(rnn)
        module = cast(nn.RNN | nn.LSTM | nn.GRU, rnn)
        if x.shape[2] != module.input_size:
            raise WatchError(
                f"the probe batch must be (batch, time, {module.input_size}) for a batch_first module or "
                f"(time, batch, {module.input_size}) otherwise; got {tuple(x.shape)}"
            )
        x = x if module.batch_first else x.transpose(0, 1)
        nonlinearity = module.nonlinearity if isinstance(module, nn.RNN) else "tanh"
        probed = Probed(
            lambda xb: unroll_module(module, xb), head, outputs, loss or _default_loss(outputs), cell, nonlinearity
        )
        deep, both = module.num_layers > 1, module.bidirectional
        simple = not deep and not both and module.bias and outputs == "last" and loss is None
        title = cell + (f", {module.num_layers} layers" if deep else "") + (", bidirectional" if both else "")
    if len(y) != len(x):
        first = " (with outputs='all', targets batch first: (batch, time))" if outputs == "all" else ""
        raise WatchError(f"the probe batch has {len(x)} sequences but {len(y)} labels{first}")
    hidden = _dry_run(probed, x, y, default_loss=loss is None)
    title += ", an output at every step" if outputs == "all" else ""
    return probed, x, {"simple": simple, "title": title, "hidden_size": hidden}


def _dry_run(p: Probed, x: torch.Tensor, y: torch.Tensor, default_loss: bool) -> int:
    """Run the probe batch through the model once; its hidden size, or a WatchError saying what went wrong."""
    try:
        with torch.no_grad():
            u, value = p.forward(x, y)
    except Exception as exc:  # the user's step, head or loss refused the batch: say where, with their message
        if p.outputs == "last":
            reads = "the head receives the top layer's output at the last step, (batch, directions * hidden)"
        else:
            reads = "the head receives the top layer's output at every step, (batch, time, directions * hidden)"
        if default_loss:
            reads += (
                "; with outputs='all' the default loss wants targets (batch, time) of class indices"
                if p.outputs == "all"
                else "; the default loss is cross-entropy against one class index per sequence"
            )
            reads += ", or pass loss=fn(outputs, targets) -> scalar"
        raise WatchError(
            f"the probe batch {tuple(x.shape)} could not be run through the model: {type(exc).__name__}: "
            f"{str(exc).rstrip('.')}. "
            f"{reads[0].upper()}{reads[1:]}"
        ) from None
    if not isinstance(value, torch.Tensor) or value.dim() != 0:
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise WatchError(
            f"the loss must return one number, a tensor of shape (); got {shape}: reduce it, e.g. with .mean()"
        )
    return int(u.top[0].trace.hs[0].shape[-1]) if u.top[0].trace.hs else 0


def watch(
    rnn: nn.Module,
    head: nn.Module,
    probe_batch: tuple[torch.Tensor, torch.Tensor],
    store: str | os.PathLike | Store | None = None,
    **options: Any,
) -> Watch:
    """Record your own loop: `rnn` is an nn.RNN/LSTM/GRU (any number of layers, either direction), or the module
    of a custom cell whose one-step function you pass as step=fn(x_t, state) -> (h_t, state) with state0; `head`
    maps the top layer's output to class scores; `probe_batch` is a fixed (inputs, targets) batch. With
    outputs="all" the head reads every step (a language model, a tagger); `loss` is the probe's loss,
    any function (outputs, targets) -> scalar (default: cross-entropy). See docs/python-api.md."""
    return Watch(rnn, head, probe_batch, store, **options)
