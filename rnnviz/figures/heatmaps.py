"""Heatmaps over time steps and training: ||dL/dh_t|| (one panel per run on one colour scale), tanh slopes."""

from __future__ import annotations

import warnings

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .look import (
    DEFAULT_STYLE,
    MAX_COLUMNS,
    MAX_ROWS,
    Empty,
    Style,
    base_layout,
    empty_y,
    floored,
    held_range,
    note,
    subsample_columns,
    tidy_axes,
)


def _aggregate_rows(matrix: np.ndarray, max_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Average groups of time steps so that at most max_rows remain; returns (row centres 1..T, matrix)."""
    T = matrix.shape[1]
    t = np.arange(1, T + 1)
    if T <= max_rows:
        return t, matrix
    edges = np.linspace(0, T, max_rows + 1).astype(int)
    with warnings.catch_warnings():  # a group that is all gaps stays a gap
        warnings.simplefilter("ignore", RuntimeWarning)
        cols = [np.nanmean(matrix[:, a:b], 1) for a, b in zip(edges[:-1], edges[1:])]
    return np.array([t[a:b].mean() for a, b in zip(edges[:-1], edges[1:])]), np.stack(cols, 1)


NO_PROBE = Empty("no probe yet", y=(1.0, 28.0))
PANELS_PER_ROW = 4  # 7 runs side by side left each panel ~85 px, narrower than its run's name: titles overlapped


def gradient_heatmaps(
    runs: list[tuple[str, np.ndarray, np.ndarray]],
    key: str,
    style: Style = DEFAULT_STYLE,
    zrange: tuple[float, float] | None = None,
    empty: Empty = NO_PROBE,
) -> go.Figure:
    """log10 ||dL/dh_t||: time step t up, training step across; one panel per run, one colour scale. The scale
    spans whole decades of the data, or `zrange` (the whole runs' decades, while the step scrubber or a replay
    shows the runs cut at an earlier step: a colour must not change its meaning mid-talk). A run with no
    probe yet has the axes (training steps across, time steps up) and note of `empty`."""
    n = max(1, len(runs))
    cols = min(n, PANELS_PER_ROW)
    rows = -(-n // cols)
    f = style.font_size
    # each further row of panels as high as the first one's plot; between rows, room for the x axis' ticks
    # and title and the next row's panel titles
    row_px = style.height - 4 * f
    gap_px = int(5 * f) + 20
    height = style.height + 4 * f + (rows - 1) * (row_px + gap_px)
    plot_px = height - int(4.5 * f) - 26 - int(4.2 * f) - 20
    fig = make_subplots(
        rows=rows,
        cols=cols,
        specs=[[{} if r * cols + c < n else None for c in range(cols)] for r in range(rows)],  # no empty cell
        subplot_titles=[r[0] for r in runs] or [""],
        shared_yaxes=True,
        horizontal_spacing=0.04,
        vertical_spacing=min(gap_px / plot_px, 0.5) if rows > 1 else 0.0,
    )
    logs = []
    for _, _, flow in runs:
        with np.errstate(divide="ignore", invalid="ignore"):
            lg = np.log10(floored(flow))
        lg[~np.isfinite(lg)] = np.nan
        logs.append(lg)
    held = held_range([floored(flow) for _, _, flow in runs], log=True)
    zmin, zmax = zrange or held or (-1.0, 0.0)
    for i, ((label, steps, _), lg) in enumerate(zip(runs, logs)):
        at = dict(row=i // cols + 1, col=i % cols + 1)
        fig.update_xaxes(title_text=style.step_title, **at)
        if len(steps) == 0:  # a panel of no colour, so that Plotly draws its axes
            gap = go.Heatmap(x=list(empty.x), y=list(empty.y or (1.0, 28.0)), z=[[None, None], [None, None]])
            fig.add_trace(gap.update(coloraxis="coloraxis", hoverinfo="skip"), **at)
            fig.update_xaxes(range=list(empty.x), **at)
            fig.add_annotation(note(empty.note, style, y=f"y{i + 1}" if i else "y", x=f"x{i + 1}" if i else "x"))
            continue
        s, m = subsample_columns(steps, lg, MAX_COLUMNS)
        t, m = _aggregate_rows(m, MAX_ROWS)
        fig.add_trace(
            go.Heatmap(
                name=label,
                x=s,
                y=t,
                z=m.T,
                zmin=zmin,
                zmax=zmax,
                coloraxis="coloraxis",
                hovertemplate=f"{style.step_title} %{{x}}<br>t = %{{y}}<br>"
                "log10 ||dL/dh_t|| = %{z:.2f}<extra></extra>",
            ),
            **at,
        )
    for row in range(1, rows + 1):
        fig.update_yaxes(title_text="time step t", row=row, col=1)
    fig.update_layout(
        coloraxis=dict(
            colorscale="Viridis", cmin=zmin, cmax=zmax, colorbar=dict(title="log10 ||dL/dh_t||", title_side="right")
        )
    )
    fig.update_annotations(font_size=style.font_size)  # the panels' run labels, large for talks too
    if held is None:
        fig.update_yaxes(range=empty_y(empty, log=False))
    title = "Gradient reaching each time step (log10 ||dL/dh_t||)"
    return tidy_axes(fig).update_layout(base_layout(style, title, key, panels=True, height=height))


def per_step_heatmap(
    steps: np.ndarray,
    matrix: np.ndarray,
    title: str,
    ztitle: str,
    key: str,
    style: Style = DEFAULT_STYLE,
    zrange: tuple[float, float] = (0.0, 1.0),
    empty: Empty = NO_PROBE,
) -> go.Figure:
    """One run's per-time-step values (P, T) on a fixed linear colour scale: time step t up, training step
    across. Without a probe, the axes and note of `empty`."""
    if len(steps) == 0:
        trace = go.Heatmap(x=list(empty.x), y=list(empty.y or (1.0, 28.0)), z=[[None, None], [None, None]])
        data, notes, xrange = [trace.update(hoverinfo="skip", showscale=False)], [note(empty.note, style)], empty.x
    else:
        s, m = subsample_columns(steps, matrix, MAX_COLUMNS)
        t, m = _aggregate_rows(m, MAX_ROWS)
        trace = go.Heatmap(
            x=s,
            y=t,
            z=m.T,
            zmin=zrange[0],
            zmax=zrange[1],
            colorscale="Viridis",
            colorbar=dict(title=ztitle, title_side="right"),
            hovertemplate=f"{style.step_title} %{{x}}<br>t = %{{y}}<br>{ztitle} = %{{z:.3g}}<extra></extra>",
        )
        data, notes, xrange = [trace], [], (float(s[0]), float(s[-1]))
    layout = base_layout(
        style,
        title,
        key,
        xaxis=dict(title=dict(text=style.step_title), automargin=True, range=list(xrange)),
        yaxis=dict(title=dict(text="time step t"), automargin=True),
        annotations=notes,
    )
    return tidy_axes(go.Figure(data=data, layout=layout))
