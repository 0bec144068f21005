"""Why the gradient vanishes: the chain of Jacobians dh_T/dh_t, its Pascanu bound, tanh slopes, gate paths.

The gradient reaching step t is dL/dh_t = (dh_T/dh_t)^T dL/dh_T, and dh_T/dh_t = A_T ... A_{t+1} is a product
of the step Jacobians A_k = ds_k/ds_{k-1} of the recurrent state s (h; for the LSTM, (h, c)). Each A_k is
written out below from the unrolled pass's values; tests/test_jacobians.py checks the products against
torch.autograd.functional.jacobian of the sequence's tail rerun from s_t.
"""

from __future__ import annotations

import numpy as np
import torch

from .models import SeqClassifier, Trace, layer0


def _rows(v: torch.Tensor) -> torch.Tensor:
    """(N, H) -> (N, H, 1): scales the rows of a (N, H, H) matrix, i.e. diag(v) @ M."""
    return v[..., None]


def step_jacobians(model: SeqClassifier, trace: Trace, examples: int) -> torch.Tensor:
    """A_t = ds_t/ds_{t-1} for t = 2..T of the first `examples` sequences: (E, T-1, D, D), D = H (2H for the
    LSTM, state (h, c) in that order)."""
    E = examples
    w_hh = layer0(model.rnn)[1].detach()
    hs = torch.stack([h.detach() for h in trace.hs], 1)[:E]  # (E, T, H)
    hprev, h = hs[:, :-1], hs[:, 1:]  # (E, T-1, H) each: h_{t-1}, h_t for t = 2..T
    gate = {name: v.detach()[:E, 1:] for name, v in trace.gates.items()}  # (E, T-1, H)
    if model.cell == "rnn":
        a = trace.preact.detach()[:E, 1:]
        slope = 1 - h**2 if model.nonlinearity == "tanh" else (a > 0).to(a.dtype)  # phi'(a_t)
        return _rows(slope) * w_hh  # diag(phi'(a_t)) W_hh
    if model.cell == "lstm":
        W_i, W_f, W_g, W_o = w_hh.chunk(4)  # (H, H) each
        i, f, g, o = gate["i"], gate["f"], gate["g"], gate["o"]
        cs = trace.cs.detach()[:E]  # type: ignore[union-attr]
        cprev, c = cs[:, :-1], cs[:, 1:]
        tc = torch.tanh(c)
        # c_t = f c_{t-1} + i g, h_t = o tanh(c_t), every gate a function of h_{t-1}
        dc_dh = _rows(cprev * f * (1 - f)) * W_f + _rows(g * i * (1 - i)) * W_i + _rows(i * (1 - g**2)) * W_g
        dh_dh = _rows(tc * o * (1 - o)) * W_o + _rows(o * (1 - tc**2)) * dc_dh
        dh_dc = torch.diag_embed(o * (1 - tc**2) * f)
        dc_dc = torch.diag_embed(f)
        return torch.cat([torch.cat([dh_dh, dh_dc], -1), torch.cat([dc_dh, dc_dc], -1)], -2)  # (E, T-1, 2H, 2H)
    W_r, W_z, W_n = w_hh.chunk(3)
    b_n = layer0(model.rnn)[3].detach().chunk(3)[2]
    r, z, n = gate["r"], gate["z"], gate["n"]
    hn = hprev @ W_n.T + b_n  # (E, T-1, H): the recurrent part of n's argument, before the reset gate
    # h_t = (1 - z) n + z h_{t-1}, n = tanh(x_n + r hn)
    dr = _rows(r * (1 - r)) * W_r
    dz = _rows(z * (1 - z)) * W_z
    dn = _rows(1 - n**2) * (_rows(hn) * dr + _rows(r) * W_n)
    return torch.diag_embed(z) + _rows(1 - z) * dn + _rows(hprev - n) * dz


