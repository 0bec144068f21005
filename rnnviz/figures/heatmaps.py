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

# The gradient's colour scale is chosen for its message, "the gradient reaching t = 1 is decades below t = T":
# it spans DECADES decades below its top (the whole decade above the largest gradient), so that 2 decades are
# over a quarter of it, whatever else a run did. Spanning the data's own decades, a gradient that underflowed
# to 0 (float32's 1e-38) stretched it over 39 decades, and a decay of 3.5 decades moved 0.09 of it. Below the
# floor, two bands of BAND decades each in colours of their own, named on the colour bar: "below" and exactly 0.
DECADES = 6
BAND = 0.5
BELOW_COLOUR = "#7f7f7f"  # grey: vanished past the floor; Viridis starts at a dark purple
UNDERFLOW_COLOUR = "#000000"  # black: exactly 0, nothing left at all
GRADIENT_SCALE = [
    [0.0, UNDERFLOW_COLOUR],
    [BAND / (DECADES + 2 * BAND), UNDERFLOW_COLOUR],
    [BAND / (DECADES + 2 * BAND), BELOW_COLOUR],
    [2 * BAND / (DECADES + 2 * BAND), BELOW_COLOUR],
    *[[2 * BAND / (DECADES + 2 * BAND) + DECADES / (DECADES + 2 * BAND) * k / 8, c]
      for k, c in enumerate(["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962",
                             "#addc30", "#fde725"])],
]  # fmt: skip


def gradient_decades(gradients: list[np.ndarray]) -> tuple[float, float] | None:
    """(floor, top) of the gradient heatmap's colour scale, in log10: top the whole decade at or above the
    largest gradient, floor DECADES below it. None without a positive gradient."""
    v = np.concatenate([np.asarray(g, float).ravel() for g in gradients]) if gradients else np.zeros(0)
    v = v[np.isfinite(v) & (v > 0)]
    if v.size == 0:
        return None
    top = float(np.ceil(np.log10(v.max())))
    return top - DECADES, top


def colour_position(log10_value: np.ndarray, floor: float, top: float) -> np.ndarray:
    """Where log10 ||dL/dh_t|| sits on the colour scale, 0 (bottom) to 1 (top): the z a heatmap draws (-inf: a
    gradient of exactly 0; NaN stays a gap) over the scale's span."""
    return (encode(log10_value, floor) - (floor - 2 * BAND)) / (top - floor + 2 * BAND)


def encode(lg: np.ndarray, floor: float) -> np.ndarray:
    """log10 values as the heatmap draws them: below the floor in the "below" band, -inf (exactly 0) in the
    underflow band, NaN a gap."""
    z = np.where(lg < floor, floor - BAND / 2, lg)
    return np.where(np.isneginf(lg), floor - 1.5 * BAND, z)


def _colour_bar(floor: float, top: float, font_size: int) -> dict:
    """The colour bar: a label at every decade (every other one at large fonts), and the two bands by name."""
    every = 2 if font_size > 16 else 1
    decades = list(range(int(floor) + 1, int(top) + 1))[::-1][::every]  # the floor: "below 10^floor" names it
    return dict(
        title=dict(text="||dL/dh_t||", side="right"),
        tickvals=[floor - 1.5 * BAND, floor - 0.5 * BAND, *decades],
        ticktext=["0 (underflowed)", f"below 10<sup>{int(floor)}</sup>", *(f"10<sup>{d}</sup>" for d in decades)],
        ticks="outside",
    )


def _hover(lg: np.ndarray) -> np.ndarray:
    """Each cell's value in words for its tooltip: 10^-3.12, or 0 (underflowed)."""
    text = np.char.add("10^", np.char.mod("%.2f", np.where(np.isfinite(lg), lg, 0.0)))
    text = np.where(np.isneginf(lg), "0 (underflowed)", text)
    return np.where(np.isnan(lg), "no record", text)


def shared_steps(steps: list[np.ndarray]) -> list[float] | None:
    """The training-step range of heatmap panels drawn as on one axis: from 0 to the round number above the
    furthest step (as the Overview's axis), widened to hold each panel's outer cells whole. None without steps."""
    drawn = [np.asarray(s, float) for s in steps if len(s)]
    held = held_range(drawn, pad=0.0)
    if held is None:
        return None
    lo, hi = held
    for s in drawn:  # a cell spans half the gap to its neighbour each side (one step where there is none)
        lo = min(lo, s[0] - (s[1] - s[0]) / 2 if len(s) > 1 else s[0] - 0.5)
        hi = max(hi, s[-1] + (s[-1] - s[-2]) / 2 if len(s) > 1 else s[-1] + 0.5)
    return [float(lo), float(hi)]


