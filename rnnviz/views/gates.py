"""Views of the Gates page (LSTM and GRU runs): per-step gate means, per-unit gate saturation, histograms."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .. import cells, figures
from ..cells import GATE_NAMES, TANH_GATES
from ..figures import Style
from .common import DEFAULT, RunData, along, probe_index

GATE_COLORS = {g: figures.color(k) for k, g in enumerate("ifgorzn")}  # a gate's colour in every figure


def gates_of(run: RunData) -> tuple[str, ...]:
    return cells.gates_of(run.cfg.cell)


def _gated(run: RunData) -> tuple[str, ...]:
    gates = gates_of(run)
    if not gates:
        raise ValueError(f"run {run.label} is a {run.cfg.cell} run: it has no gates (LSTM and GRU runs do)")
    return gates


def _gate_probe(run: RunData, at: int | None) -> tuple[np.ndarray, int]:
    steps = run.series(f"gate_mean_t/{_gated(run)[0]}")[0]
    if len(steps) == 0:
        raise ValueError(f"run {run.label} has no probe recorded yet")
    return steps, probe_index(steps, at)


def gate_means(run: RunData, at: int | None = None, style: Style = DEFAULT, key: str = "gates-mean") -> go.Figure:
    steps, j = _gate_probe(run, at)
    means = []
    for g in gates_of(run):
        values = run.series(f"gate_mean_t/{g}")[1]
        means.append((f"{g} ({GATE_NAMES[g]})", np.arange(1, 1 + values.shape[1]), values[j], GATE_COLORS[g]))
    title = f"Mean gate value per time step (probe at step {int(steps[j]):,})"
    return figures.lines(means, title, "mean activation", key, style, xtitle="time step t", growing_x=False)


def gate_scatter(run: RunData, at: int | None = None, style: Style = DEFAULT, key: str = "gates-scatter") -> go.Figure:
    steps, j = _gate_probe(run, at)
    scatter = [(g, run.series(f"unit_sat/{g}")[1][j], GATE_COLORS[g]) for g in gates_of(run) if g not in TANH_GATES]
    return figures.unit_saturation_scatter(
        scatter, f"Gate saturation per unit (probe at step {int(steps[j]):,})", key, style
    )


def gate_histograms(run: RunData, name: str, style: Style = DEFAULT, key: str | None = None) -> go.Figure:
    """One gate's (or, with name "c", the LSTM cell state's) histogram over training."""
    if name not in (*_gated(run), "c"):
        raise ValueError(f"run {run.label} has gates {', '.join(gates_of(run))}, not {name!r}")
    steps, counts, edges = run.histograms("c" if name == "c" else f"gate_{name}")
    title = "Cell state c" if name == "c" else f"Gate {name} ({GATE_NAMES[name]})"
    return figures.histogram_over_training(
        along(run, steps, style), counts, edges, f"{title} over training", key or f"gates-h-{name}", style
    )


def histogrammed_gates(run: RunData) -> list[str]:
    return cells.histogrammed(run.cfg.cell)
