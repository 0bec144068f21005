"""The probe of a watched model that rnnviz's own probe does not cover: stacked and bidirectional layers, an output
and a loss at every step, a custom cell. Every per-time-step quantity is recorded per stream (layer and direction)
under "l1r/grad_h" and the like; the top layer's forward stream is recorded under the plain names too, so that
every page reads such a run as it reads rnnviz's own.

With an output at every step, the gradient reaching h_t of a top-layer stream is split into the part from the
output at t itself (grad_h_local), the part that travelled back from later steps (grad_h_later: the total minus
the local part) and the part from the loss at the stream's last step alone (grad_h_last, ||dL_T/dh_t||).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .cells import GATE_HIGH, GATE_LOW, GATES, TANH_GATES
from .jacobians import chain_factors, spectral_norms
from .quantities.shared import hist as _hist
from .quantities.shared import hist_ranges
from .unroll import Stream, Unrolled, state_tensors, with_tensors

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class Probed:
    """What the probe unrolls and how it scores it: the model as `watch` was given it."""

    unroll: Callable[[torch.Tensor], Unrolled]  # batch-first x (B, T, I) -> the unrolled pass
    head: nn.Module
    outputs: str  # "last": head(out[:, -1]); "all": head(out), an output at every step
    loss: LossFn  # (head's output, targets) -> scalar
    cell: str  # rnn, lstm, gru or custom
    nonlinearity: str
    step: Callable | None = None  # a custom cell's one-step function, for its Jacobians

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[Unrolled, torch.Tensor]:
        u = self.unroll(x)
        return u, self.loss(self.head(u.out[:, -1] if self.outputs == "last" else u.out), y)


def ranges(cell: str, nonlinearity: str) -> dict[str, tuple[float, float]]:
    """Histogram ranges: rnnviz's cells' own; a custom cell's h over -1..1 (values beyond land in the end bins)."""
    return hist_ranges(cell, nonlinearity) if cell in GATES else {"h_last": (-1.0, 1.0), "h_all": (-1.0, 1.0)}


def edges(cell: str, nonlinearity: str, bins: int) -> dict[str, np.ndarray]:
    return {k: np.linspace(lo, hi, bins + 1) for k, (lo, hi) in ranges(cell, nonlinearity).items()}


def _norms(grads: list[torch.Tensor], B: int) -> torch.Tensor:
    """Mean over the batch of each gradient's norm, x B (undoing the 1/B of a mean loss), stacked: (T,)."""
    return torch.stack(grads, 1).norm(dim=2).mean(0) * B


def custom_jacobians(step: Callable, stream: Stream, x: torch.Tensor, examples: int) -> torch.Tensor:
    """||ds_T/ds_t||_2 for t = 1..T of a custom cell's whole state s, by autograd through its step, meaned over
    the first `examples` sequences: (T,)."""
    shapes = [(1, *s.shape[1:]) for s in state_tensors(stream.states[0])]  # one sequence's state tensors
    sizes = [int(torch.Size(shape).numel()) for shape in shapes]

    def one(flat: torch.Tensor, xt: torch.Tensor) -> torch.Tensor:
        """s_t flattened -> s_{t+1} flattened, for one sequence."""
        parts = [p.reshape(shape) for p, shape in zip(flat.split(sizes), shapes)]
        state = with_tensors(stream.states[0], parts)
        return torch.cat([s.reshape(-1) for s in state_tensors(step(xt, state)[1])])

    T, D = len(stream.states) - 1, sum(sizes)
    norms = []
    for e in range(examples):
        J = torch.eye(D, dtype=x.dtype, device=x.device)
        chain = [torch.linalg.matrix_norm(J, ord=2)]
        for t in range(T - 1, 0, -1):  # J_t = J_{t+1} A_{t+1}, A_{t+1} = ds_{t+1}/ds_t, read from x[:, t]
            flat = torch.cat([s[e : e + 1].detach().reshape(-1) for s in state_tensors(stream.states[t])])
            xt = x[e : e + 1, t]
            J = J @ torch.autograd.functional.jacobian(lambda f, xt=xt: one(f, xt), flat)
            chain.append(torch.linalg.matrix_norm(J, ord=2))
        norms.append(torch.stack(chain[::-1]))
    return torch.stack(norms).mean(0)


def _stream_arrays(
    p: Probed, s: Stream, grad: torch.Tensor, threshold: float, x: torch.Tensor, jacobian_examples: int
) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
    """The per-time-step quantities of one stream; grad: (T + 1,) ||dL/dh_t|| for t = 0..T (t = 0: NaN where the
    stream's start is a custom state)."""
    hs = s.hs()  # (B, T, H)
    absh = hs.abs()
    arrays = {"grad_h": grad[1:], "sat_t": (absh > threshold).float().mean((0, 2)), "mean_abs_h_t": absh.mean((0, 2))}
    for g, v in s.trace.gates.items():
        arrays[f"gate_mean_t/{g}"] = v.detach().mean((0, 2))
    scalars: dict[str, float] = {}
    if s.view is not None:
        sigma = spectral_norms(s.view.rnn.weight_hh_l0.detach()[None])[0]
        why_arrays = chain_factors(s.view.as_model(), s.trace, hs.detach(), grad, jacobian_examples, sigma)
        arrays.update(why_arrays)
        scalars = {"sigma_max_whh": sigma.item(), "tanh_slope_mean": why_arrays["tanh_slope"].mean().item()}
        for name in ("jacobian_norm", "forget_path"):
            if name in why_arrays:
                scalars[f"{name}_t1"] = why_arrays[name][0].item()
    else:
        arrays["step_gain"] = torch.where(grad[1:] > 0, grad[:-1] / grad[1:].clamp_min(1e-38), torch.nan)
        for k, (name, v) in enumerate(s.tanhs.items()):
            slope = (1 - v.detach() ** 2).mean((0, 2))
            arrays[f"tanh_slope_{name}"] = slope
            arrays[f"sat_t_{name}"] = (v.detach().abs() > threshold).float().mean((0, 2))
            if k == 0:  # the first tanh it names is the one the Why charts draw
                arrays["tanh_slope"] = slope
                scalars["tanh_slope_mean"] = slope.mean().item()
        E = min(jacobian_examples, len(x))
        if E and p.step is not None:
            with torch.enable_grad():
                arrays["jacobian_norm"] = custom_jacobians(p.step, s, x, E)
            scalars["jacobian_norm_t1"] = arrays["jacobian_norm"][0].item()
    return arrays, scalars


