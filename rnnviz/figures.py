"""Pure Plotly builders: arrays in, go.Figure out (no Streamlit), shared by the dashboard and reports."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

# Runs are coloured by their id (run_color), so a run looks the same on every page, in every figure and report.
PALETTE = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]
# The parts of one run (its parameters, its gates) take other colours, so none passes for a run.
PARTS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"]
# Plotly's options for every chart, in the dashboard and in reports: no logo, a PNG download at 2x
CHART_CONFIG = {"displaylogo": False, "responsive": True, "toImageButtonOptions": {"format": "png", "scale": 2}}
MAX_POINTS = 400  # points per line sent to the browser
MAX_COLUMNS = 300  # heatmap columns (training steps) sent to the browser
MAX_ROWS = 112  # heatmap rows (time steps): T = 784 is averaged in groups of 7, about 3 pixels a row
MISSING = "–"  # in tables, a value not recorded (yet) or one that does not apply
UNDERFLOW = float(np.finfo(np.float32).tiny)  # where a gradient of exactly 0 is drawn (float32's smallest normal)
ROUND = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)  # axis ends, times a power of ten


def floored(gradients: np.ndarray) -> np.ndarray:
    """Gradient norms for a log scale: one that underflowed to exactly 0 (float32, hundreds of steps back;
    the trainer flushes denormals) has vanished completely, so it is drawn at UNDERFLOW, the floor of the
    scale, rather than left out. NaN stays a gap."""
    return np.where(gradients == 0, UNDERFLOW, gradients)


@dataclass(frozen=True)
class Style:
    """Looks shared by every figure; large fonts for the back of a room."""

    font_size: int = 14
    height: int = 380

    @classmethod
    def for_talks(cls, large: bool) -> Style:
        return cls(font_size=22, height=480) if large else cls()


def run_color(run_id: int) -> str:
    """A run's colour: the same wherever the run is drawn, whatever else is drawn with it."""
    return PALETTE[(run_id - 1) % len(PALETTE)]


def color(i: int) -> str:
    """The colour of the i-th part of one run (a parameter, a gate)."""
    return PARTS[i % len(PARTS)]


Line = tuple[str, np.ndarray, np.ndarray, str]  # (label, x, y, colour)
Histogram = tuple[str, np.ndarray, np.ndarray, str]  # (label, edges, counts, colour)


@dataclass(frozen=True)
class Empty:
    """What a chart shows while it has nothing to draw (a run not started, no evaluation yet): axes that
    mean what they will mean once data arrives, and a note saying why they are empty. Plotly's own empty
    axes run from -1 to 4."""

    note: str = "no data yet"
    x: tuple[float, float] = (0.0, 100.0)  # training steps; time steps are 1..T
    y: tuple[float, float] | None = None  # None: 0 to 1, or 0.1 to 1 on a log axis


def _empty_y(empty: Empty, log: bool) -> list[float]:
    if empty.y is None:
        return [-1.0, 0.0] if log else [0.0, 1.0]
    return [float(np.log10(v)) for v in empty.y] if log else list(empty.y)


def _note(text: str, style: Style, y: str = "y", x: str = "x") -> dict:
    """A note in the middle of the plot of axes `x` and `y`."""
    return dict(
        text=text,
        xref=f"{x} domain",
        yref=f"{y} domain",
        x=0.5,
        y=0.5,
        showarrow=False,
        font=dict(size=style.font_size + 2, color="#888888"),
    )


def base_layout(style: Style, title: str, key: str, panels: bool = False, **extra) -> dict:
    """The layout every figure shares, as a plain dict: building figures in one go (not update_layout) is
    ~10x cheaper, which matters when several tabs redraw every chart each second. `panels`: room under the
    title for the panels' own titles (make_subplots). `extra` overrides."""
    base = dict(
        title=dict(text=title, font=dict(size=style.font_size + 4)),
        font=dict(size=style.font_size),
        height=style.height + 4 * style.font_size,
        # Axes push these margins as far as their tick labels and titles need (automargin), and the legend
        # below them reserves its own rows: nothing overlaps at any font size or width.
        margin=dict(l=20, r=20, t=int((4.5 if panels else 3) * style.font_size) + 18, b=10),
        legend=dict(orientation="h", yref="container", yanchor="bottom", y=0, xanchor="left", x=0),
        uirevision=key,  # keep the user's zoom across live refreshes
        # A hand-set look instead of a template: templates cost ~7 ms a figure and bloat every refresh.
        plot_bgcolor="white",
        paper_bgcolor="white",
    )
    return {**base, **extra}


