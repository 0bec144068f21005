"""The task the stacked, bidirectional and Lightning examples learn: is the first of T noisy values positive?
Generated from a seed, so it needs no download; the answer sits at t = 1, so the gradient has to reach it."""

from __future__ import annotations

import torch


def batches(n: int, batch: int = 32, T: int = 40, features: int = 4, seed: int = 0):
    """n (x, y) batches: x (batch, T, features) standard normal, y = 1 where x[:, 0, 0] > 0."""
    g = torch.Generator().manual_seed(seed)
    for _ in range(n):
        x = torch.randn(batch, T, features, generator=g)
        yield x, (x[:, 0, 0] > 0).long()
