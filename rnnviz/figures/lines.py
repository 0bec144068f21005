"""Line charts over training: scalars of runs, the global gradient norm with clipping, stacked panels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from .. import buckets
from .look import (
    DEFAULT_STYLE,
    MAX_POINTS,
    NO_DATA,
    Empty,
    Line,
    Style,
    axis,
    base_layout,
    empty_y,
    extent,
    held_range,
    log_axis,
    note,
    ranged,
    y_axis,
)


def _fits_float32(y: np.ndarray) -> bool:
    """Whether every value keeps its magnitude as a float32 (normal range, or exactly 0)."""
    big = np.abs(np.asarray(y, dtype=float))
    big = big[np.isfinite(big) & (big > 0)]
    info = np.finfo(np.float32)
    return not big.size or (float(big.max()) < float(info.max) and float(big.min()) >= float(info.tiny))


def _zeros_at_floor(series: list[Line], yrange: list[float]) -> tuple[list[Line], list[dict]]:
    """A value of exactly 0 has no place on a log axis, so its line would just end there: it is drawn at the
    axis floor instead and marked with triangles in its line's colour, which the legend names. Returns the
    lines with their zeros moved and the marks."""
    floor = 10.0 ** yrange[0]
    moved, marks = [], []
    for label, x, y, colour in series:
        zero = np.asarray(y) == 0
        moved.append((label, x, np.where(zero, floor, y), colour))
        if zero.any():
            keep = np.unique(np.linspace(0, zero.sum() - 1, min(int(zero.sum()), MAX_POINTS)).round().astype(int))
            marks.append(
                dict(
                    type="scatter",
                    x=np.asarray(x, dtype=float)[zero][keep],
                    y=np.full(len(keep), floor),
                    name=f"{label}: reached 0 (drawn at the floor)",
                    mode="markers",
                    marker=dict(color=colour, symbol="triangle-down", size=10),
                    cliponaxis=False,
                    hovertemplate="%{x}: exactly 0<extra></extra>",
                )
            )
    return moved, marks


def downsample(x: np.ndarray, y: np.ndarray, max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most about `max_points` points of a long series of steps (x whole numbers, ascending): each bucket's
    min and max at the steps they were reached, so a 1M-step run draws as fast as a short one and a spike is
    never averaged away (buckets.line). The last point is kept as it is, so a line ends exactly at its run's
    latest step."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) <= max_points:
        return x, y
    steps, values = buckets.line(x.astype(np.int64), y, max_points // 2)
    return steps.astype(float), values


def downsample_together(x: np.ndarray, *ys: np.ndarray, max_points: int = MAX_POINTS) -> list[np.ndarray]:
    """Series that share their steps (a band's low, mean and high), each as its bucket means at the same
    steps, the last point kept (x whole numbers, ascending)."""
    x = np.asarray(x, dtype=float)
    if len(x) <= max_points:
        return [x, *(np.asarray(y, dtype=float) for y in ys)]
    width = buckets.width_for(int(x[0]), int(x[-1]), max_points - 1)
    views = [buckets.reduce(x.astype(np.int64), np.asarray(y, dtype=float), width) for y in ys]
    return [np.append(views[0].start, x[-1]).astype(float), *(np.append(v.mean, v.last[-1]) for v in views)]


def lines(
    series: list[Line],
    title: str,
    ytitle: str,
    key: str,
    style: Style = DEFAULT_STYLE,
    log_y: bool = False,
    xtitle: str | None = None,
    markers: bool = False,
    growing_x: bool = True,
    empty: Empty = NO_DATA,
    xspan: tuple[float, float] | None = None,
) -> go.Figure:
    """One line per (label, x, y, colour); NaN and inf are gaps, never errors. Axis ranges are held (held_range):
    x from 0 to a round number of training steps, or, with growing_x=False (x is a time step, which
    does not grow), exactly the data's x. `xspan` is a training-step range that charts drawn beside this one
    share (`shared_span`): the x axis spans at least it. Without any value to draw, the axes and note of
    `empty`. On a log axis, values of exactly 0 are drawn and marked at the floor (_zeros_at_floor)."""
    xs, ys = [s[1] for s in series], [s[2] for s in series]
    xrange = held_range([*xs, np.asarray(xspan or [], float)], pad=0.0) if growing_x else extent(xs)
    yrange = held_range(ys, log=log_y)
    zeros = log_y and any(np.any(np.asarray(y) == 0) for y in ys)
    notes = [] if yrange or zeros else [note(empty.note, style)]
    if not yrange:
        xrange, yrange = xrange or list(empty.x), empty_y(empty, log_y)
    marks: list[dict] = []
    if zeros:
        series, marks = _zeros_at_floor(series, yrange)
    traces = []
    for label, x, y, colour in series:
        x, y = downsample(x, y)
        # float32 halves the bytes sent every second; 7 digits are plenty, and steps up to 16M stay exact. A
        # line beyond float32's range (the Pascanu bound over 27 steps reaches 1e40) keeps float64.
        y = np.where(np.isfinite(y), y, np.nan)
        x, y = x.astype(np.float32), y.astype(np.float32) if _fits_float32(y) else y
        traces.append(
            dict(
                type="scatter",
                x=x,
                y=y,
                name=label,
                mode="lines+markers" if markers else "lines",
                cliponaxis=not markers,  # a marker on a held range's end is drawn whole
                line=dict(color=colour, width=2),
            )
        )
    yaxis = log_axis(ytitle) if log_y else y_axis(ytitle)
    return go.Figure(
        data=traces + marks,
        layout=base_layout(
            style,
            title,
            key,
            xaxis=axis(xtitle or style.step_title, **ranged(xrange)),
            yaxis={**yaxis, **ranged(yrange)},
            annotations=notes,
        ),
    )


def norm_with_clipping(
    label: str,
    steps: np.ndarray,
    norm: np.ndarray,
    clipped_at: np.ndarray,
    clip: float,
    key: str,
    style: Style = DEFAULT_STYLE,
    *,
    colour: str,
    xspan: tuple[float, float] | None = None,
) -> go.Figure:
    """A run's global gradient norm before clipping, titled with its `label`, the steps where clipping fired
    (`clipped_at`) marked on it, the threshold drawn; its x axis spans at least `xspan` (as `lines`)."""
    x, y = downsample(steps, norm)
    traces = [
        dict(
            type="scatter",
            x=x,
            y=np.where(np.isfinite(y), y, np.nan),
            name=label,
            mode="lines",
            line=dict(color=colour, width=2),
        )
    ]
    if len(clipped_at) and len(steps):
        clipped_at = downsample(clipped_at, clipped_at)[0]
        traces.append(
            dict(
                type="scatter",
                x=clipped_at,
                y=np.interp(clipped_at, steps, norm),  # the norm itself where the line holds that step
                mode="markers",
                name="clipped",
                marker=dict(color="black", size=5, symbol="x"),
            )
        )
    shapes = [dict(type="line", xref="paper", x0=0, x1=1, y0=clip, y1=clip, line=dict(color="grey", dash="dash"))]
    empty = len(steps) == 0
    xrange = held_range([steps, np.asarray(xspan or [], float)], pad=0.0) or list(Empty().x)
    yrange = held_range([norm, np.array([clip])], log=True) or empty_y(Empty(), log=True)
    return go.Figure(
        data=traces,
        layout=base_layout(
            style,
            # whose: two runs draw two of these side by side; short enough for a half-width chart's one line
            f"{label}: global gradient norm",
            key,
            xaxis=axis(style.step_title, **ranged(xrange)),
            yaxis=log_axis("||g|| before clipping", **ranged(yrange)),
            shapes=shapes if clip > 0 else [],
            annotations=[note(Empty().note, style)] if empty else [],
        ),
    )


@dataclass(frozen=True)
class Panel:
    """One panel of stacked_panels: its title, its lines, markers on their points, and what it shows empty."""

    title: str
    series: list[Line]
    markers: bool = False
    empty: Empty = Empty()


def stacked_panels(
    panels: list[Panel],
    title: str,
    key: str,
    style: Style = DEFAULT_STYLE,
    xtitle: str | None = None,
    height_px: int | None = None,
) -> go.Figure:
    """Panels stacked on one shared x axis: one plot to draw, not one per panel, and the panels stay aligned
    (accuracy falls where saturation rises). Each line brings its run's colour. Axis ranges are held
    (held_range); a panel with nothing to draw yet shows its Empty axes and note. Each panel's title is a
    line of text above it, not a y axis title: turned on its side, a title longer than its panel is high
    ran into the next one in large fonts. Three panels fit a 1440x900 screen under the page's title;
    `height_px` makes them taller where the page has more room."""
    n, f = len(panels), style.font_size
    height_px = height_px or 180 * n + 30
    top_px = 3 * f + 26 + int(1.5 * f)  # the title (under the modebar), then the first panel's title
    plot_px = height_px - top_px - int(4.2 * f) - 20  # less the x axis and the legend under it
    gap = (1.5 * f + 10) / plot_px  # room for a panel's title
    height = (1 - gap * (n - 1)) / n
    traces, axes, notes = [], {}, []
    for p, panel in enumerate(panels):
        yname, y = ("yaxis", "y") if p == 0 else (f"yaxis{p + 1}", f"y{p + 1}")
        top = 1 - p * (height + gap)
        domain = [round(max(top - height, 0.0), 6), round(top, 6)]
        yrange = held_range([s[2] for s in panel.series])
        if yrange is None:
            yrange = empty_y(panel.empty, log=False)
            notes.append(note(panel.empty.note, style, y))
        axes[yname] = y_axis("", domain=domain, anchor="x", nticks=4, **ranged(yrange))
        notes.append(
            dict(
                text=panel.title,
                xref="paper",
                x=0,
                xanchor="left",
                yref=f"{y} domain",
                y=1,
                yanchor="bottom",
                showarrow=False,
                font=dict(size=f + 2),
            )
        )
        for label, x, yv, colour in panel.series:
            x, yv = downsample(x, yv)
            traces.append(
                dict(
                    type="scatter",
                    x=x,
                    y=np.where(np.isfinite(yv), yv, np.nan),
                    name=label,
                    legendgroup=label,
                    showlegend=p == 0,
                    yaxis=y,
                    mode="lines+markers" if panel.markers else "lines",
                    cliponaxis=not panel.markers,  # a marker on a held range's end is drawn whole
                    line=dict(color=colour, width=2),
                )
            )
    xrange = held_range([s[1] for panel in panels for s in panel.series], pad=0.0) or list(Empty().x)
    xaxis = axis(xtitle or style.step_title, anchor=f"y{n}" if n > 1 else "y", **ranged(xrange))
    layout = {**base_layout(style, title, key, xaxis=xaxis, annotations=notes, height=height_px), **axes}
    layout["margin"] = {**layout["margin"], "t": top_px}
    return go.Figure(data=traces, layout=layout)


def with_points(fig: go.Figure, points: list[Line]) -> go.Figure:
    """Figures printed elsewhere (a blog post's log) as markers over a figure's lines, each in its colour."""
    for label, x, y, colour in points:
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                name=label,
                mode="markers",
                marker=dict(color=colour, size=11, symbol="diamond", line=dict(color="#222222", width=1.5)),
            )
        )
    return fig
