"""Unrolling any recurrent model for `watch`'s probe: stacked and bidirectional nn.RNN/LSTM/GRU layers, one
(layer, direction) stream at a time over the module's own weights, and custom cells given their one-step function.

A stream's time axis is its own: the backward direction's step 1 reads the sequence's last position.
tests/test_unroll.py checks each pass against the module's fused output and gradients.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

import torch
from torch import nn

from .models import MODULE_CELLS, SeqClassifier, Trace
from .streams import stream_name

State = Any  # a custom cell's state: a tensor, or a tuple / list of tensors
StepFn = Callable[[torch.Tensor, State], tuple[torch.Tensor, State]]

# The named tanh activations of a custom cell's step, collected while the probe unrolls it (see `tanh`).
_TAPS: contextvars.ContextVar[dict[str, list[torch.Tensor]] | None] = contextvars.ContextVar("taps", default=None)


def tanh(a: torch.Tensor, name: str) -> torch.Tensor:
    """torch.tanh(a), named for rnnviz: inside a custom cell's step, `rnnviz.tanh(c, "c")` has the probe record
    that tanh's saturation and slope per time step. Outside a probe it is torch.tanh and records nothing."""
    out = torch.tanh(a)
    taps = _TAPS.get()
    if taps is not None:
        taps.setdefault(name, []).append(out)
    return out


class LayerView:
    """One layer and direction of a torch RNN module, seen as the single-layer classifier whose step, unrolled
    pass and Jacobians (models.SeqClassifier, jacobians.chain_factors) read `cell`, `nonlinearity` and
    `rnn.weight_*_l0`: those names point at this layer's own weights, so nothing is copied or rewritten."""

    step = SeqClassifier.step  # what SeqClassifier.unrolled calls on its model

    def __init__(self, module: nn.RNN | nn.LSTM | nn.GRU, layer: int, reverse: bool) -> None:
        suffix = f"_l{layer}{'_reverse' if reverse else ''}"
        w_ih, w_hh = getattr(module, "weight_ih" + suffix), getattr(module, "weight_hh" + suffix)
        if module.bias:
            b_ih, b_hh = getattr(module, "bias_ih" + suffix), getattr(module, "bias_hh" + suffix)
        else:  # a module without biases is the same cell with zero biases
            b_ih, b_hh = w_ih.new_zeros(w_ih.shape[0]), w_hh.new_zeros(w_hh.shape[0])
        self.rnn = SimpleNamespace(weight_ih_l0=w_ih, weight_hh_l0=w_hh, bias_ih_l0=b_ih, bias_hh_l0=b_hh)
        self.cell = MODULE_CELLS[type(module)]
        self.nonlinearity = module.nonlinearity if isinstance(module, nn.RNN) else "tanh"
        self.hidden_size = module.hidden_size
        self.head = nn.Identity()  # the trace's "logits" are then h_T

    def as_model(self) -> SeqClassifier:
        """This view where a SeqClassifier is read (jacobians.chain_factors reads the same attributes)."""
        return cast(SeqClassifier, self)


@dataclass
class Stream:
    """One (layer, direction) of the unrolled model, or a custom cell: its trace on its own time axis."""

    name: str
    layer: int
    reverse: bool
    trace: Trace  # hs: T x (B, H), live graph nodes
    h0: torch.Tensor | None  # (B, H) leaf the stream starts from, so that dL/dh_0 is measured; None: a custom state
    view: LayerView | None = None  # None for a custom cell
    tanhs: dict[str, torch.Tensor] = field(default_factory=dict)  # a custom cell's named tanh, (B, T, H) each
    states: list[State] = field(default_factory=list)  # a custom cell's states s_0..s_T, for its Jacobians

    def hs(self) -> torch.Tensor:
        """Every h_t, detached: (B, T, H)."""
        return torch.stack([h.detach() for h in self.trace.hs], 1)


@dataclass
class Unrolled:
    """The probe's pass over a whole model: the top layer's output at every position and every stream."""

    out: torch.Tensor  # (B, T, D*H): what the fused module returns as its output (batch first)
    streams: list[Stream]
    top: list[Stream]  # the top layer's streams, whose outputs `out` concatenates (forward first)


def unroll_module(rnn: nn.RNN | nn.LSTM | nn.GRU, x: torch.Tensor) -> Unrolled:
    """Unroll a (stacked, bidirectional) nn.RNN/LSTM/GRU on a batch-first x (B, T, I) from the zero state,
    as the module computes it in eval mode (no dropout between layers)."""
    B, T, _ = x.shape
    streams: list[Stream] = []
    inp = x  # (B, T, I), then (B, T, D*H) between layers
    top: list[Stream] = []
    for layer in range(rnn.num_layers):
        top, outs = [], []
        for reverse in (False, True) if rnn.bidirectional else (False,):
            view = LayerView(rnn, layer, reverse)
            h0 = x.new_zeros(B, rnn.hidden_size, requires_grad=True)
            trace = SeqClassifier.unrolled(view.as_model(), inp.flip(1) if reverse else inp, h0)
            stream = Stream(stream_name(layer, reverse), layer, reverse, trace, h0, view)
            streams.append(stream)
            top.append(stream)
            hs = torch.stack(trace.hs, 1)  # (B, T, H) on the stream's own time axis
            outs.append(hs.flip(1) if reverse else hs)  # back to the sequence's positions
        inp = torch.cat(outs, 2) if len(outs) > 1 else outs[0]
    return Unrolled(inp, streams, top)


def state_tensors(state: State) -> list[torch.Tensor]:
    """The tensors a custom cell's state holds, in order."""
    if isinstance(state, torch.Tensor):
        return [state]
    if isinstance(state, tuple | list) and all(isinstance(s, torch.Tensor) for s in state):
        return list(state)
    raise TypeError(f"a state must be a tensor or a tuple of tensors, got {type(state).__name__}")


def with_tensors(state: State, tensors: list[torch.Tensor]) -> State:
    """A state of the same structure as `state` holding `tensors`."""
    return tensors[0] if isinstance(state, torch.Tensor) else type(state)(tensors)


def unroll_cell(step: StepFn, state0: State, x: torch.Tensor) -> Unrolled:
    """Unroll a custom cell's one-step function (x_t (B, I), state) -> (h_t (B, H), state) over x (B, T, I)
    from state0, collecting the tanh it names with `rnnviz.tanh`."""
    taps: dict[str, list[torch.Tensor]] = {}
    token = _TAPS.set(taps)
    try:
        state, hs, states = state0, [], [state0]
        for t in range(x.shape[1]):
            h, state = step(x[:, t], state)
            hs.append(h)
            states.append(state)
    finally:
        _TAPS.reset(token)
    T = len(hs)
    tanhs = {name: torch.stack(v, 1) for name, v in taps.items() if len(v) == T}  # (B, T, H') each
    out = torch.stack(hs, 1)  # (B, T, H)
    trace = Trace(logits=hs[-1], hs=hs, preact=out.new_zeros(0))
    stream = Stream("cell", 0, False, trace, None, None, tanhs, states)
    return Unrolled(out, [stream], [stream])