def gradient_heatmaps(
    runs: list[tuple[str, np.ndarray, np.ndarray]],
    key: str,
    style: Style = DEFAULT_STYLE,
    zrange: tuple[float, float] | None = None,
    empty: Empty = NO_PROBE,
) -> go.Figure:
    """log10 ||dL/dh_t||: time step t up, training step across; one panel per run, one colour scale of DECADES
    decades (gradient_decades) with a band for gradients below it and one for gradients of exactly 0. `zrange`
    (floor, top) holds the scale at the whole runs' while the step scrubber or a replay shows the runs cut at an
    earlier step: a colour must not change its meaning mid-talk. Every panel spans the same training steps
    (`shared_steps`). A run with no probe yet has the axes (training steps across, time steps up) and note of
    `empty`."""
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
    held = gradient_decades([flow for _, _, flow in runs])
    floor, top = zrange or held or (-DECADES, 0.0)
    columns = [subsample_columns(steps, np.asarray(flow, float), MAX_COLUMNS) for _, steps, flow in runs]
    xrange = shared_steps([s for s, _ in columns]) or list(empty.x)
    for i, ((label, steps, _), (s, m)) in enumerate(zip(runs, columns)):
        at = dict(row=i // cols + 1, col=i % cols + 1)
        # One training-step range for every panel, side by side as on one axis: a run behind the others (the
        # LSTM trains at half the RNN's pace) fills its panel part of the way, where its own range had stretched
        # its 1,000 steps under the RNN's 2,000 as if they were the same steps.
        fig.update_xaxes(title_text=style.step_title, range=xrange, autorange=False, **at)
        if len(steps) == 0:  # a panel of no colour, so that Plotly draws its axes
            gap = go.Heatmap(x=list(empty.x), y=list(empty.y or (1.0, 28.0)), z=[[None, None], [None, None]])
            fig.add_trace(gap.update(coloraxis="coloraxis", hoverinfo="skip"), **at)
            fig.add_annotation(note(empty.note, style, y=f"y{i + 1}" if i else "y", x=f"x{i + 1}" if i else "x"))
            continue
        with np.errstate(divide="ignore"):
            lg = np.log10(m)  # 0 -> -inf (underflowed), NaN stays a gap
        t, lg = _aggregate_rows(lg, MAX_ROWS)
        fig.add_trace(
            go.Heatmap(
                name=label,
                x=s,
                y=t,
                z=encode(lg, floor).T,
                text=_hover(lg).T,
                coloraxis="coloraxis",
                hovertemplate=f"{style.step_title} %{{x}}<br>t = %{{y}}<br>||dL/dh_t|| = %{{text}}<extra></extra>",
            ),
            **at,
        )
    for row in range(1, rows + 1):
        fig.update_yaxes(title_text="time step t", row=row, col=1)
    fig.update_layout(
        coloraxis=dict(colorscale=GRADIENT_SCALE, cmin=floor - 2 * BAND, cmax=top, colorbar=_colour_bar(floor, top, f))
    )
    fig.update_annotations(font_size=style.font_size)  # the panels' run labels, large for talks too
    if held is None:
        fig.update_yaxes(range=empty_y(empty, log=False))
    title = "Gradient reaching each time step (||dL/dh_t||, log scale)"
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
    xspan: tuple[float, float] | None = None,
) -> go.Figure:
    """One run's per-time-step values (P, T) on a fixed linear colour scale: time step t up, training step
    across, over at least the training steps `xspan` that the charts of other runs beside it share. Without a
    probe, the axes and note of `empty`."""
    if len(steps) == 0:
        trace = go.Heatmap(x=list(empty.x), y=list(empty.y or (1.0, 28.0)), z=[[None, None], [None, None]])
        data, notes, xrange = (
            [trace.update(hoverinfo="skip", showscale=False)],
            [note(empty.note, style)],
            xspan or empty.x,
        )
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
        lo, hi = (float(s[0]), float(s[-1])) if xspan is None else (min(s[0], xspan[0]), max(s[-1], xspan[1]))
        data, notes, xrange = [trace], [], (float(lo), float(hi))
    layout = base_layout(
        style,
        title,
        key,
        xaxis=dict(title=dict(text=style.step_title), automargin=True, range=list(xrange)),
        yaxis=dict(title=dict(text="time step t"), automargin=True),
        annotations=notes,
    )
    return tidy_axes(go.Figure(data=data, layout=layout))
