"""Views drawn from the quantity registry alone: a per-time-step quantity needs no code of its own, only its
registry entry (title, axis, log scale) and a line in views.VIEWS."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from .. import figures, quantities
from ..figures import Style
from .common import DEFAULT, RunData, no_probe, per_time_step


def per_step(
    runs: Sequence[RunData], name: str, at: int | None = None, style: Style = DEFAULT, key: str | None = None
) -> go.Figure:
    """Each run's per-time-step quantity `name` at its probe for `at`, a line per run in its colour, titled and
    scaled as the registry declares it."""
    q = quantities.find(name)
    if q is None or q.kind != quantities.PER_STEP:
        raise ValueError(f"{name!r} is not a per-time-step quantity of the registry (rnnviz/quantities/)")
    threshold = runs[0].cfg.saturation if runs else 0.99
    return figures.lines(
        per_time_step(runs, name, at),
        q.title.format(threshold=threshold),
        q.axis,
        key or f"step-{name}",
        style,
        log_y=q.log,
        xtitle="time step t",
        growing_x=False,
        empty=no_probe(runs),
    )
