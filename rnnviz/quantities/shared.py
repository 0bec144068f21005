"""The probe's one shared unrolled pass, as the registry's `compute` functions read it: the tensors every quantity
starts from (h_t stacked, ||dL/dh_t||, the gates), each derived once when first read, still on the device."""

from __future__ import annotations

from functools import cached_property

import numpy as np
import torch

from ..cells import GATE_HIGH, GATE_LOW, GATES, TANH_GATES
from ..jacobians import chain_factors, spectral_norms
from ..models import SeqClassifier, Trace, layer0
from . import PROBE, of_cell


def hist_ranges(cell: str, nonlinearity: str) -> dict[str, tuple[float, float]]:
    """Fixed (lo, hi) of every histogram of a model; values outside land in the outer bins."""
    h = (0.0, 6.0) if cell == "rnn" and nonlinearity == "relu" else (-1.0, 1.0)
    ranges = {"h_last": h, "h_all": h, "preact": (-10.0, 10.0)}
    if cell == "lstm":
        ranges["c"] = (-10.0, 10.0)
    for g in GATES[cell]:
        ranges[f"gate_{g}"] = (-1.0, 1.0) if g in TANH_GATES else (0.0, 1.0)
    return ranges


def hist(x: torch.Tensor, lo: float, hi: float, bins: int) -> torch.Tensor:
    """Counts of x in `bins` equal bins over lo..hi, float32; values outside land in the outer bins, NaN in none.

    The counts of torch.histc, by its own arithmetic in float32 (bin = int((x - lo) * bins / (hi - lo)), the top
    edge in the last bin) and one bincount: histc's per-element loop took 1.6-2.8 ms over the probe's 358,400
    values, a third of the RNN's probe without the chain (tests/test_quantities.py checks it against histc on
    every bin edge and its neighbouring floats)."""
    lo32 = torch.tensor(lo, dtype=torch.float32)
    span = float(torch.tensor(hi, dtype=torch.float32) - lo32)  # as histc's edges subtract, in float32
    at = x.detach().float().reshape(-1).clamp(lo, hi).sub_(float(lo32)).mul_(bins).div_(span)  # in 0..bins
    counts = torch.bincount(at.nan_to_num_(nan=bins + 1).to(torch.int32), minlength=bins + 2)  # NaN at bins + 1
    return torch.cat([counts[: bins - 1], counts[bins - 1 : bins + 1].sum()[None]]).float()


def per_unit(v: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """Per unit of v (B, T, H): the share of (example, step) below `low` and above `high`, (2, H): counts over
    B T, then one division, the float32 mean's own (sum, then divide) without a float copy of v."""
    counts = torch.stack([(v < low).sum((0, 1)), (v > high).sum((0, 1))])  # (2, H) int64
    return counts.to(v.dtype).div_(v.shape[0] * v.shape[1])


class Pass:
    """The unrolled pass of a model on the probe batch: its trace, dL/dh_t for t = 0..T (`dh`) and the loss."""

    def __init__(
        self,
        model: SeqClassifier,
        trace: Trace,
        dh: tuple[torch.Tensor, ...],
        loss: torch.Tensor,
        threshold: float,
        bins: int,
        jacobian_examples: int,
    ) -> None:
        self.model, self.trace, self.dh, self.threshold = model, trace, dh, threshold
        self.bins, self.jacobian_examples = bins, jacobian_examples
        self.loss = loss.detach()
        self.gates = trace.gates  # {gate: (B, T, H)}

    @cached_property
    def hs(self) -> torch.Tensor:
        return torch.stack([h.detach() for h in self.trace.hs], 1)  # (B, T, H)

    @cached_property
    def absh(self) -> torch.Tensor:
        return self.hs.abs()

    @cached_property
    def grad_h(self) -> torch.Tensor:
        # mean over the batch of ||dL/dh_t||, t = 0..T; x B undoes the 1/B of the mean loss
        return torch.stack(self.dh).norm(dim=2).mean(1) * len(self.hs)  # (T + 1,)

    @cached_property
    def ranges(self) -> dict[str, tuple[float, float]]:
        return hist_ranges(self.model.cell, self.model.nonlinearity)

    @cached_property
    def sigma(self) -> torch.Tensor:
        """||W_hh||_2, the largest singular value of the recurrent weights."""
        return spectral_norms(layer0(self.model.rnn)[1].detach()[None])[0]

    @cached_property
    def chain(self) -> dict[str, torch.Tensor]:
        """The factors of the gradient's decay per time step (jacobians.chain_factors)."""
        return chain_factors(self.model, self.trace, self.hs, self.grad_h, self.jacobian_examples, self.sigma)

    def hist(self, x: torch.Tensor, which: str) -> torch.Tensor:
        return hist(x, *self.ranges[which], self.bins)

    def per_unit(self, v: torch.Tensor, low: float, high: float) -> torch.Tensor:
        return per_unit(v, low, high)

    def gate_saturation(self, v: torch.Tensor) -> torch.Tensor:
        return per_unit(v, GATE_LOW, GATE_HIGH)


def compute(p: Pass) -> dict[str, torch.Tensor]:
    """Every array and device scalar the registry lists for the pass's cell, still on the device."""
    out: dict[str, torch.Tensor] = {}
    for q in of_cell(p.model.cell, PROBE):
        if q.compute is None:
            continue
        value = q.compute(p)
        if isinstance(value, dict):
            out.update({q.name.format(gate=g): v for g, v in value.items()})
        elif value is not None:
            out[q.name] = value
    return out


def derive(cell: str, arrays: dict[str, np.ndarray]) -> dict[str, float]:
    """The probe's scalars read off its recorded arrays (the registry's `derive`), those the run has."""
    out = {}
    for q in of_cell(cell, PROBE):
        if q.derive is not None and (value := q.derive(arrays)) is not None:
            out[q.name] = value
    return out
