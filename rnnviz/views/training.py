"""Views of the Overview page: loss, held-out accuracy and saturation over training; epochs; the published figures."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from .. import figures, findings
from ..config import WATCHED, RunConfig
from ..figures import Style
from ..published import published
from ..quantities import is_log
from .common import DEFAULT, NO_EVALUATION, RunData, along, line, run_colour
from .compare import group_bands, metric_titles


def evaluated_title(runs: Sequence[RunData]) -> str:
    """What the runs' accuracy curves during training were evaluated on, in words."""
    names = {findings.evaluated(r) for r in runs}
    if names == {"test_accuracy"}:
        return "test accuracy"  # runs recorded before rnnviz held out a validation split
    if names == {"accuracy"}:
        return "batch accuracy"  # loops recorded with rnnviz.watch, which evaluate nothing of their own
    return "validation accuracy" + (" (test, for runs recorded before the validation split)" if len(names) > 1 else "")


def no_evaluation(runs: Sequence[RunData]) -> figures.Empty:
    """What an accuracy panel says while it has nothing to draw: a watched loop that records no accuracy will
    never have one."""
    if runs and all(r.cfg.dataset == WATCHED for r in runs):
        return figures.Empty("no accuracy recorded: pass step(loss, accuracy=...)")
    return NO_EVALUATION


def overview(
    runs: Sequence[RunData], style: Style = DEFAULT, key: str = "overview", height: int | None = None
) -> go.Figure:
    held_out = evaluated_title(runs)
    panels = [
        figures.Panel("training loss", [line(r, "loss", style) for r in runs]),
        figures.Panel(held_out, [line(r, findings.evaluated(r), style) for r in runs], True, no_evaluation(runs)),
        figures.Panel("saturated |h|", [line(r, "saturated", style) for r in runs]),
    ]
    title = f"Training loss, {held_out.split(' (')[0]} and saturated hidden activations (all time steps)"
    return figures.stacked_panels(panels, title, key, style, height_px=height)


def epochs(runs: Sequence[RunData], style: Style = DEFAULT, key: str = "epochs") -> go.Figure:
    """Runs trained in epochs, per epoch: the mean cost, the training accuracy averaged over the epoch and the
    validation accuracy at its end (the plain gradient descent notebook's three curves)."""

    def per_epoch(r: RunData, name: str) -> figures.Line:
        values = r.scalar(name)[1]
        return (r.label, np.arange(1, len(values) + 1), values, run_colour(r))

    empty = figures.Empty("no epoch finished yet")
    panels = [
        figures.Panel("mean cost of the epoch", [per_epoch(r, "epoch/loss") for r in runs], True, empty),
        figures.Panel("training accuracy (mean over the epoch)", [per_epoch(r, "epoch/accuracy") for r in runs],
                      True, empty),
        figures.Panel("validation accuracy (after the epoch)",
                      [per_epoch(r, "epoch/validation_accuracy") for r in runs], True, empty),
    ]  # fmt: skip
    title = "Per epoch: cost, training accuracy and validation accuracy"
    return figures.stacked_panels(panels, title, key, style, xtitle="epoch")


def beside_published(
    runs: Sequence[RunData], name: str = "accuracy", style: Style = DEFAULT, key: str | None = None
) -> go.Figure:
    """A recorded scalar over training, each group of seeds as its mean and band (a lone run as its line),
    with the figures the blog posts printed for the runs' presets marked on it (rnnviz/published.py)."""
    title, ytitle = metric_titles(name, runs[0].cfg if runs else RunConfig())
    fig = figures.band_lines(group_bands(runs, name, style), title, ytitle, key or f"pub-{name}", style,
                             log_y=is_log(name))  # fmt: skip
    marked: set[str] = set()
    points: list[figures.Line] = []
    for r in runs:
        pub = published(str(r.row["name"]))
        if pub is None or name not in pub.points or pub.source + r.cfg.cell in marked:
            continue
        marked.add(pub.source + r.cfg.cell)
        steps = np.array(sorted(pub.points[name]))
        values = np.array([pub.points[name][s] for s in steps])
        label = f"published: {pub.source}, {r.cfg.cell.upper()}"
        points.append((label, along(r, steps, style), values, figures.run_color(r.cfg.cell)))  # the role's colour
    return figures.with_points(fig, points)