def state_jacobians(model: SeqClassifier, trace: Trace, examples: int) -> torch.Tensor:
    """dh_T/dh_t (for the LSTM d(h_T, c_T)/d(h_t, c_t)) for t = 1..T of the first `examples` sequences:
    (E, T, D, D), the identity at t = T."""
    A = step_jacobians(model, trace, examples)  # (E, T-1, D, D)
    E, _, D, _ = A.shape
    J = torch.eye(D, dtype=A.dtype, device=A.device).expand(E, D, D)
    chain = [J]
    for k in range(A.shape[1] - 1, -1, -1):  # J_t = J_{t+1} A_{t+1}
        J = J @ A[:, k]
        chain.append(J)
    return torch.stack(chain[::-1], 1)


def gate_path(gate: torch.Tensor) -> torch.Tensor:
    """prod_{k=t+1..T} gate_k for t = 1..T (1 at t = T): gate (B, T, H) -> (B, T, H)."""
    tail = torch.flip(torch.cumprod(torch.flip(gate, [1]), 1), [1])  # prod_{k=t..T}
    return torch.cat([tail[:, 1:], torch.ones_like(gate[:, :1])], 1)


def tanh_slopes(model: SeqClassifier, trace: Trace) -> dict[str, torch.Tensor]:
    """phi'(a_t) of the tanh that makes h_t, (B, T, H): RNN 1 - h_t^2 (relu: 1 where a_t > 0), LSTM the tanh of
    the cell state (under "tanh_slope") and of the candidate g ("tanh_slope_g"), GRU the candidate n."""
    if model.cell == "rnn":
        hs = torch.stack([h.detach() for h in trace.hs], 1)  # (B, T, H)
        a = trace.preact.detach()
        return {"tanh_slope": 1 - hs**2 if model.nonlinearity == "tanh" else (a > 0).to(a.dtype)}
    if model.cell == "lstm":
        cs = trace.cs.detach()  # type: ignore[union-attr]
        return {"tanh_slope": 1 - torch.tanh(cs) ** 2, "tanh_slope_g": 1 - trace.gates["g"].detach() ** 2}
    return {"tanh_slope": 1 - trace.gates["n"].detach() ** 2}


@torch.no_grad()
def why(
    model: SeqClassifier, trace: Trace, grad_h: torch.Tensor, examples: int, sigma: torch.Tensor
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """The factors of the vanishing gradient, per time step t = 1..T, from the probe's unrolled pass, its
    grad_h (T + 1,): mean ||dL/dh_t|| over the batch for t = 0..T, and sigma: ||W_hh||_2, the largest singular
    value. Arrays and scalars to record."""
    arrays: dict[str, torch.Tensor] = {}
    slopes = tanh_slopes(model, trace)
    for name, s in slopes.items():
        arrays[name] = s.mean((0, 2))  # (T,)
    # ||dL/dh_{t-1}|| / ||dL/dh_t||; a gradient that underflowed to 0 gives no ratio (NaN)
    arrays["step_gain"] = torch.where(grad_h[1:] > 0, grad_h[:-1] / grad_h[1:].clamp_min(1e-38), torch.nan)
    if model.cell == "rnn":
        # Pascanu et al. 2013: ||A_t|| <= ||W_hh||_2 max_i phi'(a_t,i); the max over the batch too, so that the
        # bound holds for the batch's mean norms
        arrays["step_bound"] = sigma * slopes["tanh_slope"].amax((0, 2))
    gate = {"lstm": "f", "gru": "z"}.get(model.cell)
    if gate:
        arrays["forget_path"] = gate_path(trace.gates[gate].detach()).mean((0, 2))
    E = min(examples, trace.hs[0].shape[0])
    if E > 0:
        # the exact largest singular value (LAPACK's SVD): ~1.4 ms a 128 x 128 matrix, ~7 ms a 256 x 256 one
        arrays["jacobian_norm"] = torch.linalg.matrix_norm(state_jacobians(model, trace, E), ord=2).mean(0)
    scalars = {"tanh_slope_mean": arrays["tanh_slope"].mean().item()}
    for name in ("jacobian_norm", "forget_path"):
        if name in arrays:
            scalars[f"{name}_t1"] = arrays[name][0].item()
    return {k: v.cpu().numpy() for k, v in arrays.items()}, scalars
