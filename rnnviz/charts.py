"""The figures of recorded runs, by name: one definition shared by the dashboard pages, the notebook API
(`Run.figure`) and the HTML report, so all three show the same pictures.

A view takes runs (anything with the `RunData` readers) and options such as the training step to show;
it returns a Plotly figure and never touches Streamlit. `at=None` means each run's latest probe.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import plotly.graph_objects as go

from . import buckets, figures, findings, layer_charts, sets
from .config import GATES, TANH_GATES, WATCHED, RunConfig
from .figures import Style
from .published import published

GATE_NAMES = {
    "i": "input",
    "f": "forget",
    "g": "candidate (tanh)",
    "o": "output",
    "r": "reset",
    "z": "update",
    "n": "candidate (tanh)",
}
GATE_COLORS = {g: figures.color(k) for k, g in enumerate("ifgorzn")}  # a gate's colour in every figure
DEFAULT = Style()
LOG_SCALE = ("loss", "grad_norm", "grad_h_ratio", "probe_loss", "jacobian_norm", "forget_path")
NO_EVALUATION = figures.Empty("no evaluation yet")
EVALUATIONS = ("validation_", "test_", "epoch/")  # scalars recorded now and then, drawn with markers
# Recorded scalars in words: (chart title, y axis title); {threshold} is the run's saturation threshold.
# Short enough for a chart in half the page in presenter mode (Plotly does not wrap a title).
METRICS = {
    "loss": ("Training loss", "loss"),
    "accuracy": ("Training accuracy (on each batch)", "accuracy"),
    "validation_accuracy": ("Validation accuracy", "accuracy"),
    "validation_loss": ("Validation loss", "loss"),
    "test_accuracy": ("Test accuracy", "accuracy"),
    "test_loss": ("Test loss", "loss"),
    "test_accuracy_128": ("Test accuracy, first 128 test digits", "accuracy"),
    "test_accuracy_256": ("Test accuracy, first 256 test digits", "accuracy"),
    "epoch/loss": ("Mean cost of each epoch", "loss"),
    "epoch/accuracy": ("Training accuracy, mean over each epoch", "accuracy"),
    "epoch/validation_accuracy": ("Validation accuracy after each epoch", "accuracy"),
    "probe_loss": ("Loss on the probe batch", "loss"),
    "saturated": ("Saturated units (fraction of |h| > {threshold:g})", "fraction"),
    "saturated_last": ("Saturated units at t = T (fraction of |h| > {threshold:g})", "fraction"),
    "grad_h_ratio": ("Gradient ratio ||dL/dh_1|| / ||dL/dh_T||", "ratio"),
    "grad_norm/global": ("Global gradient norm (before clipping)", "||g||"),
    "clipped": ("Clipped steps (1: clipped)", "clipped"),
    "sigma_max_whh": ("Largest singular value of the recurrent weights W_hh", "σ_max"),
    "tanh_slope_mean": ("Mean tanh slope φ'(a_t) on the probe batch", "mean φ'"),
    "jacobian_norm_t1": ("Jacobian norm ||dh_T/dh_1||₂", "||dh_T/dh_1||"),
    "forget_path_t1": ("Cell-state path from t = 1 (mean ∏ f, GRU ∏ z)", "mean ∏ f"),
}

# The model's parameters in words, by torch's names (rnn.weight_hh_l0, head.bias): symbol and role.
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


def _per_layer(run: RunData, params: list[str], style: Style) -> list[figures.Line]:
    """A watched stacked or bidirectional module's parameters, one line per layer and direction: the norm of all
    its weights' and biases' gradients together (the head's parameters keep a line each)."""
    groups: dict[str, list[str]] = {}
    for n in params:
        groups.setdefault(
            layer_of(n.removeprefix("grad_norm/")) or parameter_label(n.removeprefix("grad_norm/")), []
        ).append(n)
    lines = []
    for k, (label, names) in enumerate(groups.items()):
        steps, values = run.scalar(names[0])
        for n in names[1:]:
            values = np.hypot(values, run.scalar(n)[1])  # every step records every parameter: the steps align
        lines.append((label, along(run, steps, style), values, figures.color(k)))
    return lines


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
    return figures.run_color(cfg.cell, sets.group_label(name), cfg.seed)


def run_colour(run: RunData) -> str:
    """A run's colour in every figure."""
    return colour_of(run.cfg, str(run.row["name"]))


def _line(run: RunData, name: str, style: Style = DEFAULT) -> figures.Line:
    """A recorded scalar as a line in the run's colour."""
    steps, values = run.scalar(name)
    return (run.label, along(run, steps, style), values, run_colour(run))


# ---- Overview ----
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
        figures.Panel("training loss", [_line(r, "loss", style) for r in runs]),
        figures.Panel(held_out, [_line(r, findings.evaluated(r), style) for r in runs], True, no_evaluation(runs)),
        figures.Panel("saturated |h|", [_line(r, "saturated", style) for r in runs]),
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
                             log_y=name.startswith(LOG_SCALE))  # fmt: skip
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