TITLE_STANDOFF = 10  # px between an axis' tick labels and its title
PERCENT = ".3~%"  # shares as percentages with the digits that tell ticks apart: 0.5%, 1%, 1.5%, not 1%, 1%, 2%
Y_TICKS = dict(ticklabelstandoff=8)  # a y axis' labels clear of the x axis' first label at the corner


def axis(title: str, **extra) -> dict:
    """An axis whose title stands clear of its tick labels, however wide they are (Plotly's default places
    the title at a distance set by the font size alone, over long labels such as 10^-24)."""
    return dict(
        title=dict(text=title, standoff=TITLE_STANDOFF),
        automargin=True,
        gridcolor="#e8e8e8",
        zerolinecolor="#cccccc",
        **extra,
    )


def y_axis(title: str, **extra) -> dict:
    return axis(title, **Y_TICKS, **extra)


def log_axis(title: str, **extra) -> dict:
    """A log y axis labelled at powers of ten only: Plotly's labels at 2..9 of each decade crowd each other."""
    return y_axis(title, type="log", exponentformat="power", minorloglabels="none", **extra)


def tidy_axes(fig: go.Figure) -> go.Figure:
    """The settings of axis() and y_axis() on every axis of a figure made with make_subplots."""
    fig.update_xaxes(automargin=True, title_standoff=TITLE_STANDOFF)
    return fig.update_yaxes(automargin=True, title_standoff=TITLE_STANDOFF, **Y_TICKS)


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


def _padded(edges: np.ndarray) -> dict:
    """An x range of histogram bins with a little room each side: the outer bins (|h| near 1, where a
    saturated RNN piles up) are not hidden on the frame, and the end labels clear the y axis' labels."""
    pad = 0.02 * float(edges[-1] - edges[0])
    return dict(range=[float(edges[0]) - pad, float(edges[-1]) + pad], autorange=False)


def _finite(values: list[np.ndarray]) -> np.ndarray:
    v = np.concatenate([np.asarray(a, dtype=float).ravel() for a in values]) if values else np.zeros(0)
    return v[np.isfinite(v)]


def round_up(value: float) -> float:
    """The smallest of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten that is >= value > 0."""
    scale = 10.0 ** np.floor(np.log10(value))
    return float(f"{next(m * scale for m in ROUND if m * scale >= value * (1 - 1e-9)):.12g}")


def held_range(values: list[np.ndarray], log: bool = False, pad: float = 0.02) -> list[float] | None:
    """An axis range that holds still while a live series grows: from 0 (or a round number below the data)
    to the next round number above it, padded by `pad` of its span; whole decades on a log axis. Plotly's
    autorange moves with every new point, which makes every update redraw the axes; a held range changes a
    few times a decade, so most updates redraw only the lines (the live chart's frontend). None without data."""
    v = _finite(values)
    if log:
        v = v[v > 0]
    if v.size == 0:
        return None
    if log:
        lo, hi = float(np.floor(np.log10(v.min()))), float(np.ceil(np.log10(v.max())))
        return [lo, max(hi, lo + 1)]
    lo = -round_up(-v.min()) if v.min() < 0 else 0.0
    hi = round_up(v.max()) if v.max() > 0 else 0.0
    if hi == lo:
        hi = lo + 1.0
    return [float(lo - pad * (hi - lo)), float(hi + pad * (hi - lo))]


def extent(values: list[np.ndarray]) -> list[float] | None:
    """[min, max] of the finite values, or None (Plotly's autorange) when they span no width."""
    v = _finite(values)
    return [float(v.min()), float(v.max())] if v.size and v.max() > v.min() else None


