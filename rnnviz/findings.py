"""Plain-language readings of a run, computed from its recorded numbers (shown under the charts)."""

from __future__ import annotations

import numpy as np
import pandas as pd

VANISHED = 1e-6  # a gradient ratio below this between t = 1 and t = T: nothing reaches the start


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def gradient_reading(flow: np.ndarray) -> str | None:
    """How much of the last step's gradient reaches the first time step, at the latest probe."""
    if flow.size == 0:
        return None
    last = flow[-1]
    if not np.isfinite(last).all() or last[-1] <= 0:
        return None
    ratio = float(last[0]) / float(last[-1])
    T = len(last)
    if ratio == 0:
        return f"no gradient at all reaches t = 1 from t = {T}: it underflowed to 0 (float32)"
    if ratio < VANISHED:
        exponent = np.log10(max(ratio, 1e-300))
        return f"the gradient reaching t = 1 is 1e{exponent:.0f} of the one at t = {T}: it has vanished"
    return f"the gradient reaching t = 1 is {ratio:.2g}x the one at t = {T}: it still flows back"


def run_findings(
    label: str, scalars: pd.DataFrame, flow: np.ndarray, status: str, threshold: float, error: str | None = None
) -> str:
    """One sentence about a run: saturation, the course of test accuracy, and the gradient at t = 1."""
    parts = []
    wide = scalars.pivot_table(index="step", columns="name", values="value") if len(scalars) else pd.DataFrame()
    if "saturated" in wide:
        sat = wide["saturated"].dropna().tail(50)
        if len(sat):
            parts.append(f"{_pct(sat.mean())} of hidden activations saturated (|h| > {threshold:g})")
    if "test_accuracy" in wide:
        acc = wide["test_accuracy"].dropna()
        if len(acc):
            best_step, best = int(acc.idxmax()), float(acc.max())
            last_step, last = int(acc.index[-1]), float(acc.iloc[-1])
            if best - last >= 0.1:
                parts.append(
                    f"test accuracy fell from {_pct(best)} (step {best_step}) to {_pct(last)} (step {last_step})"
                )
            else:
                parts.append(f"test accuracy {_pct(last)} at step {last_step}")
    elif "accuracy" in wide:
        acc = wide["accuracy"].dropna().tail(50)
        if len(acc):
            parts.append(f"batch accuracy {_pct(acc.mean())} over the last {len(acc)} steps")
    reading = gradient_reading(flow)
    if reading:
        parts.append(reading)
    if status in ("diverged", "failed", "interrupted") and error:
        parts.append(f"{status}: {error}")
    if not parts:
        return f"**{label}**: no steps recorded yet."
    return f"**{label}**: " + "; ".join(parts) + "."


def reading(run) -> str:
    """`run_findings` for a run with the views' readers (a dashboard RunView or an API Run)."""
    parts = [
        pd.DataFrame({"step": steps, "name": name, "value": values})
        for name in ("saturated", "test_accuracy", "accuracy")
        for steps, values in [run.scalar(name)]
        if len(steps)
    ]
    scalars = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["step", "name", "value"])
    return run_findings(
        run.label, scalars, run.series("grad_h")[1], run.row["status"], run.cfg.saturation, run.row["error"]
    )
