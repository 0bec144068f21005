"""Views of the Saturation page: hidden activations at a probe, their saturated share over training and per time
step, the tanh's pre-activations, and the histogram's animation over training."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from .. import figures
from ..figures import Style
from .common import DEFAULT, RunData, along, beyond, hidden_label, no_probe, per_time_step, probe_index, run_colour


def saturation_histogram(
    runs: Sequence[RunData],
    at: int | None = None,
    which: str = "h_all",
    threshold: float | None = None,
    style: Style = DEFAULT,
    key: str = "sat-hist",
) -> go.Figure:
    bars = []
    for r in runs:
        steps, counts, edges = r.histograms(which)
        if len(steps):
            j = probe_index(steps, at)
            bars.append((f"{r.label} (probe at step {int(steps[j]):,})", edges, counts[j], run_colour(r)))
    if threshold is None:
        threshold = runs[0].cfg.saturation if runs else 0.99
    title = f"Hidden activations h ({hidden_label(which)})"
    return figures.histogram_bars(bars, title, key, style, threshold=threshold)


def saturation_over_training(
    runs: Sequence[RunData],
    which: str = "h_all",
    threshold: float | None = None,
    style: Style = DEFAULT,
    key: str = "sat-over",
) -> go.Figure:
    if threshold is None:
        threshold = runs[0].cfg.saturation if runs else 0.99
    over = []
    for r in runs:
        steps, counts, edges = r.histograms(which)
        if len(steps):
            over.append((r.label, along(r, steps, style), beyond(edges, counts, threshold), run_colour(r)))
    title = f"Share of |h| > {threshold:g} over training ({hidden_label(which)})"
    return figures.lines(over, title, "fraction", key, style, empty=figures.Empty("no probe yet"))


def saturation_per_time_step(
    runs: Sequence[RunData], at: int | None = None, style: Style = DEFAULT, key: str = "sat-per-t"
) -> go.Figure:
    per_t = per_time_step(runs, "sat_t", at)
    threshold = runs[0].cfg.saturation if runs else 0.99
    title = f"Saturated share per time step (|h| > {threshold:g})"
    return figures.lines(
        per_t, title, "fraction", key, style, xtitle="time step t", growing_x=False, empty=no_probe(runs)
    )


def preactivations(
    runs: Sequence[RunData], at: int | None = None, style: Style = DEFAULT, key: str = "sat-preact"
) -> go.Figure:
    bars = []
    for r in runs:
        steps, counts, edges = r.histograms("preact")
        if len(steps):
            bars.append((r.label, edges, counts[probe_index(steps, at)], run_colour(r)))
    return figures.histogram_bars(bars, "Pre-activations of the cell's tanh (outer bins collect |a| > 10)", key, style)


def saturation_animation(
    run: RunData, which: str = "h_all", style: Style = DEFAULT, key: str | None = None
) -> go.Figure:
    steps, counts, edges = run.histograms(which)
    return figures.histogram_animation("h", steps, counts, edges, run.label, key or f"sat-anim-{run.id}", style,
                                       colour=run_colour(run), threshold=run.cfg.saturation)  # fmt: skip


def unit_saturation(
    runs: Sequence[RunData], at: int | None = None, style: Style = DEFAULT, key: str = "sat-units"
) -> go.Figure:
    """Each hidden unit of each run at its probe for `at`, placed by the share of (example, step) it spends at
    h < -threshold (x) and h > threshold (y): a unit in a corner is stuck at -1 or +1 (Karpathy et al. 2015's
    gate scatter, for h)."""
    dots, probed = [], set()
    for r in runs:
        steps, values = r.series("unit_sat_h")
        if len(steps):
            j = probe_index(steps, at)
            probed.add(int(steps[j]))
            dots.append((f"{r.label} (probe at step {int(steps[j]):,})", values[j], run_colour(r)))
    threshold = runs[0].cfg.saturation if runs else 0.99
    # runs probed at different steps (one ended, one trains) each say theirs in the legend; the title only when shared
    shared = f", probe at step {probed.pop():,}" if len(probed) == 1 else ""
    title = f"Saturation of each hidden unit (|h| > {threshold:g})" + shared
    return figures.unit_saturation_scatter(
        dots,
        title,
        key,
        style,
        xtitle=f"share of time h < -{threshold:g}",
        ytitle=f"share of time h > {threshold:g}",
        named="{}",
    )