def ranged(r: list[float] | None) -> dict:
    """Axis settings for a held range, or nothing (Plotly's autorange) without one."""
    return dict(range=r, autorange=False) if r else {}


def downsample(x: np.ndarray, y: np.ndarray, max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Bucket means of a long series (NaNs ignored), so a 100k-step run draws as fast as a short one. The
    last point is kept as it is, so a line ends exactly at its run's latest step."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) <= max_points:
        return x, y
    head = len(x) - 1
    starts = np.linspace(0, head, max_points).astype(int)[:-1]
    sizes = np.diff(np.append(starts, head))
    finite = np.isfinite(y[:head])
    sums = np.add.reduceat(np.where(finite, y[:head], 0.0), starts)
    counts = np.add.reduceat(finite.astype(float), starts)
    with np.errstate(invalid="ignore", divide="ignore"):
        ys = np.where(counts > 0, sums / counts, np.nan)
    return np.append(np.add.reduceat(x[:head], starts) / sizes, x[-1]), np.append(ys, y[-1])


def lines(
    series: list[Line],
    title: str,
    ytitle: str,
    key: str,
    style: Style = Style(),
    log_y: bool = False,
    xtitle: str = "training step",
    markers: bool = False,
    growing_x: bool = True,
    empty: Empty = Empty(),
) -> go.Figure:
    """One line per (label, x, y, colour); NaN and inf are gaps, never errors. Axis ranges are held (held_range):
    x from 0 to a round number of training steps, or, with growing_x=False (x is a time step, which
    does not grow), exactly the data's x. Without any value to draw, the axes and note of `empty`. On a log
    axis, values of exactly 0 are drawn and marked at the floor (_zeros_at_floor)."""
    xs, ys = [s[1] for s in series], [s[2] for s in series]
    xrange = held_range(xs, pad=0.0) if growing_x else extent(xs)
    yrange = held_range(ys, log=log_y)
    zeros = log_y and any(np.any(np.asarray(y) == 0) for y in ys)
    notes = [] if yrange or zeros else [_note(empty.note, style)]
    if not yrange:
        xrange, yrange = xrange or list(empty.x), _empty_y(empty, log_y)
    marks: list[dict] = []
    if zeros:
        series, marks = _zeros_at_floor(series, yrange)
    traces = []
    for label, x, y, colour in series:
        x, y = downsample(x, y)
        # float32 halves the bytes sent every second; 7 digits are plenty, and steps up to 16M stay exact
        x, y = x.astype(np.float32), np.where(np.isfinite(y), y, np.nan).astype(np.float32)
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
            xaxis=axis(xtitle, **ranged(xrange)),
            yaxis={**yaxis, **ranged(yrange)},
            annotations=notes,
        ),
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


def _subsample_columns(steps: np.ndarray, matrix: np.ndarray, max_cols: int) -> tuple[np.ndarray, np.ndarray]:
    if len(steps) <= max_cols:
        return steps, matrix
    keep = np.unique(np.linspace(0, len(steps) - 1, max_cols).round().astype(int))
    return steps[keep], matrix[keep]


