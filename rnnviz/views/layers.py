"""The views of a watched model's layers, directions and outputs (streams.py names what is recorded): the gradient
reaching layer l at step t, each direction on its own time axis, a quantity per layer, and the gradient split by
where it comes from. A run these do not apply to gets axes and a note that says why, in words."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from .. import figures, quantities
from ..figures import Style
from ..streams import PARTS, stream_label, streams_of

DEFAULT = Style()
DASHES = ("solid", "dash", "dot", "dashdot")
BOTH = " (each direction's own)"
ONE_STREAM = "one layer read one way: nothing per layer (the charts above are all of it)"
NO_NAMED_TANH = "the cell's step names no tanh: wrap one in rnnviz.tanh(a, 'name') to record it"
LAST_ONLY = "output read at the last step only: all of its gradient comes back from t = T"


def streams_in(run: Any) -> list[str]:
    """The streams a run recorded (l0, l0r, l1, ...), bottom layer first; [] for a run of one stream."""
    return streams_of(run.array_names())


def _at(steps: np.ndarray, at: int | None) -> int:
    """Index of the probe at or before `at` (the latest when None; the first when none is before it)."""
    return len(steps) - 1 if at is None else max(int(np.searchsorted(steps, at, side="right")) - 1, 0)


def depth_time(run: Any, at: int | None = None, style: Style = DEFAULT, key: str | None = None) -> go.Figure:
    """log10 ||dL/dh_t|| at one probe, depth and time together: a row per layer and direction (the first layer at
    the bottom), time step t across, each direction on its own time axis (a backward row's t = 1 reads the
    sequence's last position). The colour scale spans the whole decades of the values drawn."""
    key = key or f"layers-heat-{run.id}"
    streams = streams_in(run)
    rows, labels, step = [], [], None
    for s in streams:
        steps, values = run.series(f"{s}/grad_h")
        j = _at(steps, at)
        step = int(steps[j])
        rows.append(values[j])
        labels.append(stream_label(s) + (" (t = 1: last position)" if s.endswith("r") else ""))
    title = f"{run.label}: gradient reaching layer l at step t" + (f" (probe at step {step:,})" if step else "")
    if not rows:
        empty = figures.Empty(ONE_STREAM, x=(1.0, float(run.cfg.seq_len)))
        return figures.lines([], title, "layer", key, style, xtitle="time step t", growing_x=False, empty=empty)
    flow = np.stack(rows).astype(float)  # (S, T)
    # a gradient of exactly 0 (a direction the head reads only at its first step) is left blank and said so: on
    # the colour scale it would sit 38 decades down and squash every other value into one colour
    zero = flow == 0
    held = figures.held_range([np.where(zero, np.nan, flow)], log=True) or [-1.0, 0.0]
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(zero, np.nan, np.log10(flow))
    t = np.arange(1, flow.shape[1] + 1)
    heat = go.Heatmap(
        x=t,
        y=labels,
        z=z,
        zmin=held[0],
        zmax=held[1],
        colorscale="Viridis",
        colorbar=dict(title="log10 ||dL/dh_t||", title_side="right"),
        hovertemplate="%{y}<br>t = %{x}<br>log10 ||dL/dh_t|| = %{z:.2f}<extra></extra>",
    )
    notes = []
    if zero.any():
        notes.append(
            dict(
                text="blank: exactly 0, no gradient reaches these steps",
                xref="paper",
                yref="paper",
                x=1.0,
                y=1.0,
                xanchor="right",
                yanchor="bottom",
                showarrow=False,
                font=dict(size=style.font_size, color="#888888"),
            )
        )
    layout = figures.base_layout(
        style,
        title,
        key,
        xaxis=dict(
            title=dict(text=f"time step t{BOTH if any(s.endswith('r') for s in streams) else ''}"), automargin=True
        ),
        yaxis=dict(title=dict(text=""), automargin=True, type="category"),
        annotations=notes,
    )
    return figures.tidy_axes(go.Figure(data=[heat], layout=layout))


def per_layer(
    run: Any, name: str = "grad_h", at: int | None = None, style: Style = DEFAULT, key: str | None = None
) -> go.Figure:
    """One per-time-step quantity at one probe, a line per layer and direction, titled and scaled as the registry
    declares it (rnnviz/quantities/)."""
    q = quantities.find(name)
    if q is None or q.kind != quantities.PER_STEP:
        raise ValueError(f"{name!r} is not a per-time-step quantity of the registry (rnnviz/quantities/)")
    title, ytitle, log = f"{q.title.format(threshold=run.cfg.saturation)}, per layer and direction", q.axis, q.log
    lines: list[figures.Line] = []
    step = None
    for k, s in enumerate(streams_in(run)):
        steps, values = run.series(f"{s}/{name}")
        if len(steps):
            j = _at(steps, at)
            step = int(steps[j])
            lines.append((stream_label(s), np.arange(1, values.shape[1] + 1), values[j], figures.color(k)))
    title = f"{run.label}: {title}" + (f" (probe at step {step:,})" if step else "")
    empty = figures.Empty(ONE_STREAM, x=(1.0, float(run.cfg.seq_len)))
    return figures.lines(
        lines,
        title,
        ytitle,
        key or f"layers-{name}-{run.id}",
        style,
        log_y=log,
        xtitle="time step t",
        growing_x=False,
        empty=empty,
    )


def gradient_parts(
    runs: Sequence[Any], at: int | None = None, style: Style = DEFAULT, key: str = "gf-parts"
) -> go.Figure:
    """With an output at every step, the gradient reaching h_t of the top layer (forward) by where it comes from:
    all of it, from the output at t itself, travelled back from later steps, and from the last step's loss
    alone; a line per part (dashes tell the runs apart). The long-range part is the one that vanishes."""
    lines: list[figures.Line] = []
    dashes: dict[str, str] = {}
    step = None
    for n, r in enumerate(r for r in runs if has_parts(r)):
        for k, (name, words) in enumerate(PARTS.values()):
            steps, values = r.series(name)
            j = _at(steps, at)
            step = int(steps[j])
            label = f"{r.label}: {words}"
            lines.append((label, np.arange(1, values.shape[1] + 1), values[j], figures.color(k)))
            dashes[label] = DASHES[n % len(DASHES)]  # the parts' colours shared, a dash per run
    title = "Where the gradient reaching h_t comes from" + (f" (probe at step {step:,})" if step else "")
    T = float(runs[0].cfg.seq_len if runs else 28)
    empty = figures.Empty(LAST_ONLY, x=(1.0, T))
    fig = figures.lines(
        lines, title, "||dL/dh_t|| (part)", key, style, log_y=True, xtitle="time step t", growing_x=False, empty=empty
    )
    for trace in fig.data:
        if trace.name in dashes:
            trace.line.dash = dashes[trace.name]
    return fig


def named_tanh(
    run: Any, at: int | None = None, style: Style = DEFAULT, key: str | None = None, slope: bool = False
) -> go.Figure:
    """A custom cell's tanh that its step names with rnnviz.tanh: the saturated share per time step at one probe,
    a line per name (sat_t_<name>, recorded by layered.py at the run's saturation threshold); with `slope`, their
    mean slope φ' (tanh_slope_<name>)."""
    lines: list[figures.Line] = []
    step = None
    for k, name in enumerate(tanh_names(run)):
        steps, values = run.series(f"{'tanh_slope' if slope else 'sat_t'}_{name}")
        j = _at(steps, at)
        step = int(steps[j])
        lines.append((f"tanh({name})", np.arange(1, values.shape[1] + 1), values[j], figures.color(k)))
    said = (
        "mean slope φ' of each named tanh"
        if slope
        else f"saturated share of each named tanh (|tanh| > {run.cfg.saturation:g})"
    )
    title = f"{run.label}: {said}" + (f" (probe at step {step:,})" if step else "")
    empty = figures.Empty(NO_NAMED_TANH, x=(1.0, float(run.cfg.seq_len)))
    return figures.lines(
        lines,
        title,
        "mean φ'" if slope else "fraction",
        key or f"{'sat-slope' if slope else 'sat-named'}-{run.id}",
        style,
        xtitle="time step t",
        growing_x=False,
        empty=empty,
    )


def tanh_names(run: Any) -> list[str]:
    """The tanh a custom cell's step names with rnnviz.tanh, as recorded."""
    return [n.removeprefix("sat_t_") for n in run.array_names() if n.startswith("sat_t_")]


def has_parts(run: Any) -> bool:
    """Whether a run recorded an output at every step (its gradient split by where it comes from)."""
    return len(run.series("grad_h_last")[0]) > 0