# ---- Gradient flow ----
def gradient_flow(
    runs: Sequence[RunData],
    style: Style = DEFAULT,
    key: str = "gf-heat",
    zrange: tuple[float, float] | None = None,
) -> go.Figure:
    T = float(runs[0].cfg.seq_len if runs else 28)
    empty = figures.Empty("no probe yet", y=(1.0, T))
    maps = []
    for r in runs:
        steps, grads = r.series("grad_h")
        maps.append((r.label, along(r, steps, style), grads))
    return figures.gradient_heatmaps(maps, key, style, zrange, empty)


def gradient_scale(runs: Sequence[RunData]) -> tuple[float, float] | None:
    """The gradient heatmap's colour scale for these runs, (floor, top) in log10: the one their whole records
    give, which the scrubber and a replay hold while they show the runs cut at an earlier step."""
    return figures.gradient_decades([r.series("grad_h")[1] for r in runs])


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


def gradient_curve(
    runs: Sequence[RunData], at: int | None = None, style: Style = DEFAULT, key: str = "gf-curve"
) -> go.Figure:
    curves = per_time_step(runs, "grad_h", at)  # a gradient that underflowed to 0 is marked at the floor
    scrubbed = any(getattr(r, "until", None) is not None for r in runs)  # a page showing an earlier step
    title = (
        "||dL/dh_t|| against time step"
        if at is not None
        else "||dL/dh_t|| at the step shown"
        if scrubbed
        else "||dL/dh_t|| at each run's latest probe"
    )
    return figures.lines(
        curves,
        title,
        "||dL/dh_t||",
        key,
        style,
        log_y=True,
        xtitle="time step t",
        growing_x=False,
        empty=no_probe(runs),
    )