def gradient_heatmaps(
    runs: list[tuple[str, np.ndarray, np.ndarray]],
    key: str,
    style: Style = Style(),
    zrange: tuple[float, float] | None = None,
    empty: Empty = Empty("no probe yet", y=(1.0, 28.0)),
) -> go.Figure:
    """log10 ||dL/dh_t||: time step t up, training step across; one panel per run, one colour scale. The scale
    spans whole decades of the data, or `zrange` (the whole runs' decades, while the step scrubber or a replay
    shows the runs cut at an earlier step: a colour must not change its meaning mid-talk). A run with no
    probe yet has the axes (training steps across, time steps up) and note of `empty`."""
    fig = make_subplots(
        rows=1,
        cols=max(1, len(runs)),
        subplot_titles=[r[0] for r in runs] or [""],
        shared_yaxes=True,
        horizontal_spacing=0.04,
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
        fig.update_xaxes(title_text="training step", row=1, col=i + 1)
        if len(steps) == 0:  # a panel of no colour, so that Plotly draws its axes
            gap = go.Heatmap(x=list(empty.x), y=list(empty.y or (1.0, 28.0)), z=[[None, None], [None, None]])
            fig.add_trace(gap.update(coloraxis="coloraxis", hoverinfo="skip"), row=1, col=i + 1)
            fig.update_xaxes(range=list(empty.x), row=1, col=i + 1)
            fig.add_annotation(_note(empty.note, style, x=f"x{i + 1}" if i else "x"))
            continue
        s, m = _subsample_columns(steps, lg, MAX_COLUMNS)
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
                hovertemplate="step %{x}<br>t = %{y}<br>log10 ||dL/dh_t|| = %{z:.2f}<extra></extra>",
            ),
            row=1,
            col=i + 1,
        )
    fig.update_yaxes(title_text="time step t", row=1, col=1)
    fig.update_layout(
        coloraxis=dict(
            colorscale="Viridis", cmin=zmin, cmax=zmax, colorbar=dict(title="log10 ||dL/dh_t||", title_side="right")
        )
    )
    fig.update_annotations(font_size=style.font_size)  # the panels' run labels, large for talks too
    if held is None:
        fig.update_yaxes(range=_empty_y(empty, log=False))
    title = "Gradient reaching each time step (log10 ||dL/dh_t||)"
    return tidy_axes(fig).update_layout(base_layout(style, title, key, panels=True))


def histogram_bars(
    runs: list[Histogram],
    title: str,
    key: str,
    style: Style = Style(),
    threshold: float | None = None,
) -> go.Figure:
    """Side-by-side histograms (label, edges, counts, colour) as fractions; dashed lines at +-threshold."""
    fig = make_subplots(
        rows=1, cols=max(1, len(runs)), subplot_titles=[r[0] for r in runs] or [""], horizontal_spacing=0.08
    )
    for i, (label, edges, counts, colour) in enumerate(runs):
        total = counts.sum()
        frac = counts / total if total else counts
        fig.add_trace(
            go.Bar(
                x=(edges[:-1] + edges[1:]) / 2,
                y=frac,
                width=np.diff(edges),
                name=label,
                marker_color=colour,
                showlegend=False,
                hovertemplate="%{x:.3f}: %{y:.2%}<extra></extra>",
            ),
            row=1,
            col=i + 1,
        )
        if threshold is not None:
            for x in (-threshold, threshold):
                if edges[0] <= x <= edges[-1]:
                    fig.add_vline(x=x, line_dash="dash", line_color="grey", row=1, col=i + 1)
        fig.update_yaxes(tickformat=PERCENT, row=1, col=i + 1)
        fig.update_xaxes(**_padded(edges), row=1, col=i + 1)
    fig.update_annotations(font_size=style.font_size)  # the panels' run labels, large for talks too
    if not runs:
        fig.update_yaxes(range=[0, 1], tickformat=PERCENT)
        fig.add_annotation(_note("no probe yet", style))
    return tidy_axes(fig).update_layout(base_layout(style, title, key, panels=True, bargap=0))


def _slider_labels(names: list[str], yshift: int) -> list[dict]:
    """A few of a slider's step names (the first, the last, evenly between) as annotations under its rail.
    Plotly labels every step or, to fit, every n-th: a crowd, or the wanted ones hidden. It places step k of
    n at 10 px + (width - 20 px) * k / (n - 1) from the left, so the label at that fraction of the paper is
    shifted by 10 * (1 - 2 * fraction) px."""
    shown = np.unique(np.linspace(0, len(names) - 1, min(len(names), 5)).round().astype(int))
    labels = []
    for k in shown:
        u = float(k / max(len(names) - 1, 1))
        labels.append(
            dict(
                text=names[k],
                xref="paper",
                x=u,
                xshift=10 * (1 - 2 * u),
                xanchor="center",
                yref="paper",
                y=0,
                yshift=yshift,
                yanchor="top",
                showarrow=False,
            )
        )
    return labels


