"""The views of recorded runs, by name: one definition shared by the dashboard pages, the notebook API
(`Run.figure`) and the HTML report, so all three show the same pictures (cf. Cockpit's cockpit/instruments/).

A view takes runs (anything with the `RunData` readers) and options such as the training step to show; it
returns a Plotly figure, built by rnnviz/figures/, and never touches Streamlit. `at=None` means each run's
latest probe. Each view declares the quantities it reads (rnnviz/quantities/); pages and the report are
layouts of views (layouts.py). One module per page's section: training (Overview), flow (Gradient flow), why,
saturation, gates, compare, layers (a watched model's layers and outputs).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import plotly.graph_objects as go

from ..quantities import HISTOGRAM, SCALAR, find
from .common import (
    DEFAULT,
    NO_EVALUATION,
    NOT_RECORDED,
    RunData,
    along,
    beyond,
    colour_of,
    hidden_label,
    layer_of,
    no_probe,
    parameter_label,
    per_time_step,
    probe_index,
    run_colour,
)
from .compare import group_bands, group_metric, metric, metric_titles
from .flow import clipped_share, global_norm, gradient_curve, gradient_flow, gradient_scale, param_norms, shared_span
from .gates import GATE_COLORS, gate_histograms, gate_means, gate_scatter, gates_of, histogrammed_gates
from .generic import per_step
from .layers import (
    LAST_ONLY,
    NO_NAMED_TANH,
    ONE_STREAM,
    depth_time,
    gradient_parts,
    has_parts,
    named_tanh,
    per_layer,
    streams_in,
)
from .saturation import (
    preactivations,
    saturation_animation,
    saturation_histogram,
    saturation_over_training,
    saturation_per_time_step,
    unit_saturation,
)
from .training import beside_published, epochs, evaluated_title, no_evaluation, overview
from .why import BOUND, JACOBIAN, gate_paths, path_bound, tanh_slope, why_chain


@dataclass(frozen=True)
class View:
    """A view by name: the function that draws it, the quantities it reads, and whether it draws one run."""

    build: Callable[..., go.Figure]  # (runs, style=..., **options), or (run, style=..., **options) with `one`
    requires: tuple[str, ...]  # quantities it reads, by their registry names (families by pattern)
    one: bool = False  # it draws one run: build(runs[0], ...)
    defaults: dict[str, Any] = field(default_factory=dict)  # options it is drawn with unless given
    reads_any: str | None = None  # a kind of quantity it reads any of (Compare's chart: any scalar)

    def __call__(self, runs: Sequence[RunData], style=DEFAULT, **options: Any) -> go.Figure:
        """The view of runs, as `Run.figure(name)` and the report draw it."""
        return self.build(runs[0] if self.one else runs, style=style, **{**self.defaults, **options})


# The views whose x axis counts training steps (or samples seen) and whose lines are recorded scalars: a zoom
# into one of them reads its scalars over the steps it shows (the live chart's feed, dashboard/live.py).
OVER_STEPS: tuple[Callable[..., go.Figure], ...] = (overview, metric, group_metric, param_norms, global_norm)

HISTOGRAMS = ("hist/h_all", "hist/h_last")
# Every view, by name, for `Run.figure(name)`, the report and the pages' layouts.
VIEWS: dict[str, View] = {
    "overview": View(overview, ("loss", "validation_accuracy", "saturated")),
    "epochs": View(epochs, ("epoch/loss", "epoch/accuracy", "epoch/validation_accuracy")),
    "beside_published": View(beside_published, ("accuracy", "loss"), defaults={"name": "accuracy"}),
    "gradient_flow": View(gradient_flow, ("grad_h",)),
    "gradient_curve": View(gradient_curve, ("grad_h",)),
    "param_norms": View(param_norms, ("grad_norm/{param}",), one=True),
    "global_norm": View(global_norm, ("grad_norm/global", "clipped"), one=True),
    "why_chain": View(why_chain, ("grad_h", "step_gain", "jacobian_norm", "step_bound"), one=True),
    "tanh_slope": View(tanh_slope, ("tanh_slope", "tanh_slope_g"), one=True),
    "gate_paths": View(gate_paths, ("forget_path", "jacobian_norm")),
    "saturation": View(saturation_histogram, HISTOGRAMS),
    "saturation_over_training": View(saturation_over_training, HISTOGRAMS),
    "saturation_per_time_step": View(saturation_per_time_step, ("sat_t",)),
    "preactivations": View(preactivations, ("hist/preact",)),
    "saturation_animation": View(saturation_animation, HISTOGRAMS, one=True),
    "named_tanh": View(named_tanh, ("sat_t_{name}",), one=True),
    "named_tanh_slope": View(named_tanh, ("tanh_slope_{name}",), one=True, defaults={"slope": True}),
    "unit_saturation": View(unit_saturation, ("unit_sat_h",)),
    "mean_abs_h": View(per_step, ("mean_abs_h_t",), defaults={"name": "mean_abs_h_t"}),
    "gate_means": View(gate_means, ("gate_mean_t/{gate}",), one=True),
    "gate_scatter": View(gate_scatter, ("unit_sat/{gate}",), one=True),
    "gate_histograms": View(gate_histograms, ("hist/gate_{gate}", "hist/c"), one=True, defaults={"name": "f"}),
    "metric": View(metric, (), defaults={"name": "test_accuracy"}, reads_any=SCALAR),
    "group_metric": View(group_metric, (), defaults={"name": "test_accuracy"}, reads_any=SCALAR),
    # a watched model's layers, directions and outputs
    "depth_time": View(depth_time, ("grad_h",), one=True),
    "per_layer": View(per_layer, ("grad_h", "sat_t", "mean_abs_h_t", "tanh_slope"), one=True,
                      defaults={"name": "grad_h"}),
    "gradient_parts": View(gradient_parts, ("grad_h_local", "grad_h_later", "grad_h_last")),
}  # fmt: skip


def recorded(view: View, run: Any) -> bool:
    """Whether a run recorded any of the quantities a view reads, by the step it is shown at."""
    if view.reads_any is not None:
        return True
    if any(_reads(n, view.requires) for n in run.scalar_names()):
        return True
    for name in run.array_names():
        if _reads(name, view.requires):
            q = find(name)
            steps = run.histograms(name.removeprefix("hist/"))[0] if q and q.kind == HISTOGRAM else run.series(name)[0]
            if len(steps):
                return True
    return False


def lacking(view: View, run: Any) -> str | None:
    """What a view says of a run that recorded none of what it reads, in one shared way; None when it has some."""
    if recorded(view, run):
        return None
    if int(run.row.get("step") or 0) == 0:
        return f"`{run.label}`: no probe recorded yet; the first arrives with the run's first step."
    return f"`{run.label}`: {NOT_RECORDED}."


def _reads(recorded_name: str, requires: tuple[str, ...]) -> bool:
    q = find(recorded_name)
    return q is not None and q.name in requires


__all__ = [
    "LAST_ONLY", "NO_NAMED_TANH", "ONE_STREAM", "has_parts", "streams_in",
    "BOUND", "DEFAULT", "GATE_COLORS", "JACOBIAN", "NOT_RECORDED", "NO_EVALUATION", "OVER_STEPS", "VIEWS", "RunData",
    "View", "along", "beside_published", "beyond", "clipped_share", "colour_of", "depth_time", "epochs",
    "evaluated_title", "gate_histograms", "gate_means", "gate_paths", "gate_scatter", "gates_of", "global_norm",
    "gradient_curve", "gradient_flow", "gradient_parts", "gradient_scale", "group_bands", "group_metric",
    "hidden_label", "histogrammed_gates", "lacking", "layer_of", "metric", "metric_titles", "named_tanh",
    "no_evaluation", "no_probe", "overview", "param_norms", "parameter_label", "path_bound", "per_layer",
    "per_step", "per_time_step", "preactivations", "probe_index", "recorded", "run_colour", "saturation_animation",
    "saturation_histogram", "saturation_over_training", "saturation_per_time_step", "shared_span", "tanh_slope",
    "unit_saturation", "why_chain",
]  # fmt: skip
