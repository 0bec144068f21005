"""Diagnostics: cheap per-step statistics and the unrolled probe pass (dL/dh_t, histograms, gates)."""

from __future__ import annotations

import numpy as np
import torch

from .config import TANH_GATES
from .jacobians import spectral_norms, why
from .models import GATES, SeqClassifier, layer0, loss_fn

GATE_LOW, GATE_HIGH = 0.1, 0.9  # Karpathy et al. 2015: left- / right-saturated gate


def hist_ranges(cell: str, nonlinearity: str) -> dict[str, tuple[float, float]]:
    """Fixed (lo, hi) of every histogram of a model; values outside land in the outer bins."""
    h = (0.0, 6.0) if cell == "rnn" and nonlinearity == "relu" else (-1.0, 1.0)
    ranges = {"h_last": h, "h_all": h, "preact": (-10.0, 10.0)}
    if cell == "lstm":
        ranges["c"] = (-10.0, 10.0)
    for g in GATES[cell]:
        ranges[f"gate_{g}"] = (-1.0, 1.0) if g in TANH_GATES else (0.0, 1.0)
    return ranges


def hist_edges(cell: str, nonlinearity: str, bins: int) -> dict[str, np.ndarray]:
    return {k: np.linspace(lo, hi, bins + 1) for k, (lo, hi) in hist_ranges(cell, nonlinearity).items()}


def _hist(x: torch.Tensor, lo: float, hi: float, bins: int) -> torch.Tensor:
    x = x.detach().float().reshape(-1).clamp(lo, hi)
    return torch.histc(x, bins=bins, min=lo, max=hi)


def to_host(arrays: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    """Device tensors to float32 numpy arrays of the same shapes, in one transfer."""
    flat = torch.cat([v.detach().float().reshape(-1) for v in arrays.values()]).cpu().numpy()
    out, at = {}, 0
    for k, v in arrays.items():
        out[k] = flat[at : at + v.numel()].reshape(v.shape)
        at += v.numel()
    return out


def probe(
    model: SeqClassifier,
    x: torch.Tensor,
    y: torch.Tensor,
    threshold: float,
    bins: int,
    jacobian_examples: int = 0,
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Unrolled pass on a fixed batch: arrays (per time step, histograms, per unit, the factors of the gradient's
    decay from jacobians.why, dh_T/dh_t on the first `jacobian_examples` sequences) and scalars. Everything is
    computed on the model's device and moved to the host in one transfer."""
    h0 = x.new_zeros(len(x), model.hidden_size, requires_grad=True)  # a node, so that dL/dh_0 is measured too
    trace = model.unrolled(x, h0)
    loss = loss_fn(trace.logits, y)
    dh = torch.autograd.grad(loss, [h0, *trace.hs])  # (T + 1) x (B, H), total derivative dL/dh_t, t = 0..T
    with torch.no_grad():
        hs = torch.stack([h.detach() for h in trace.hs], 1)  # (B, T, H)
        absh = hs.abs()
        # mean over the batch of ||dL/dh_t||; x B undoes the 1/B of the mean loss
        grad_h = torch.stack(dh).norm(dim=2).mean(1) * len(x)  # (T + 1,)
        arrays: dict[str, torch.Tensor] = {
            "grad_h": grad_h[1:],  # (T,)
            "sat_t": (absh > threshold).float().mean((0, 2)),  # (T,)
            "mean_abs_h_t": absh.mean((0, 2)),  # (T,)
            # per unit: fraction of (example, step) with h < -thr and with h > thr
            "unit_sat_h": torch.stack([(hs < -threshold).float().mean((0, 1)), (hs > threshold).float().mean((0, 1))]),
        }
        ranges = hist_ranges(model.cell, model.nonlinearity)
        arrays["hist/h_last"] = _hist(hs[:, -1], *ranges["h_last"], bins)
        arrays["hist/h_all"] = _hist(hs, *ranges["h_all"], bins)
        arrays["hist/preact"] = _hist(trace.preact, *ranges["preact"], bins)
        if trace.cs is not None:
            arrays["hist/c"] = _hist(trace.cs, *ranges["c"], bins)
        for g, v in trace.gates.items():  # v: (B, T, H)
            arrays[f"hist/gate_{g}"] = _hist(v, *ranges[f"gate_{g}"], bins)
            arrays[f"gate_mean_t/{g}"] = v.mean((0, 2))  # (T,)
            if g not in TANH_GATES:
                arrays[f"unit_sat/{g}"] = torch.stack(
                    [(v < GATE_LOW).float().mean((0, 1)), (v > GATE_HIGH).float().mean((0, 1))]
                )  # (2, H)
        sigma = spectral_norms(layer0(model.rnn)[1].detach()[None])[0]
        arrays.update(why(model, trace, hs, grad_h, jacobian_examples, sigma))
        host = to_host({**arrays, "probe_loss": loss.detach(), "sigma_max_whh": sigma})
    scalars = {k: float(host.pop(k)) for k in ("probe_loss", "sigma_max_whh")}
    scalars["tanh_slope_mean"] = float(host["tanh_slope"].mean())
    for name in ("jacobian_norm", "forget_path"):
        if name in host:
            scalars[f"{name}_t1"] = float(host[name][0])
    scalars["grad_h_ratio"] = float(host["grad_h"][0] / max(host["grad_h"][-1], 1e-30))
    return host, scalars


@torch.no_grad()
def evaluate(
    model: SeqClassifier, xs: torch.Tensor, ys: torch.Tensor, to_float, batch: int = 1000
) -> tuple[float, float]:
    """Accuracy (NaN for a regression) and mean loss over a whole split (xs as stored, to_float reads them)."""
    correct, total_loss = 0, 0.0
    device = next(model.parameters()).device
    for s in range(0, len(xs), batch):
        x = to_float(xs[s : s + batch].to(device))
        y = ys[s : s + batch].to(device)
        logits, _ = model(x)
        total_loss += loss_fn(logits, y).item() * len(y)
        if not y.is_floating_point():
            correct += (logits.argmax(1) == y).sum().item()
    return correct / len(xs) if not ys.is_floating_point() else float("nan"), total_loss / len(xs)