def histogram_animation(
    label: str,
    steps: np.ndarray,
    counts: np.ndarray,
    edges: np.ndarray,
    title: str,
    key: str,
    style: Style = Style(),
    frame_ms: int = 150,
    *,
    colour: str,
) -> go.Figure:
    """One histogram per probe step (of the run `title` names, drawn in `colour`), played as an animation
    (for talks). Under the axis, a slider with a few labelled steps, and under it Play and Pause; the step
    shown is in the title, which each frame sets."""
    centres, widths = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
    keep = np.unique(np.linspace(0, len(steps) - 1, min(len(steps), 120)).round().astype(int))
    totals = np.maximum(counts.sum(1, keepdims=True), 1)
    fracs = counts / totals
    ymax = float(fracs.max()) if fracs.size else 1.0
    names = [str(int(steps[j])) for j in keep]

    def bar(j: int) -> dict:
        return dict(type="bar", x=centres, y=fracs[j], width=widths, name=title, marker=dict(color=colour))

    def heading(j: int) -> str:
        return f"{title}: step {int(steps[j]):,}"

    frames = [dict(name=name, data=[bar(j)], layout=dict(title=dict(text=heading(j)))) for name, j in zip(names, keep)]
    go_to = dict(mode="immediate", frame=dict(duration=0, redraw=True), transition=dict(duration=0))
    play = dict(
        label="Play",
        method="animate",
        args=[None, dict(frame=dict(duration=frame_ms, redraw=True), fromcurrent=True, transition=dict(duration=0))],
    )
    pause = dict(label="Pause", method="animate", args=[[None], go_to])
    f = style.font_size
    below_axis = int(2.6 * f) + 2 * TITLE_STANDOFF  # the axis' tick labels and title
    rail = 28  # the slider's rail and grip
    slider = rail + int(1.4 * f) + 8  # with its labels
    layout = base_layout(
        style,
        heading(keep[-1]) if len(keep) else title,
        key,
        height=style.height + 4 * f + slider + int(1.6 * f) + 20,
        xaxis=axis(label, **_padded(edges)),
        yaxis=y_axis("", range=[0, ymax * 1.05], tickformat=PERCENT),
        showlegend=False,
        annotations=_slider_labels([f"{int(n):,}" for n in names], -(below_axis + rail)),
        sliders=[
            dict(
                active=len(keep) - 1,
                currentvalue=dict(visible=False),
                x=0,
                len=1,
                y=0,
                yanchor="top",
                pad=dict(t=below_axis, b=0, l=0, r=0),
                ticklen=0,  # a tick for each of up to 120 frames was a smear
                minorticklen=0,
                steps=[dict(label="", value=n, method="animate", args=[[n], go_to]) for n in names],
            )
        ],
        updatemenus=[
            dict(
                type="buttons",
                buttons=[play, pause],
                direction="right",
                showactive=False,
                x=0,
                xanchor="left",
                y=0,
                yanchor="top",
                pad=dict(t=below_axis + slider, l=0),
            )
        ],
    )
    return go.Figure(data=[bar(keep[-1])] if len(keep) else [], layout=layout, frames=frames)


def histogram_over_training(
    steps: np.ndarray, counts: np.ndarray, edges: np.ndarray, title: str, key: str, style: Style = Style()
) -> go.Figure:
    """Each probe step's histogram as a column: value up, training step across, share of values as colour."""
    totals = np.maximum(counts.sum(1, keepdims=True), 1)
    s, m = _subsample_columns(steps, counts / totals, MAX_COLUMNS)
    zmax = float(np.quantile(m, 0.99)) if m.size else 1.0  # a few spiky bins must not wash out the rest
    fig = go.Figure(
        go.Heatmap(
            x=s,
            y=(edges[:-1] + edges[1:]) / 2,
            z=m.T,
            colorscale="Magma",
            zmin=0,
            zmax=zmax,
            colorbar=dict(title="share", tickformat=PERCENT),
            hovertemplate="step %{x}<br>value %{y:.2f}<br>%{z:.1%}<extra></extra>",
        )
    )
    return fig.update_layout(base_layout(style, title, key, xaxis=axis("training step"), yaxis=y_axis("value")))


