"""The per-time-step figures at T = 784 against T = 28: time to build and serialise them, and bytes sent.

A 5,000-step run probed every 100 steps has 50 probes of ||dL/dh_t|| and of the saturated share per time
step. The figures (gradient-flow heatmap, ||dL/dh_t|| curve, saturation per time step) are built for one
run at T = 28 (the baseline) and at T = 784 (pixel by pixel), serialised as the dashboard sends them, and
timed (median of repeats, interleaved). The recorded arrays keep every time step; only the figures
aggregate. Target: T = 784 costs at most 2x T = 28 in time and bytes.

    python bench/bench_figures.py [--probes 50] [--repeats 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rnnviz import views  # noqa: E402
from rnnviz.config import RunConfig  # noqa: E402


class FakeRun:
    """A run's readers over synthetic records: gradients that decay by 0.9 a step back, as a vanilla RNN's."""

    def __init__(self, T: int, probes: int) -> None:
        self.id, self.label, self.row = 1, f"1 · T={T}", {"status": "finished", "error": None}
        self.cfg = RunConfig(view="pixels" if T == 784 else "rows", cell="rnn")
        steps = np.arange(probes) * 100 + 1
        decay = 0.9 ** np.arange(T)[::-1]  # t = T gets the full gradient
        rng = np.random.default_rng(0)
        self._series = {
            "grad_h": (steps, (decay * rng.uniform(0.5, 1.5, (probes, T))).astype(np.float32)),
            "sat_t": (steps, rng.uniform(0, 1, (probes, T)).astype(np.float32)),
        }

    def scalar_names(self) -> list[str]:
        return []

    def scalar(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(0, np.int64), np.zeros(0)

    def series(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        return self._series[name]

    def histograms(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raise KeyError(name)


def draw(run: FakeRun) -> tuple[float, int]:
    """Seconds to build and serialise the three per-time-step figures, and their JSON bytes."""
    t0 = time.perf_counter()
    sent = sum(
        len(fig.to_json())
        for fig in (
            views.gradient_flow([run]),
            views.gradient_curve([run]),
            views.saturation_per_time_step([run]),
        )
    )
    return time.perf_counter() - t0, sent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--probes", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()
    runs = {T: FakeRun(T, args.probes) for T in (28, 784)}
    draw(runs[28])  # warm up imports and caches
    times: dict[int, list[float]] = {28: [], 784: []}
    sizes: dict[int, int] = {}
    for _ in range(args.repeats):
        for T, run in runs.items():
            seconds, sizes[T] = draw(run)
            times[T].append(seconds)
    median = {T: statistics.median(v) for T, v in times.items()}
    for T in (28, 784):
        print(f"T = {T:3d}: {1000 * median[T]:6.1f} ms to build and serialise, {sizes[T] / 1024:6.1f} KiB sent")
    print(f"T = 784 / T = 28: time {median[784] / median[28]:.2f}x, bytes {sizes[784] / sizes[28]:.2f}x (target <= 2x)")


if __name__ == "__main__":
    main()
