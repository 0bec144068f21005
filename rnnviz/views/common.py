"""What every view shares: the runs it reads (`RunData`), a run's colour and training axis, the probe at a step,
parameters in words, and what an empty chart says."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from .. import buckets, figures, sweeps
from ..config import RunConfig
from ..figures import Style

DEFAULT = Style()
NO_EVALUATION = figures.Empty("no evaluation yet")
NOT_RECORDED = "not recorded: the run predates these probes"

PARAMETERS = {
    "weight_hh": ("W_hh", "recurrent weights"),
    "weight_ih": ("W_ih", "input weights"),
    "bias_hh": ("b_hh", "recurrent bias"),
    "bias_ih": ("b_ih", "input bias"),
}
HEAD = {"weight": ("W_out", "output weights"), "bias": ("b_out", "output bias")}


def parameter_label(name: str) -> str:
    """A parameter's name in words: rnn.weight_hh_l0 -> "W_hh (recurrent weights)", head.bias -> "b_out (output
    bias)"; a name of another model (a loop watched with rnnviz.watch) stays as it is."""
    module, _, param = name.rpartition(".")
    if module == "head" and param in HEAD:
        return "{} ({})".format(*HEAD[param])
    base, _, layer = param.removesuffix("_reverse").rpartition("_l")
    if module == "rnn" and base in PARAMETERS and layer.isdigit():
        symbol, role = PARAMETERS[base]
        where = f", layer {int(layer) + 1}" if int(layer) else ""
        return f"{symbol} ({role}{where}{', backward' if param.endswith('_reverse') else ''})"
    return name


def layer_of(name: str) -> str | None:
    """The layer and direction in words of a stacked or bidirectional module's parameter (rnn.weight_hh_l1_reverse
    -> "layer 2, backward"), None for the head and for anything else."""
    module, _, param = name.rpartition(".")
    layer = param.removesuffix("_reverse").rpartition("_l")[2]
    if module != "rnn" or not layer.isdigit():
        return None
    return f"layer {int(layer) + 1}, {'backward' if param.endswith('_reverse') else 'forward'}"


class RunData(Protocol):
    """What a view reads from a run; the dashboard's cached ShownRun and the API's Run both provide it."""

    @property
    def id(self) -> int: ...
    @property
    def label(self) -> str: ...
    @property
    def cfg(self) -> RunConfig: ...
    @property
    def row(self) -> Mapping[str, Any]: ...

    def scalar_names(self) -> list[str]: ...
    def scalar_view(
        self, name: str, steps: tuple[int, int] | None = None, points: int = figures.MAX_POINTS // 2
    ) -> buckets.Buckets: ...
    def scalar(self, name: str) -> tuple[np.ndarray, np.ndarray]: ...
    def series(self, name: str) -> tuple[np.ndarray, np.ndarray]: ...
    def histograms(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...


def probe_index(steps: np.ndarray, at: int | None) -> int:
    """Index of the last probe at or before a training step (the latest if `at` is None, else the first
    probe if none is before it)."""
    if at is None:
        return max(len(steps) - 1, 0)
    return max(int(np.searchsorted(steps, at, side="right")) - 1, 0)


def beyond(edges: np.ndarray, counts: np.ndarray, threshold: float) -> np.ndarray:
    """Share of values with |x| beyond threshold, from histogram counts (P, bins)."""
    centres = (edges[:-1] + edges[1:]) / 2
    mask = np.abs(centres) > threshold
    return counts[:, mask].sum(1) / np.maximum(counts.sum(1), 1)


def hidden_label(which: str) -> str:
    """How the pages name a set of hidden states: h_all, h_last."""
    return {"h_all": "all time steps", "h_last": "last time step"}[which]


def along(run: RunData, steps: np.ndarray, style: Style) -> np.ndarray:
    """A run's training steps as a chart over training counts them: steps, or with `style.samples` the samples
    seen by the end of each (step x the run's batch size)."""
    return steps * run.cfg.batch_size if style.samples else steps


def colour_of(cfg: RunConfig, name: str) -> str:
    """The colour of the run of these settings and name: its role's (tanh RNN, LSTM, GRU), in the shade of its
    variant and seed; the pages' run chips wear it too."""
    return figures.run_color(cfg.cell, sweeps.group_label(name), cfg.seed)


def run_colour(run: RunData) -> str:
    """A run's colour in every figure."""
    return colour_of(run.cfg, str(run.row["name"]))


def line(run: RunData, name: str, style: Style = DEFAULT) -> figures.Line:
    """A recorded scalar as a line in the run's colour."""
    steps, values = run.scalar(name)
    return (run.label, along(run, steps, style), values, run_colour(run))


def per_time_step(runs: Sequence[RunData], name: str, at: int | None) -> list[figures.Line]:
    """Each run's per-time-step array `name` at its probe for `at`, as (label, t = 1..T, values, colour) lines."""
    lines = []
    for r in runs:
        steps, values = r.series(name)
        if len(steps):
            j = probe_index(steps, at)
            t = np.arange(1, values.shape[1] + 1)
            lines.append((f"{r.label} (probe at step {int(steps[j]):,})", t, values[j], run_colour(r)))
    return lines


def no_probe(runs: Sequence[RunData]) -> figures.Empty:
    """A per-time-step chart before the first probe: time steps 1..T of the (first) run."""
    return figures.Empty("no probe yet", x=(1.0, float(runs[0].cfg.seq_len if runs else 28)))


def why_empty(run: RunData) -> figures.Empty:
    """What a Why chart shows without its arrays: the run has no probe yet, or was recorded before these probes."""
    T = float(run.cfg.seq_len)
    recorded = len(run.series("grad_h")[0]) > 0
    return figures.Empty(NOT_RECORDED if recorded else "no probe yet", x=(1.0, T))


def probe_at(run: RunData, name: str, at: int | None) -> tuple[int, np.ndarray] | None:
    """The training step of the probe for `at` and the per-time-step array `name` there, or None."""
    steps, values = run.series(name)
    if len(steps) == 0:
        return None
    j = probe_index(steps, at)
    return int(steps[j]), values[j]
