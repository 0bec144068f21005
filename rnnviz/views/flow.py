"""Views of the Gradient flow page: ||dL/dh_t|| over time steps and training, per-parameter and global norms."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from .. import figures
from ..figures import Style
from .common import DEFAULT, RunData, along, layer_of, no_probe, parameter_label, per_time_step, run_colour


def _per_layer(run: RunData, params: list[str], style: Style) -> list[figures.Line]:
    """A watched stacked or bidirectional module's parameters, one line per layer and direction: the norm of all
    its weights' and biases' gradients together (the head's parameters keep a line each)."""
    groups: dict[str, list[str]] = {}
    for n in params:
        groups.setdefault(
            layer_of(n.removeprefix("grad_norm/")) or parameter_label(n.removeprefix("grad_norm/")), []
        ).append(n)
    lines = []
    for k, (label, names) in enumerate(groups.items()):
        steps, values = run.scalar(names[0])
        for n in names[1:]:
            values = np.hypot(values, run.scalar(n)[1])  # every step records every parameter: the steps align
        lines.append((label, along(run, steps, style), values, figures.color(k)))
    return lines


def gradient_flow(
    runs: Sequence[RunData],
    style: Style = DEFAULT,
    key: str = "gf-heat",
    zrange: tuple[float, float] | None = None,
) -> go.Figure:
    T = float(runs[0].cfg.seq_len if runs else 28)
    empty = figures.Empty("no probe yet", y=(1.0, T))
    maps = []
    for r in runs:
        steps, grads = r.series("grad_h")
        maps.append((r.label, along(r, steps, style), grads))
    return figures.gradient_heatmaps(maps, key, style, zrange, empty)


def gradient_scale(runs: Sequence[RunData]) -> tuple[float, float] | None:
    """The gradient heatmap's colour scale for these runs, (floor, top) in log10: the one their whole records
    give, which the scrubber and a replay hold while they show the runs cut at an earlier step."""
    return figures.gradient_decades([r.series("grad_h")[1] for r in runs])


def gradient_curve(
    runs: Sequence[RunData], at: int | None = None, style: Style = DEFAULT, key: str = "gf-curve"
) -> go.Figure:
    curves = per_time_step(runs, "grad_h", at)  # a gradient that underflowed to 0 is marked at the floor
    scrubbed = any(getattr(r, "until", None) is not None for r in runs)  # a page showing an earlier step
    title = (
        "||dL/dh_t|| against time step"
        if at is not None
        else "||dL/dh_t|| at the step shown"
        if scrubbed
        else "||dL/dh_t|| at each run's latest probe"
    )
    return figures.lines(
        curves,
        title,
        "||dL/dh_t||",
        key,
        style,
        log_y=True,
        xtitle="time step t",
        growing_x=False,
        empty=no_probe(runs),
    )


def _same(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> bool:
    return len(a[1]) > 0 and a[0].shape == b[0].shape and bool(np.allclose(a[1], b[1], rtol=1e-5, equal_nan=True))


def shared_span(runs: Sequence[RunData], style: Style = DEFAULT) -> tuple[float, float] | None:
    """The training-step range a page's charts of one run each share, as the heatmap's panels do: from 0 to the
    round number above the furthest step the runs have reached. A run behind the others (the LSTM trains at
    about half the RNN's pace) fills its chart part of the way, where its own range had drawn its 1,000 steps
    as wide as the RNN's 2,000. None before any run's first step. A tuple: it is part of a live chart's recipe."""
    steps = [along(r, np.array([float(r.row["step"] or 0)]), style) for r in runs]
    span = figures.held_range([s for s in steps if s[0] > 0], pad=0.0)
    return (span[0], span[1]) if span else None


def param_norms(
    run: RunData, style: Style = DEFAULT, key: str | None = None, xspan: tuple[float, float] | None = None
) -> go.Figure:
    """Each parameter's gradient norm, named in words; the x axis spans at least `xspan` (shared_span). The
    RNN's and LSTM's two biases are added in the same sum (W_ih x + b_ih + W_hh h + b_hh), so their gradients
    are equal: b_hh's line, drawn dashed over b_ih's, says so in the legend rather than hiding under it."""
    params = [n for n in run.scalar_names() if n.startswith("grad_norm/") and n != "grad_norm/global"]
    # weights before biases, the recurrent layer before the head; b_hh after b_ih, so that it is drawn on top
    order = ("weight_hh", "weight_ih", "bias_ih", "bias_hh", "head.weight", "head.bias")
    params.sort(key=lambda n: (next((k for k, part in enumerate(order) if part in n), len(order)), n))
    if len({layer_of(n.removeprefix("grad_norm/")) for n in params} - {None}) > 1:
        lines = _per_layer(run, params, style)
        title = f"{run.label}: gradient norm per layer"
        return figures.lines(lines, title, "||dL/dθ||", key or f"gf-param-{run.id}", style, log_y=True, xspan=xspan)
    per, same = [], []
    for k, n in enumerate(params):
        label = parameter_label(n.removeprefix("grad_norm/"))
        twin = n.replace("bias_hh", "bias_ih")
        if twin != n and twin in params and _same(run.scalar(n), run.scalar(twin)):
            label = f"{label.split(' (')[0]} (same as b_ih)"
            same.append(label)
        steps, values = run.scalar(n)
        per.append((label, along(run, steps, style), values, figures.color(k)))
    title = f"{run.label}: gradient norm per parameter"
    fig = figures.lines(per, title, "||dL/dθ||", key or f"gf-param-{run.id}", style, log_y=True, xspan=xspan)
    return fig.update_traces(line_dash="dash", line_width=3, selector=lambda t: t.name in same)


def clipped_share(run: RunData) -> float | None:
    """Fraction of steps on which clipping fired, or None when the run does not clip."""
    clipped = run.scalar_view("clipped", points=1)
    return float(clipped.sum.sum() / clipped.n.sum()) if run.cfg.clip > 0 and clipped.n.sum() else None


def global_norm(
    run: RunData, style: Style = DEFAULT, key: str | None = None, xspan: tuple[float, float] | None = None
) -> go.Figure:
    """The global gradient norm with clipping marked; the x axis spans at least `xspan` (shared_span)."""
    steps, norm = run.scalar("grad_norm/global")
    at, clipped = run.scalar("clipped")  # a watched loop records no clipping
    return figures.norm_with_clipping(
        run.label,
        along(run, steps, style),
        norm,
        along(run, at[clipped > 0], style),
        run.cfg.clip,
        key or f"gf-global-{run.id}",
        style,
        colour=run_colour(run),
        xspan=xspan,
    )