def unit_saturation_scatter(
    gates: list[tuple[str, np.ndarray, str]], title: str, key: str, style: Style = Style()
) -> go.Figure:
    """Karpathy et al. 2015: per unit, fraction of time left-saturated (x) vs right-saturated (y); one
    (name, (2, H) fractions, colour) per gate."""
    traces = [
        dict(
            type="scatter",
            x=a[0],
            y=a[1],
            mode="markers",
            name=f"gate {gate}",
            marker=dict(color=colour, size=8, opacity=0.75),
            hovertemplate="unit %{pointNumber}<br>left %{x:.2f}, right %{y:.2f}<extra></extra>",
        )
        for gate, a, colour in gates
    ]
    traces.append(
        dict(
            type="scatter",
            x=[1, 0],
            y=[0, 1],
            mode="lines",
            line=dict(color="grey", dash="dot"),
            showlegend=False,
            hoverinfo="skip",
        )
    )
    return go.Figure(
        data=traces,
        layout=base_layout(
            style,
            title,
            key,
            # Square and 0..1 on both axes: a wide figure narrows the plot (constrain="domain") rather than
            # stretching the x range (-1.7 to 2.7 in a report's full width).
            xaxis=axis("fraction of time left-saturated (< 0.1)", range=[-0.02, 1.02], constrain="domain"),
            yaxis=y_axis(
                "fraction of time right-saturated (> 0.9)", range=[-0.02, 1.02], scaleanchor="x", constrain="domain"
            ),
        ),
    )


def norm_with_clipping(
    label: str,
    steps: np.ndarray,
    norm: np.ndarray,
    clipped: np.ndarray,
    clip: float,
    key: str,
    style: Style = Style(),
    *,
    colour: str,
) -> go.Figure:
    """Global gradient norm before clipping, clipped steps marked, the threshold drawn."""
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
    hit = clipped > 0
    if hit.any():
        traces.append(
            dict(
                type="scatter",
                x=steps[hit],
                y=norm[hit],
                mode="markers",
                name="clipped",
                marker=dict(color="black", size=5, symbol="x"),
            )
        )
    shapes = [dict(type="line", xref="paper", x0=0, x1=1, y0=clip, y1=clip, line=dict(color="grey", dash="dash"))]
    empty = len(steps) == 0
    xrange = list(Empty().x) if empty else held_range([steps], pad=0.0)
    yrange = held_range([norm, np.array([clip])], log=True) or _empty_y(Empty(), log=True)
    return go.Figure(
        data=traces,
        layout=base_layout(
            style,
            "Global gradient norm (before clipping)",
            key,
            xaxis=axis("training step", **ranged(xrange)),
            yaxis=log_axis("||g||", **ranged(yrange)),
            shapes=shapes if clip > 0 else [],
            annotations=[_note(Empty().note, style)] if empty else [],
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
    style: Style = Style(),
    xtitle: str = "training step",
) -> go.Figure:
    """Panels stacked on one shared x axis: one plot to draw, not one per panel, and the panels stay aligned
    (accuracy falls where saturation rises). Each line brings its run's colour. Axis ranges are held
    (held_range); a panel with nothing to draw yet shows its Empty axes and note. Each panel's title is a
    line of text above it, not a y axis title: turned on its side, a title longer than its panel is high
    ran into the next one in large fonts. Three panels fit a 1440x900 screen under the page's title."""
    n, f = len(panels), style.font_size
    height_px = 180 * n + 30
    top_px = 3 * f + 18 + int(1.5 * f)  # the title, then the first panel's title
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
            yrange = _empty_y(panel.empty, log=False)
            notes.append(_note(panel.empty.note, style, y))
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
    xaxis = axis(xtitle, anchor=f"y{n}" if n > 1 else "y", **ranged(xrange))
    layout = {**base_layout(style, title, key, xaxis=xaxis, annotations=notes, height=height_px), **axes}
    layout["margin"] = {**layout["margin"], "t": top_px}
    return go.Figure(data=traces, layout=layout)
