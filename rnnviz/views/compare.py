"""Views of the Compare page: any recorded scalar of runs on one axis, or each group of seeds as its mean and band."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from .. import figures, sweeps
from ..config import RunConfig
from ..figures import Style
from ..quantities import EVALUATION, find, is_log, titles
from .common import DEFAULT, NO_EVALUATION, RunData, along, line, parameter_label

EVALUATIONS = ("validation_", "test_", "epoch/")  # a watched loop's own evaluations, by name


def metric_titles(name: str, cfg: RunConfig) -> tuple[str, str]:
    """A recorded scalar's chart title and y axis title, in words (the registry's; a name it does not hold, such as
    a watched loop's own scalar, in its own words)."""
    if name.startswith("grad_norm/") and name != "grad_norm/global":
        return f"Gradient norm of {parameter_label(name.removeprefix('grad_norm/'))}", "||dL/dθ||"
    said = titles(name, cfg.saturation)
    if said is not None:
        return said
    words = name.replace("_", " ")
    return words[:1].upper() + words[1:], words


def evaluated(name: str) -> bool:
    """Whether a scalar is recorded now and then (an evaluation), so drawn with markers."""
    q = find(name)
    return q.source == EVALUATION if q is not None else name.startswith(EVALUATIONS)


def metric(runs: Sequence[RunData], name: str, style: Style = DEFAULT, key: str | None = None) -> go.Figure:
    series = [line(r, name, style) for r in runs]
    title, ytitle = metric_titles(name, runs[0].cfg if runs else RunConfig())
    return figures.lines(
        series,
        title,
        ytitle,
        key or f"cmp-{name}",
        style,
        log_y=is_log(name),
        markers=evaluated(name),
        empty=NO_EVALUATION if evaluated(name) else figures.Empty(),
    )


def group_bands(runs: Sequence[RunData], name: str, style: Style = DEFAULT) -> list[figures.Band]:
    """The runs grouped over seeds (every setting but the seed alike), each group's scalar `name` as its
    mean and band at the steps its runs recorded, labelled with its seeds and the band's kind."""
    by_group: dict[str, list[RunData]] = {}
    for r in runs:
        by_group.setdefault(sweeps.group_key(r.cfg), []).append(r)
    bands = []
    for members in by_group.values():
        # every seed in the same buckets, so that they line up step for step
        last = max(int(r.row["step"]) for r in members)
        views = [r.scalar_view(name, steps=(0, last)) for r in members]
        steps = np.unique(np.concatenate([v.start for v in views])) if views else np.zeros(0)
        table = np.full((len(members), len(steps)), np.nan)
        for j, v in enumerate(views):
            table[j, np.searchsorted(steps, v.start)] = v.mean
        mean, lo, hi = sweeps.band(table) if len(steps) else (steps, steps, steps)
        n = len(members)
        label = sweeps.group_label(str(members[0].row["name"]))
        bands.append(
            figures.Band(f"{label}: {n} seed{'s' * (n > 1)}, {sweeps.band_name(n)}", along(members[0], steps, style),
                         mean, lo, hi,
                         figures.run_color(members[0].cfg.cell, label))
        )  # fmt: skip
    return bands


def group_metric(runs: Sequence[RunData], name: str, style: Style = DEFAULT, key: str | None = None) -> go.Figure:
    """A recorded scalar of runs grouped over seeds: each group's mean over its seeds, with their band."""
    title, ytitle = metric_titles(name, runs[0].cfg if runs else RunConfig())
    bands = group_bands(runs, name, style)
    return figures.band_lines(bands, f"{title}: mean over seeds", ytitle, key or f"grp-{name}", style,
                              log_y=is_log(name), markers=evaluated(name))  # fmt: skip
