"""Views of why the gradient vanishes: the chain of Jacobians, its bound, the tanh slopes, the gated cells' path."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from .. import cells, figures
from ..figures import Style
from .common import DEFAULT, RunData, along, no_probe, probe_at, run_colour, why_empty

JACOBIAN = {
    "lstm": "||d(h_T, c_T)/d(h_t, c_t)||₂",  # of the LSTM's whole state
    "custom": "||ds_T/ds_t||₂ (the cell's whole state)",
}
BOUND = "bound ∏ σ_max(W_hh) × max φ'"  # drawn dashed


def path_bound(step_bound: np.ndarray) -> np.ndarray:
    """prod_{k=t+1..T} sigma_max(W_hh) max_i phi'(a_k,i) for t = 1..T (1 at T): the Pascanu bound on
    ||dh_T/dh_t|| and on ||dL/dh_t|| / ||dL/dh_T||, from the per-step bounds (T,)."""
    tail = np.cumprod(np.asarray(step_bound, dtype=float)[::-1])[::-1]  # prod_{k=t..T}
    return np.append(tail[1:], 1.0)


def why_chain(run: RunData, at: int | None = None, style: Style = DEFAULT, key: str | None = None) -> go.Figure:
    """At one probe, against t: ||dL/dh_t|| / ||dL/dh_T|| as measured, ||dh_T/dh_t||_2 and, for the vanilla RNN,
    the bound both stay under."""
    lines: list[figures.Line] = []
    gain = probe_at(run, "step_gain", at)
    grad = probe_at(run, "grad_h", at)
    step = gain[0] if gain else None
    if gain and grad:
        g = grad[1].astype(float)
        t = np.arange(1, len(g) + 1)
        lines.append(
            ("||dL/dh_t|| / ||dL/dh_T||", t, g / g[-1] if g[-1] > 0 else np.full_like(g, np.nan), figures.color(0))
        )
        jac = probe_at(run, "jacobian_norm", at)
        if jac:
            lines.append((JACOBIAN.get(run.cfg.cell, "||dh_T/dh_t||₂"), t, jac[1], figures.color(1)))
        bound = probe_at(run, "step_bound", at)
        if bound:
            lines.append((BOUND, t, path_bound(bound[1]), figures.color(2)))
    what = "Jacobians and bound" if run.cfg.cell == "rnn" else "Jacobians"
    title = f"{run.label}: {what}" + (f" (step {step:,})" if step is not None else "")
    fig = figures.lines(
        lines,
        title,
        "norm (1 at t = T)",
        key or f"why-chain-{run.id}",
        style,
        log_y=True,
        xtitle="time step t",
        growing_x=False,
        empty=why_empty(run),
    )
    return fig.update_traces(line_dash="dash", selector=dict(name=BOUND))


def tanh_slope(
    run: RunData,
    style: Style = DEFAULT,
    key: str | None = None,
    name: str = "tanh_slope",
    xspan: tuple[float, float] | None = None,
) -> go.Figure:
    """The mean slope phi'(a_t) of the tanh that makes h_t, per time step over training (LSTM: of the cell state;
    name="tanh_slope_g" for its candidate g), over at least the training steps `xspan` (views.shared_span)."""
    steps, values = run.series(name)
    cell_tanh = cells.CELL_TANH.get(run.cfg.cell, run.cfg.nonlinearity)
    of = "tanh(g)" if name == "tanh_slope_g" else cell_tanh
    empty = why_empty(run)
    return figures.per_step_heatmap(
        along(run, steps, style),
        values,
        f"{run.label}: {of} slope over training",
        "mean φ'",
        key or f"why-slope-{run.id}",
        style,
        empty=figures.Empty(empty.note, y=empty.x),
        xspan=xspan,
    )


def gate_paths(
    runs: Sequence[RunData], at: int | None = None, style: Style = DEFAULT, key: str = "why-paths"
) -> go.Figure:
    """Two mechanisms on one axis: the gated runs' path prod_{k=t+1..T} f_k (GRU: z_k), the scale of the
    cell-state path from t to the end, beside the vanilla RNN runs' ||dh_T/dh_t||_2."""
    lines: list[figures.Line] = []
    for r in runs:
        gate = cells.path_gate(r.cfg.cell)
        name = "forget_path" if gate else "jacobian_norm"
        found = probe_at(r, name, at)
        if found:
            what = f"mean ∏ {gate}" if gate else "||dh_T/dh_t||₂"
            t = np.arange(1, len(found[1]) + 1)
            lines.append((f"{r.label}: {what} (step {found[0]:,})", t, found[1], run_colour(r)))
    return figures.lines(
        lines,
        "Cell-state path ∏ f_k against the RNN's Jacobian",
        "from t to T",
        key,
        style,
        log_y=True,
        xtitle="time step t",
        growing_x=False,
        empty=why_empty(runs[0]) if runs else no_probe(runs),
    )
