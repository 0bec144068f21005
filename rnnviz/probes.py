"""Diagnostics: cheap per-step statistics and the unrolled probe pass (dL/dh_t, histograms, gates)."""

from __future__ import annotations

import numpy as np
import torch

from .config import TANH_GATES
from .jacobians import why
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


def param_grad_norms(model: SeqClassifier) -> dict[str, float]:
    """L2 norm of the gradient of each parameter tensor, plus their global norm under 'global'."""
    names, grads = zip(*[(n, p.grad) for n, p in model.named_parameters() if p.grad is not None])
    norms = torch.stack(torch._foreach_norm(list(grads)))
    values = norms.tolist()
    out = dict(zip(names, values))
    out["global"] = float(torch.linalg.vector_norm(norms))
    return out


def saturation(hs: torch.Tensor, threshold: float) -> tuple[float, float]:
    """Fraction of |h| > threshold over all time steps, and at the last step. hs: (B, T, H)."""
    B, T, H = hs.shape
    per_t = hs.detach().abs().gt_(threshold).sum((0, 2))  # (T,); in-place float ops: 3x faster than bool
    return per_t.sum().item() / (B * T * H), per_t[-1].item() / (B * H)


def _hist(x: torch.Tensor, lo: float, hi: float, bins: int) -> np.ndarray:
    x = x.detach().float().reshape(-1).clamp(lo, hi)
    return torch.histc(x, bins=bins, min=lo, max=hi).cpu().numpy().astype(np.float32)


def probe(
    model: SeqClassifier,
    x: torch.Tensor,
    y: torch.Tensor,
    threshold: float,
    bins: int,
    jacobian_examples: int = 0,
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Unrolled pass on a fixed batch: arrays (per time step, histograms, per unit, the factors of the gradient's
    decay from jacobians.why, dh_T/dh_t on the first `jacobian_examples` sequences) and scalars."""
    h0 = x.new_zeros(len(x), model.hidden_size, requires_grad=True)  # a node, so that dL/dh_0 is measured too
    trace = model.unrolled(x, h0)
    loss = loss_fn(trace.logits, y)
    dh = torch.autograd.grad(loss, [h0, *trace.hs])  # (T + 1) x (B, H), total derivative dL/dh_t, t = 0..T
    with torch.no_grad():
        hs = torch.stack([h.detach() for h in trace.hs], 1)  # (B, T, H)
        absh = hs.abs()
        # mean over the batch of ||dL/dh_t||; x B undoes the 1/B of the mean loss
        grad_h = torch.stack(dh, 1).norm(dim=2).mean(0) * len(x)  # (T + 1,)
        arrays: dict[str, np.ndarray] = {
            "grad_h": grad_h[1:].cpu().numpy(),  # (T,)
            "sat_t": (absh > threshold).float().mean((0, 2)).cpu().numpy(),  # (T,)
            "mean_abs_h_t": absh.mean((0, 2)).cpu().numpy(),  # (T,)
            # per unit: fraction of (example, step) with h < -thr and with h > thr
            "unit_sat_h": torch.stack([(hs < -threshold).float().mean((0, 1)), (hs > threshold).float().mean((0, 1))])
            .cpu()
            .numpy(),  # (2, H)
        }
        ranges = hist_ranges(model.cell, model.nonlinearity)
        arrays["hist/h_last"] = _hist(hs[:, -1], *ranges["h_last"], bins)
        arrays["hist/h_all"] = _hist(hs, *ranges["h_all"], bins)
        arrays["hist/preact"] = _hist(trace.preact, *ranges["preact"], bins)
        if trace.cs is not None:
            arrays["hist/c"] = _hist(trace.cs, *ranges["c"], bins)
        for g, v in trace.gates.items():  # v: (B, T, H)
            arrays[f"hist/gate_{g}"] = _hist(v, *ranges[f"gate_{g}"], bins)
            arrays[f"gate_mean_t/{g}"] = v.mean((0, 2)).cpu().numpy()  # (T,)
            if g not in TANH_GATES:
                arrays[f"unit_sat/{g}"] = (
                    torch.stack([(v < GATE_LOW).float().mean((0, 1)), (v > GATE_HIGH).float().mean((0, 1))])
                    .cpu()
                    .numpy()
                )  # (2, H)
        sigma = torch.linalg.matrix_norm(layer0(model.rnn)[1].detach(), ord=2)
        why_arrays, why_scalars = why(model, trace, grad_h, jacobian_examples, sigma)
        arrays.update(why_arrays)
        scalars = {
            **why_scalars,
            "probe_loss": loss.item(),
            "sigma_max_whh": sigma.item(),
            "grad_h_ratio": float(arrays["grad_h"][0] / max(arrays["grad_h"][-1], 1e-30)),
        }
    return {k: np.asarray(v, dtype=np.float32) for k, v in arrays.items()}, scalars


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
