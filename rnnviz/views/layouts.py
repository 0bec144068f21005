"""Pages and the report as layouts: lists of views, each a `Slot` saying which view, its key, heading, width and
the runs it draws. Adding a chart to a page is one line in its layout here, and to the report one line in
REPORT; dashboard/layout.py draws a page's slots, report.py the report's. No Streamlit here."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .. import cells
from . import VIEWS, View, recorded
from .common import RunData
from .layers import has_parts, streams_in

Runs = Sequence[Any]  # RunData, and the dashboard's ShownRun


def every(runs: Runs) -> list:
    return list(runs)


def built_in(runs: Runs) -> list:
    """Runs of rnnviz's own cells (a custom cell's pre-activations are its own)."""
    return [r for r in runs if r.cfg.cell != "custom"]


def custom(runs: Runs) -> list:
    return [r for r in runs if r.cfg.cell == "custom"]


def layered(runs: Runs) -> list:
    """Watched models of several layers or directions."""
    return [r for r in runs if streams_in(r)]


def parted(runs: Runs) -> list:
    """Watched models with an output at every step."""
    return [r for r in runs if has_parts(r)]


def in_epochs(runs: Runs) -> list:
    return [r for r in runs if r.cfg.epochs]


def any_gated(runs: Runs) -> list:
    """All the runs, beside each other, when one of them has a path gate (LSTM, GRU); else none."""
    return list(runs) if any(cells.path_gate(r.cfg.cell) for r in runs) else []


def gate_probed(runs: Runs) -> list:
    """Gated runs with a gate probe recorded."""
    return [r for r in runs if cells.gates_of(r.cfg.cell) and recorded(VIEWS["gate_means"], r)]


@dataclass(frozen=True)
class Slot:
    """One chart of a layout."""

    view: str  # a name in VIEWS
    key: str  # the chart's key; "{id}" is the run's id in a chart per run
    heading: str = ""  # its heading in the report; "{label}" is the run's label
    runs: Callable[[Runs], list] = every  # the runs it draws (none: it is left out)
    each: bool = False  # a chart per run
    half: bool = False  # half the page's width, beside the next half slot
    options: tuple[str, ...] = ()  # the page's options it takes (which, threshold, zrange, name, xspan)

    @property
    def of(self) -> View:
        return VIEWS[self.view]

    def groups(self, runs: Runs) -> list[list]:
        """The runs of each chart it draws."""
        chosen = self.runs(runs)
        return [[r] for r in chosen] if self.each or (chosen and self.of.one) else ([chosen] if chosen else [])


OVERVIEW = [Slot("overview", "overview", "Loss, {evaluated} and saturation", options=("height",))]
OVERVIEW_GROUPED = Slot("group_metric", "ov-{name}", half=True, options=("name",))  # one per scalar
PUBLISHED = Slot("beside_published", "ov-pub-{name}", options=("name",))  # one per scalar the posts printed
OVERVIEW_EPOCHS = [Slot("epochs", "ov-epochs", "Per epoch: cost, training and validation accuracy", in_epochs)]

GRADIENT_FLOW = [
    Slot("gradient_flow", "gf-heat", "Gradient reaching each time step", options=("zrange",)),
    Slot("gradient_curve", "gf-curve", "||dL/dh_t|| at the latest probe"),
]
GRADIENT_FLOW_LAYERS = [
    Slot("depth_time", "gf-layers-{id}", "{label}: by layer and direction", layered),
    Slot("per_layer", "gf-layer-lines-{id}", "", layered),
]
GRADIENT_FLOW_PARTS = [
    Slot("gradient_parts", "gf-parts", "With an output at every step: where the gradient comes from", parted)
]
GRADIENT_FLOW_NORMS = [  # a pair per run, on the training steps every run's pair shares (xspan)
    Slot("param_norms", "gf-param-{id}", half=True, options=("xspan",)),
    Slot("global_norm", "gf-global-{id}", half=True, options=("xspan",)),
]
WHY_OF_RUN = [  # a pair per run, under the reading of its factors
    Slot("why_chain", "why-chain-{id}", "{label}: why the gradient vanishes", half=True),
    Slot("tanh_slope", "why-slope-{id}", "{label}: tanh slope over training", half=True, options=("xspan",)),
]
WHY_PATHS = [Slot("gate_paths", "why-paths", "Cell-state path against the RNN's Jacobian", any_gated)]

SATURATION = [
    Slot("saturation", "sat-hist", "Hidden activations at the latest probe", options=("which", "threshold")),
    Slot("saturation_over_training", "sat-over", "Saturated share over training", half=True,
         options=("which", "threshold")),
    Slot("saturation_per_time_step", "sat-per-t", "Saturated share per time step", half=True),
    Slot("preactivations", "sat-preact", runs=built_in),
    Slot("unit_saturation", "sat-units", "Saturation of each hidden unit", half=True),
    Slot("mean_abs_h", "sat-mean-abs", "Mean |h| per time step", half=True),
]  # fmt: skip
SATURATION_NAMED = [  # a pair per custom cell
    Slot("named_tanh", "sat-named-{id}", runs=custom, half=True),
    Slot("named_tanh_slope", "sat-slope-{id}", runs=custom, half=True),
]
SATURATION_LAYERS = [Slot("per_layer", "sat-layers-{id}", runs=layered, options=("name",))]

GATES = [  # of the run picked
    Slot("gate_means", "gates-mean", "{label}: mean gate value per time step", gate_probed, half=True),
    Slot("gate_scatter", "gates-scatter", "{label}: gate saturation per unit", gate_probed, half=True),
]

GATE_HISTOGRAM = Slot("gate_histograms", "gates-h-{name}", half=True, options=("name",))  # one per gate

COMPARE_METRIC = Slot("metric", "cmp-{name}", half=True, options=("name",))  # one per scalar chosen
COMPARE_GROUPED = Slot("group_metric", "cmp-{name}", half=True, options=("name",))
COMPARE_FLOW = [Slot("gradient_curve", "cmp-flow", options=("key",))]

# The report: what the Overview, Gradient flow (with its Why section), Saturation and Gates pages show.
REPORT = [
    *OVERVIEW,
    *GRADIENT_FLOW,
    GRADIENT_FLOW_LAYERS[0],
    SATURATION[0],
    SATURATION[1],
    SATURATION[2],
    SATURATION[5],  # mean |h| per time step
    *GRADIENT_FLOW_PARTS,
    *OVERVIEW_EPOCHS,
    *WHY_OF_RUN,
    *WHY_PATHS,
    *GATES,
]


def heading(slot: Slot, runs: Sequence[RunData], evaluated: str) -> str:
    """A slot's heading in the report for the runs of one of its charts."""
    return slot.heading.format(label=runs[0].label if runs else "", evaluated=evaluated)
