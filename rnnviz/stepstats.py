"""A training step's statistics kept on the device: a few fused reductions per step, and the rows moved to the
host together, one transfer per batch of steps, so that the step's path never waits for the device."""

from __future__ import annotations

import torch


def grad_norms(grads: list[torch.Tensor]) -> torch.Tensor:
    """(P + 1,) on the device: the L2 norm of each gradient, then their global norm (one fused reduction)."""
    norms = torch.stack(torch._foreach_norm(grads))  # (P,)
    return torch.cat([norms, torch.linalg.vector_norm(norms)[None]])


def clip_(grads: list[torch.Tensor], total: torch.Tensor, clip: float) -> torch.Tensor:
    """Scale the gradients to a global norm of `clip` where `total` exceeds it, as
    torch.nn.utils.clip_grad_norm_ does, without asking the host; returns whether they were clipped (0-d)."""
    clipped = total > clip
    torch._foreach_mul_(grads, torch.where(clipped, clip / (total + 1e-6), torch.ones_like(total)))
    return clipped


def saturated_counts(hs: torch.Tensor, threshold: float) -> torch.Tensor:
    """(2,): how many |h| exceed the threshold over all time steps, and at the last. hs: (B, T, H), overwritten
    (the step's graph is gone by then; writing in place saves two copies of it)."""
    beyond = hs.detach().abs_().gt_(threshold)  # (B, T, H) of 0 and 1; in place, float: 5x faster than a bool copy
    return torch.stack([beyond.sum(), beyond[:, -1].sum()])


class StepRows:
    """Rows of named per-step values held on the device until `drain` moves them all to the host at once."""

    def __init__(self) -> None:
        self.pending: list[tuple[int, tuple[str, ...], torch.Tensor, dict[str, float]]] = []

    def add(self, step: int, names: tuple[str, ...], row: torch.Tensor, host: dict[str, float] | None = None) -> None:
        """Hold one step's values (row: (len(names),) on the device, float32), without reading them; `host`:
        values the step already has on the host, recorded with them."""
        self.pending.append((step, names, row, host or {}))

    def drain(self) -> list[tuple[int, dict[str, float]]]:
        """Every held step's values, in order, as host floats; one transfer for them all."""
        if not self.pending:
            return []
        values = torch.cat([row for _, _, row, _ in self.pending]).tolist()
        out, at = [], 0
        for step, names, _, host in self.pending:
            out.append((step, {**host, **dict(zip(names, values[at : at + len(names)]))}))
            at += len(names)
        self.pending = []
        return out