def probe_streams(
    p: Probed, x: torch.Tensor, y: torch.Tensor, threshold: float, bins: int, jacobian_examples: int = 0
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """The probe of a watched model (see the module's docstring): arrays and scalars to record."""
    u, loss = p.forward(x, y)
    B, T = x.shape[:2]
    nodes = [h for s in u.streams for h in ([s.h0] if s.h0 is not None else []) + s.trace.hs]
    every = p.outputs == "all"
    grads = torch.autograd.grad(loss, [u.out, *nodes], retain_graph=every)
    g_out, rest = grads[0], list(grads[1:])
    per_stream: dict[str, torch.Tensor] = {}  # ||dL/dh_t|| for t = 0..T
    hs_grads: dict[str, torch.Tensor] = {}  # dL/dh_t for t = 1..T, (B, T, H)
    for s in u.streams:
        start = _norms([rest.pop(0)], B) if s.h0 is not None else x.new_full((1,), torch.nan)
        hs_grads[s.name] = torch.stack([rest.pop(0) for _ in s.trace.hs], 1)
        per_stream[s.name] = torch.cat([start, hs_grads[s.name].norm(dim=2).mean(0) * B])
    parts = _parts(u, g_out, hs_grads, B) if every else {}
    arrays: dict[str, torch.Tensor | np.ndarray] = {}
    scalars: dict[str, float] = {"probe_loss": loss.item()}
    primary = u.top[0]
    with torch.no_grad():
        for s in u.streams:
            values, stream_scalars = _stream_arrays(p, s, per_stream[s.name], threshold, x, jacobian_examples)
            values.update(parts.get(s.name, {}))
            if len(u.streams) > 1:  # one stream is recorded under the plain names only
                arrays.update({f"{s.name}/{k}": v for k, v in values.items()})
            if s is primary:
                arrays.update(values)
                scalars.update(stream_scalars)
        hs = primary.hs()
        rng = ranges(p.cell, p.nonlinearity)
        arrays["hist/h_last"] = _hist(hs[:, -1], *rng["h_last"], bins)
        arrays["hist/h_all"] = _hist(hs, *rng["h_all"], bins)
        arrays["unit_sat_h"] = torch.stack(
            [(hs < -threshold).float().mean((0, 1)), (hs > threshold).float().mean((0, 1))]
        )
        tr = primary.trace
        if "preact" in rng:
            arrays["hist/preact"] = _hist(tr.preact, *rng["preact"], bins)
        if tr.cs is not None:
            arrays["hist/c"] = _hist(tr.cs, *rng["c"], bins)
        for gate, v in tr.gates.items():
            arrays[f"hist/gate_{gate}"] = _hist(v, *rng[f"gate_{gate}"], bins)
            if gate not in TANH_GATES:
                arrays[f"unit_sat/{gate}"] = torch.stack(
                    [(v < GATE_LOW).float().mean((0, 1)), (v > GATE_HIGH).float().mean((0, 1))]
                )
        for name in ("grad_h", "grad_h_last") if every else ("grad_h",):
            g = arrays[name]
            scalars[f"{name}_ratio"] = float(g[0]) / max(float(g[-1]), 1e-30)
    out = {
        k: np.asarray(v.cpu().numpy() if isinstance(v, torch.Tensor) else v, dtype=np.float32)
        for k, v in arrays.items()
    }
    return out, scalars


def _parts(
    u: Unrolled, g_out: torch.Tensor, hs_grads: dict[str, torch.Tensor], B: int
) -> dict[str, dict[str, torch.Tensor]]:
    """Per top-layer stream, the gradient reaching h_t split by where it comes from (see the module's docstring);
    g_out: dL/d out (B, T, D*H), the part of the gradient that enters each position from its own output;
    hs_grads: each stream's total dL/dh_t (B, T, H)."""
    H = u.top[0].trace.hs[0].shape[1]
    T = g_out.shape[1]
    parts: dict[str, dict[str, torch.Tensor]] = {}
    for d, s in enumerate(u.top):
        local = g_out[:, :, d * H : (d + 1) * H]  # (B, T, H) at the sequence's positions
        local = local.flip(1) if s.reverse else local  # on the stream's own time axis
        total = hs_grads[s.name]  # (B, T, H)
        # the loss at the stream's last step alone: its position's output gradient, sent back through the graph
        mask = torch.zeros_like(g_out)
        end = 0 if s.reverse else T - 1
        mask[:, end, d * H : (d + 1) * H] = g_out[:, end, d * H : (d + 1) * H]
        last = torch.autograd.grad(u.out, s.trace.hs, grad_outputs=mask, retain_graph=d + 1 < len(u.top))
        parts[s.name] = {
            "grad_h_local": local.norm(dim=2).mean(0) * B,
            "grad_h_later": (total - local).norm(dim=2).mean(0) * B,
            "grad_h_last": _norms(list(last), B),
        }
    return parts
