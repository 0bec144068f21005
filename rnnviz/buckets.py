"""Scalars summarised per bucket of training steps (count, min, max, mean and last), and the line a chart draws
from them: pure numpy, shared by the store's multi-resolution levels and the figures."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np


@dataclass(frozen=True)
class Buckets:
    """A scalar over training steps, in buckets of `width` steps: bucket k holds steps k*width .. (k+1)*width-1
    and only buckets holding a step are kept. Width 1 is the exact record, one bucket per step. NaN (a value
    that was not finite, stored as NULL) counts in no statistic but `last`; min and max keep the step they
    were reached at, so a line through them keeps every spike (`line`)."""

    width: int
    bucket: np.ndarray  # (K,) int64, ascending
    n: np.ndarray  # (K,) int64: values that are not NaN
    min: np.ndarray  # (K,) float64, NaN where n == 0
    min_step: np.ndarray  # (K,) int64
    max: np.ndarray  # (K,) float64
    max_step: np.ndarray  # (K,) int64
    sum: np.ndarray  # (K,) float64, over the values that are not NaN
    last: np.ndarray  # (K,) float64: the value at the bucket's last recorded step
    last_step: np.ndarray  # (K,) int64

    def __len__(self) -> int:
        return len(self.bucket)

    @property
    def start(self) -> np.ndarray:
        """Each bucket's first step (its nominal start, whether or not that step was recorded)."""
        return self.bucket * self.width

    @property
    def mean(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.n > 0, self.sum / np.maximum(self.n, 1), np.nan)

    def line(self) -> tuple[np.ndarray, np.ndarray]:
        """The points a chart draws: every step at width 1; else each bucket's min and max at the steps they
        were reached, in step order (a line through them covers what the whole record would, pixel for
        pixel, at one bucket a pixel), and the last recorded value at the end."""
        if self.width == 1 or len(self) == 0:
            return self.bucket.copy(), self.last.copy()
        empty = self.n == 0
        swap = self.max_step < self.min_step  # the max came first
        x = np.stack([np.where(swap, self.max_step, self.min_step), np.where(swap, self.min_step, self.max_step)], 1)
        y = np.stack([np.where(swap, self.max, self.min), np.where(swap, self.min, self.max)], 1)
        x[empty], y[empty] = self.start[empty, None], np.nan  # a bucket of NaNs is a gap
        keep = np.ones_like(x, dtype=bool)
        keep[:, 1] = x[:, 1] != x[:, 0]
        x, y = x[keep], y[keep]
        if self.last_step[-1] > x[-1]:
            x, y = np.append(x, self.last_step[-1]), np.append(y, self.last[-1])
        return x, y


def exact(steps: np.ndarray, values: np.ndarray) -> Buckets:
    """The record itself as buckets of one step: steps ascending and unique, values float (NaN for none)."""
    steps = np.asarray(steps, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    finite = ~np.isnan(values)
    return Buckets(
        1, steps, finite.astype(np.int64), values, steps, values, steps, np.where(finite, values, 0.0), values, steps
    )


def merge(b: Buckets, width: int) -> Buckets:
    """Coarser buckets of `width` steps (a multiple of b.width) from finer ones: exact, since count, min, max,
    sum and last of a union are those of its parts."""
    if width % b.width:
        raise ValueError(f"cannot merge buckets of {b.width} steps into buckets of {width}")
    if width == b.width or len(b) == 0:
        return b if width == b.width else empty(width)
    group = b.start // width
    change = np.ones(len(group), dtype=bool)  # not np.r_: an append merges a few dozen buckets, many times
    np.not_equal(group[1:], group[:-1], out=change[1:])
    starts = np.flatnonzero(change)
    ends = np.append(starts[1:], len(group)) - 1
    seen = b.n > 0
    # the bucket reaching each group's min (max): sort within groups by value, buckets of NaNs last
    by_min = np.lexsort((np.where(seen, b.min, np.inf), ~seen, group))[starts]
    by_max = np.lexsort((np.where(seen, -b.max, np.inf), ~seen, group))[starts]
    n = np.add.reduceat(b.n, starts)
    has = n > 0
    return Buckets(
        width,
        group[starts],
        n,
        np.where(has, b.min[by_min], np.nan),
        b.min_step[by_min],
        np.where(has, b.max[by_max], np.nan),
        b.max_step[by_max],
        np.add.reduceat(b.sum, starts),
        b.last[ends],
        b.last_step[ends],
    )


def concat(parts: list[Buckets]) -> Buckets:
    """Buckets of consecutive ranges of steps, in order, as one Buckets at the finest of their widths (each
    width divides the next coarser one), ready to `merge`."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty()
    width = min(p.width for p in parts)
    rest = [f.name for f in fields(Buckets)[2:]]
    scaled = [Buckets(width, p.bucket * (p.width // width), *(getattr(p, f) for f in rest)) for p in parts]
    return Buckets(width, *(np.concatenate([getattr(p, f.name) for p in scaled]) for f in fields(Buckets)[1:]))


def reduce(steps: np.ndarray, values: np.ndarray, width: int) -> Buckets:
    """A record (steps ascending and unique) summarised in buckets of `width` steps."""
    return merge(exact(steps, values), width) if width > 1 else exact(steps, values)


def empty(width: int = 1) -> Buckets:
    """No record yet."""
    ints, floats = np.zeros(0, np.int64), np.zeros(0)
    return Buckets(width, ints, ints, floats, ints, floats, ints, floats, floats, ints)


def width_for(first: int, last: int, points: int) -> int:
    """The bucket width that draws steps first..last in at most about `points` buckets."""
    return max(1, -(-(last - first + 1) // max(points, 1)))


def line(steps: np.ndarray, values: np.ndarray, points: int) -> tuple[np.ndarray, np.ndarray]:
    """A long series (steps ascending and unique) as the points that draw it in `points` buckets (every point
    when it has at most twice that many): min and max per bucket, so that no spike is averaged away."""
    steps, values = np.asarray(steps), np.asarray(values, dtype=float)
    if len(steps) <= 2 * points:
        return steps, values
    return reduce(steps.astype(np.int64), values, width_for(int(steps[0]), int(steps[-1]), points)).line()
