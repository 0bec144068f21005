"""Diagnostics: cheap per-step statistics and the unrolled probe pass (dL/dh_t, histograms, gates)."""

from __future__ import annotations

import numpy as np
import torch

from .config import RunConfig
from .layered import Probed, probe_streams
from .models import SeqClassifier, loss_fn
from .quantities import SCALAR, find
from .quantities.shared import Pass, compute, derive, hist_ranges
from .store import WriteBuffer


def hist_edges(cell: str, nonlinearity: str, bins: int) -> dict[str, np.ndarray]:
    return {k: np.linspace(lo, hi, bins + 1) for k, (lo, hi) in hist_ranges(cell, nonlinearity).items()}


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
    """Unrolled pass on a fixed batch, and every quantity the registry (rnnviz/quantities/) lists for the cell:
    arrays (per time step, histograms, per unit, the factors of the gradient's decay, dh_T/dh_t on the first
    `jacobian_examples` sequences) and scalars. Everything is computed on the model's device and moved to the
    host in one transfer."""
    h0 = x.new_zeros(len(x), model.hidden_size, requires_grad=True)  # a node, so that dL/dh_0 is measured too
    trace = model.unrolled(x, h0)
    loss = loss_fn(trace.logits, y)
    dh = torch.autograd.grad(loss, [h0, *trace.hs])  # (T + 1) x (B, H), total derivative dL/dh_t, t = 0..T
    with torch.no_grad():
        host = to_host(compute(Pass(model, trace, dh, loss, threshold, bins, jacobian_examples)))
    scalars = {k: float(host.pop(k)) for k in list(host) if (q := find(k)) is not None and q.kind == SCALAR}
    scalars.update(derive(model.cell, host))
    return host, scalars


def record_probe(
    rec: WriteBuffer,
    at: int,
    target: SeqClassifier | Probed,
    x: torch.Tensor,
    y: torch.Tensor,
    cfg: RunConfig,
    saturated: bool = False,
) -> None:
    """The probe's one entry point, for rnnviz's trainer and for rnnviz.watch alike: the unrolled pass on the probe
    batch (x, y) at training step `at`, every quantity the registry lists for the cell recorded into `rec`. A
    model rnnviz's own probe covers is a SeqClassifier; a watched stacked, bidirectional or custom one its
    Probed (layered.py). `saturated`: the "saturated" scalar too, for a loop that does not record it each step."""
    if isinstance(target, SeqClassifier):
        arrays, scalars = probe(target, x, y, cfg.saturation, cfg.hist_bins, cfg.jacobian_examples)
    else:
        arrays, scalars = probe_streams(target, x, y, cfg.saturation, cfg.hist_bins, cfg.jacobian_examples)
    share = float(arrays["sat_t"].mean())
    rec.array(at, arrays)
    rec.scalar(at, {**scalars, "saturated": share} if saturated else scalars)
    rec.summary["saturated_fraction"] = share


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