def _same(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> bool:
    return len(a[1]) > 0 and a[0].shape == b[0].shape and bool(np.allclose(a[1], b[1], rtol=1e-5, equal_nan=True))


def param_norms(run: RunData, style: Style = DEFAULT, key: str | None = None) -> go.Figure:
    """Each parameter's gradient norm, named in words. The RNN's and LSTM's two biases are added in the same
    sum (W_ih x + b_ih + W_hh h + b_hh), so their gradients are equal: b_hh's line, drawn dashed over b_ih's,
    says so in the legend rather than hiding under it."""
    params = [n for n in run.scalar_names() if n.startswith("grad_norm/") and n != "grad_norm/global"]
    # weights before biases, the recurrent layer before the head; b_hh after b_ih, so that it is drawn on top
    order = ("weight_hh", "weight_ih", "bias_ih", "bias_hh", "head.weight", "head.bias")
    params.sort(key=lambda n: (next((k for k, part in enumerate(order) if part in n), len(order)), n))
    if len({layer_of(n.removeprefix("grad_norm/")) for n in params} - {None}) > 1:
        lines = _per_layer(run, params, style)
        title = f"{run.label}: gradient norm per layer"
        return figures.lines(lines, title, "||dL/dθ||", key or f"gf-param-{run.id}", style, log_y=True)
    per, same = [], []
    for k, n in enumerate(params):
        label = parameter_label(n.removeprefix("grad_norm/"))
        twin = n.replace("bias_hh", "bias_ih")
        if twin != n and twin in params and _same(run.scalar(n), run.scalar(twin)):
            label = f"{label.split(' (')[0]} (same as b_ih)"
            same.append(label)
        steps, values = run.scalar(n)
        per.append((label, along(run, steps, style), values, figures.color(k)))
    title = f"{run.label}: gradient norm per parameter"
    fig = figures.lines(per, title, "||dL/dθ||", key or f"gf-param-{run.id}", style, log_y=True)
    return fig.update_traces(line_dash="dash", line_width=3, selector=lambda t: t.name in same)


def clipped_share(run: RunData) -> float | None:
    """Fraction of steps on which clipping fired, or None when the run does not clip."""
    clipped = run.scalar_view("clipped", points=1)
    return float(clipped.sum.sum() / clipped.n.sum()) if run.cfg.clip > 0 and clipped.n.sum() else None


def global_norm(run: RunData, style: Style = DEFAULT, key: str | None = None) -> go.Figure:
    steps, norm = run.scalar("grad_norm/global")
    at, clipped = run.scalar("clipped")  # a watched loop records no clipping
    return figures.norm_with_clipping(
        run.label,
        along(run, steps, style),
        norm,
        along(run, at[clipped > 0], style),
        run.cfg.clip,
        key or f"gf-global-{run.id}",
        style,
        colour=run_colour(run),
    )


# ---- Why (the chain of Jacobians) ----
NOT_RECORDED = "not recorded: the run predates these probes"
PATH_GATES = {"lstm": "f", "gru": "z"}  # the gate that scales the path from t to T: c_t, or h_t through z
JACOBIAN = {
    "lstm": "||d(h_T, c_T)/d(h_t, c_t)||₂",  # of the LSTM's whole state
    "custom": "||ds_T/ds_t||₂ (the cell's whole state)",
}
BOUND = "bound ∏ σ_max(W_hh) × max φ'"  # drawn dashed


def _why_empty(run: RunData) -> figures.Empty:
    """What a Why chart shows without its arrays: the run has no probe yet, or was recorded before these probes."""
    T = float(run.cfg.seq_len)
    recorded = len(run.series("grad_h")[0]) > 0
    return figures.Empty(NOT_RECORDED if recorded else "no probe yet", x=(1.0, T))


def _at(run: RunData, name: str, at: int | None) -> tuple[int, np.ndarray] | None:
    """The training step of the probe for `at` and the per-time-step array `name` there, or None."""
    steps, values = run.series(name)
    if len(steps) == 0:
        return None
    j = probe_index(steps, at)
    return int(steps[j]), values[j]


def path_bound(step_bound: np.ndarray) -> np.ndarray:
    """prod_{k=t+1..T} sigma_max(W_hh) max_i phi'(a_k,i) for t = 1..T (1 at T): the Pascanu bound on
    ||dh_T/dh_t|| and on ||dL/dh_t|| / ||dL/dh_T||, from the per-step bounds (T,)."""
    tail = np.cumprod(np.asarray(step_bound, dtype=float)[::-1])[::-1]  # prod_{k=t..T}
    return np.append(tail[1:], 1.0)


def why_chain(run: RunData, at: int | None = None, style: Style = DEFAULT, key: str | None = None) -> go.Figure:
    """At one probe, against t: ||dL/dh_t|| / ||dL/dh_T|| as measured, ||dh_T/dh_t||_2 and, for the vanilla RNN,
    the bound both stay under."""
    lines: list[figures.Line] = []
    gain = _at(run, "step_gain", at)
    grad = _at(run, "grad_h", at)
    step = gain[0] if gain else None
    if gain and grad:
        g = grad[1].astype(float)
        t = np.arange(1, len(g) + 1)
        lines.append(
            ("||dL/dh_t|| / ||dL/dh_T||", t, g / g[-1] if g[-1] > 0 else np.full_like(g, np.nan), figures.color(0))
        )
        jac = _at(run, "jacobian_norm", at)
        if jac:
            lines.append((JACOBIAN.get(run.cfg.cell, "||dh_T/dh_t||₂"), t, jac[1], figures.color(1)))
        bound = _at(run, "step_bound", at)
        if bound:
            lines.append((BOUND, t, path_bound(bound[1]), figures.color(2)))
    what = "Jacobians and bound" if run.cfg.cell == "rnn" else "Jacobians"
    title = f"{run.label}: {what}" + (f" (step {step})" if step is not None else "")
    fig = figures.lines(
        lines,
        title,
        "norm (1 at t = T)",
        key or f"why-chain-{run.id}",
        style,
        log_y=True,
        xtitle="time step t",
        growing_x=False,
        empty=_why_empty(run),
    )
    return fig.update_traces(line_dash="dash", selector=dict(name=BOUND))


def tanh_slope(run: RunData, style: Style = DEFAULT, key: str | None = None, name: str = "tanh_slope") -> go.Figure:
    """The mean slope phi'(a_t) of the tanh that makes h_t, per time step over training (LSTM: of the cell state;
    name="tanh_slope_g" for its candidate g)."""
    steps, values = run.series(name)
    cell_tanh = {"lstm": "tanh(c)", "gru": "tanh(n)"}.get(run.cfg.cell, run.cfg.nonlinearity)
    of = "tanh(g)" if name == "tanh_slope_g" else cell_tanh
    empty = _why_empty(run)
    return figures.per_step_heatmap(
        along(run, steps, style),
        values,
        f"{run.label}: {of} slope over training",
        "mean φ'",
        key or f"why-slope-{run.id}",
        style,
        empty=figures.Empty(empty.note, y=empty.x),
    )


def gate_paths(
    runs: Sequence[RunData], at: int | None = None, style: Style = DEFAULT, key: str = "why-paths"
) -> go.Figure:
    """Two mechanisms on one axis: the gated runs' path prod_{k=t+1..T} f_k (GRU: z_k), the scale of the
    cell-state path from t to the end, beside the vanilla RNN runs' ||dh_T/dh_t||_2."""
    lines: list[figures.Line] = []
    for r in runs:
        gate = PATH_GATES.get(r.cfg.cell)
        name = "forget_path" if gate else "jacobian_norm"
        found = _at(r, name, at)
        if found:
            what = f"mean ∏ {gate}" if gate else "||dh_T/dh_t||₂"
            t = np.arange(1, len(found[1]) + 1)
            lines.append((f"{r.label}: {what} (step {found[0]})", t, found[1], run_colour(r)))
    return figures.lines(
        lines,
        "Cell-state path ∏ f_k against the RNN's Jacobian",
        "from t to T",
        key,
        style,
        log_y=True,
        xtitle="time step t",
        growing_x=False,
        empty=_why_empty(runs[0]) if runs else no_probe(runs),
    )


# ---- Saturation ----
def saturation_histogram(
    runs: Sequence[RunData],
    at: int | None = None,
    which: str = "h_all",
    threshold: float | None = None,
    style: Style = DEFAULT,
    key: str = "sat-hist",
) -> go.Figure:
    bars = []
    for r in runs:
        steps, counts, edges = r.histograms(which)
        if len(steps):
            j = probe_index(steps, at)
            bars.append((f"{r.label} (probe at step {int(steps[j]):,})", edges, counts[j], run_colour(r)))
    if threshold is None:
        threshold = runs[0].cfg.saturation if runs else 0.99
    title = f"Hidden activations h ({hidden_label(which)})"
    return figures.histogram_bars(bars, title, key, style, threshold=threshold)


def saturation_over_training(
    runs: Sequence[RunData],
    which: str = "h_all",
    threshold: float | None = None,
    style: Style = DEFAULT,
    key: str = "sat-over",
) -> go.Figure:
    if threshold is None:
        threshold = runs[0].cfg.saturation if runs else 0.99
    over = []
    for r in runs:
        steps, counts, edges = r.histograms(which)
        if len(steps):
            over.append((r.label, along(r, steps, style), beyond(edges, counts, threshold), run_colour(r)))
    title = f"Share of |h| > {threshold:g} over training ({hidden_label(which)})"
    return figures.lines(over, title, "fraction", key, style, empty=figures.Empty("no probe yet"))


def saturation_per_time_step(
    runs: Sequence[RunData], at: int | None = None, style: Style = DEFAULT, key: str = "sat-per-t"
) -> go.Figure:
    per_t = per_time_step(runs, "sat_t", at)
    threshold = runs[0].cfg.saturation if runs else 0.99
    title = f"Saturated share per time step (|h| > {threshold:g})"
    return figures.lines(
        per_t, title, "fraction", key, style, xtitle="time step t", growing_x=False, empty=no_probe(runs)
    )


def preactivations(
    runs: Sequence[RunData], at: int | None = None, style: Style = DEFAULT, key: str = "sat-preact"
) -> go.Figure:
    bars = []
    for r in runs:
        steps, counts, edges = r.histograms("preact")
        if len(steps):
            bars.append((r.label, edges, counts[probe_index(steps, at)], run_colour(r)))
    return figures.histogram_bars(bars, "Pre-activations of the cell's tanh (outer bins collect |a| > 10)", key, style)


def saturation_animation(
    run: RunData, which: str = "h_all", style: Style = DEFAULT, key: str | None = None
) -> go.Figure:
    steps, counts, edges = run.histograms(which)
    return figures.histogram_animation("h", steps, counts, edges, run.label, key or f"sat-anim-{run.id}", style,
                                       colour=run_colour(run), threshold=run.cfg.saturation)  # fmt: skip


# ---- Gates (LSTM and GRU) ----
def gates_of(run: RunData) -> tuple[str, ...]:
    return GATES.get(run.cfg.cell, ())


def _gated(run: RunData) -> tuple[str, ...]:
    gates = gates_of(run)
    if not gates:
        raise ValueError(f"run {run.label} is a {run.cfg.cell} run: it has no gates (LSTM and GRU runs do)")
    return gates


def _gate_probe(run: RunData, at: int | None) -> tuple[np.ndarray, int]:
    steps = run.series(f"gate_mean_t/{_gated(run)[0]}")[0]
    if len(steps) == 0:
        raise ValueError(f"run {run.label} has no probe recorded yet")
    return steps, probe_index(steps, at)


def gate_means(run: RunData, at: int | None = None, style: Style = DEFAULT, key: str = "gates-mean") -> go.Figure:
    steps, j = _gate_probe(run, at)
    means = []
    for g in gates_of(run):
        values = run.series(f"gate_mean_t/{g}")[1]
        means.append((f"{g} ({GATE_NAMES[g]})", np.arange(1, 1 + values.shape[1]), values[j], GATE_COLORS[g]))
    title = f"Mean gate value per time step (probe at step {int(steps[j]):,})"
    return figures.lines(means, title, "mean activation", key, style, xtitle="time step t", growing_x=False)


def gate_scatter(run: RunData, at: int | None = None, style: Style = DEFAULT, key: str = "gates-scatter") -> go.Figure:
    steps, j = _gate_probe(run, at)
    scatter = [(g, run.series(f"unit_sat/{g}")[1][j], GATE_COLORS[g]) for g in gates_of(run) if g not in TANH_GATES]
    return figures.unit_saturation_scatter(
        scatter, f"Gate saturation per unit (probe at step {int(steps[j]):,})", key, style
    )


def gate_histograms(run: RunData, name: str, style: Style = DEFAULT, key: str | None = None) -> go.Figure:
    """One gate's (or, with name "c", the LSTM cell state's) histogram over training."""
    if name not in (*_gated(run), "c"):
        raise ValueError(f"run {run.label} has gates {', '.join(gates_of(run))}, not {name!r}")
    steps, counts, edges = run.histograms("c" if name == "c" else f"gate_{name}")
    title = "Cell state c" if name == "c" else f"Gate {name} ({GATE_NAMES[name]})"
    return figures.histogram_over_training(
        along(run, steps, style), counts, edges, f"{title} over training", key or f"gates-h-{name}", style
    )


def histogrammed_gates(run: RunData) -> list[str]:
    return [*gates_of(run), "c"] if run.cfg.cell == "lstm" else list(gates_of(run))


# ---- Compare ----
def metric_titles(name: str, cfg: RunConfig) -> tuple[str, str]:
    """A recorded scalar's chart title and y axis title, in words."""
    if name.startswith("grad_norm/") and name not in METRICS:
        return f"Gradient norm of {parameter_label(name.removeprefix('grad_norm/'))}", "||dL/dθ||"
    words = name.replace("_", " ")
    title, ytitle = METRICS.get(name, (words[:1].upper() + words[1:], words))
    return title.format(threshold=cfg.saturation), ytitle


def metric(runs: Sequence[RunData], name: str, style: Style = DEFAULT, key: str | None = None) -> go.Figure:
    series = [_line(r, name, style) for r in runs]
    title, ytitle = metric_titles(name, runs[0].cfg if runs else RunConfig())
    return figures.lines(
        series,
        title,
        ytitle,
        key or f"cmp-{name}",
        style,
        log_y=name.startswith(LOG_SCALE),
        markers=name.startswith(EVALUATIONS),
        empty=NO_EVALUATION if name.startswith(EVALUATIONS) else figures.Empty(),
    )


def group_bands(runs: Sequence[RunData], name: str, style: Style = DEFAULT) -> list[figures.Band]:
    """The runs grouped over seeds (every setting but the seed alike), each group's scalar `name` as its
    mean and band at the steps its runs recorded, labelled with its seeds and the band's kind."""
    by_group: dict[str, list[RunData]] = {}
    for r in runs:
        by_group.setdefault(sets.group_key(r.cfg), []).append(r)
    bands = []
    for members in by_group.values():
        # every seed in the same buckets, so that they line up step for step
        last = max(int(r.row["step"]) for r in members)
        views = [r.scalar_view(name, steps=(0, last)) for r in members]
        steps = np.unique(np.concatenate([v.start for v in views])) if views else np.zeros(0)
        table = np.full((len(members), len(steps)), np.nan)
        for j, v in enumerate(views):
            table[j, np.searchsorted(steps, v.start)] = v.mean
        mean, lo, hi = sets.band(table) if len(steps) else (steps, steps, steps)
        n = len(members)
        label = sets.group_label(str(members[0].row["name"]))
        bands.append(
            figures.Band(f"{label}: {n} seed{'s' * (n > 1)}, {sets.band_name(n)}", along(members[0], steps, style),
                         mean, lo, hi,
                         figures.run_color(members[0].cfg.cell, label))
        )  # fmt: skip
    return bands


def group_metric(runs: Sequence[RunData], name: str, style: Style = DEFAULT, key: str | None = None) -> go.Figure:
    """A recorded scalar of runs grouped over seeds: each group's mean over its seeds, with their band."""
    title, ytitle = metric_titles(name, runs[0].cfg if runs else RunConfig())
    bands = group_bands(runs, name, style)
    return figures.band_lines(bands, f"{title}: mean over seeds", ytitle, key or f"grp-{name}", style,
                              log_y=name.startswith(LOG_SCALE), markers=name.startswith(EVALUATIONS))  # fmt: skip


# The views whose x axis counts training steps (or samples seen) and whose lines are recorded scalars: a zoom
# into one of them reads its scalars over the steps it shows (the live chart's feed, dashboard/live.py).
OVER_STEPS: tuple[Callable[..., go.Figure], ...] = (overview, metric, group_metric, param_norms, global_norm)

# Named figures for `Run.figure(name)` and reports: each takes the runs, a style and the view's options.
FIGURES: dict[str, Callable[..., go.Figure]] = {
    "overview": overview,
    "epochs": epochs,
    "beside_published": lambda runs, style=DEFAULT, name="accuracy", **kw: beside_published(runs, name, style, **kw),
    "gradient_flow": gradient_flow,
    "gradient_curve": gradient_curve,
    "param_norms": lambda runs, style=DEFAULT, **kw: param_norms(runs[0], style, **kw),
    "global_norm": lambda runs, style=DEFAULT, **kw: global_norm(runs[0], style, **kw),
    "why_chain": lambda runs, style=DEFAULT, **kw: why_chain(runs[0], style=style, **kw),
    "tanh_slope": lambda runs, style=DEFAULT, **kw: tanh_slope(runs[0], style=style, **kw),
    "gate_paths": gate_paths,
    "saturation": saturation_histogram,
    "saturation_over_training": saturation_over_training,
    "saturation_per_time_step": saturation_per_time_step,
    "preactivations": preactivations,
    "saturation_animation": lambda runs, style=DEFAULT, **kw: saturation_animation(runs[0], style=style, **kw),
    "gate_means": lambda runs, style=DEFAULT, **kw: gate_means(runs[0], style=style, **kw),
    "gate_scatter": lambda runs, style=DEFAULT, **kw: gate_scatter(runs[0], style=style, **kw),
    "gate_histograms": lambda runs, style=DEFAULT, name="f", **kw: gate_histograms(runs[0], name, style, **kw),
    "metric": lambda runs, style=DEFAULT, name="test_accuracy", **kw: metric(runs, name, style, **kw),
    "group_metric": lambda runs, style=DEFAULT, name="test_accuracy", **kw: group_metric(runs, name, style, **kw),
    **layer_charts.FIGURES,  # a watched model's layers, directions and outputs
}
