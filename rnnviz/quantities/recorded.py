"""The table of recorded quantities: one entry each (docs/adding-a-quantity.md says how to add one)."""

from __future__ import annotations

from ..cells import PATH_GATE, TANH_GATES
from . import EVALUATION, HISTOGRAM, PER_STEP, PER_UNIT, SCALAR, STEP, WATCHED_ONLY, Quantity

GATED = tuple(PATH_GATE)  # lstm, gru
BUILT_IN = ("rnn", "lstm", "gru")


def _ratio(arrays: dict, name: str) -> float:
    g = arrays[name]
    return float(g[0] / max(g[-1], 1e-30))


def _first(arrays: dict, name: str) -> float | None:
    return float(arrays[name][0]) if name in arrays else None


QUANTITIES = [
    # ---- the probe's unrolled pass: per time step ----
    Quantity("grad_h", PER_STEP, "||dL/dh_t|| per time step", "||dL/dh_t||", log=True,
             compute=lambda p: p.grad_h[1:], note="mean over the probe batch of ||dL/dh_t||, by autograd"),
    Quantity("sat_t", PER_STEP, "Saturated share per time step (|h| > {threshold:g})", "fraction",
             compute=lambda p: (p.absh > p.threshold).float().mean((0, 2)), note="share of |h_t| over the threshold"),
    Quantity("mean_abs_h_t", PER_STEP, "Mean |h_t| per time step", "mean |h|",
             compute=lambda p: p.absh.mean((0, 2)), note="mean over the batch and units of |h_t|"),
    Quantity("gate_mean_t/{gate}", PER_STEP, "Mean gate value per time step", "mean activation", cells=GATED,
             compute=lambda p: {g: v.mean((0, 2)) for g, v in p.gates.items()}, note="each gate's mean at step t"),
    Quantity("tanh_slope", PER_STEP, "Mean tanh slope φ'(a_t)", "mean φ'",
             compute=lambda p: p.chain.get("tanh_slope"), note="1 - tanh² of the tanh that makes h_t"),
    Quantity("tanh_slope_g", PER_STEP, "Mean slope of the candidate tanh(g)", "mean φ'", cells=("lstm",),
             compute=lambda p: p.chain.get("tanh_slope_g"), note="1 - g², the LSTM's candidate"),
    Quantity("step_gain", PER_STEP, "||dL/dh_{t-1}|| / ||dL/dh_t||", "ratio", log=True,
             compute=lambda p: p.chain.get("step_gain"), note="how one step back scales the gradient"),
    Quantity("step_bound", PER_STEP, "Pascanu bound of each step", "σ_max(W_hh) × max φ'", log=True,
             cells=("rnn",), compute=lambda p: p.chain.get("step_bound"), note="||W_hh||₂ × the steepest slope"),
    Quantity("forget_path", PER_STEP, "Cell-state path ∏ f_k (GRU ∏ z_k) from t to T", "mean ∏ f", log=True,
             cells=GATED, compute=lambda p: p.chain.get("forget_path"), note="mean product of the path gate"),
    Quantity("jacobian_norm", PER_STEP, "Jacobian norm ||dh_T/dh_t||₂", "||dh_T/dh_t||", log=True,
             compute=lambda p: p.chain.get("jacobian_norm"), note="with jacobian_examples > 0: spectral norms"),
    # ---- the probe's unrolled pass: per unit and histograms ----
    Quantity("unit_sat_h", PER_UNIT, "Saturation of each hidden unit (|h| > {threshold:g})", "fraction of time",
             compute=lambda p: p.per_unit(p.hs, -p.threshold, p.threshold), note="share of (example, t) at ±1"),
    Quantity("unit_sat/{gate}", PER_UNIT, "Gate saturation per unit", "fraction of time", cells=GATED,
             gates=lambda g: g not in TANH_GATES, note="share of (example, t) with the gate < 0.1 and > 0.9",
             compute=lambda p: {g: p.gate_saturation(v) for g, v in p.gates.items() if g not in TANH_GATES}),
    Quantity("hist/h_all", HISTOGRAM, "Hidden activations h (all time steps)", "count",
             compute=lambda p: p.hist(p.hs, "h_all"), note="every h_t of the batch"),
    Quantity("hist/h_last", HISTOGRAM, "Hidden activations h (last time step)", "count",
             compute=lambda p: p.hist(p.hs[:, -1], "h_last"), note="h_T of the batch"),
    Quantity("hist/preact", HISTOGRAM, "Pre-activations of the cell's tanh", "count", cells=BUILT_IN,
             compute=lambda p: p.hist(p.trace.preact, "preact"), note="outer bins collect |a| > 10"),
    Quantity("hist/c", HISTOGRAM, "Cell state c", "count", cells=("lstm",),
             compute=lambda p: p.hist(p.trace.cs, "c"), note="the LSTM's c_t"),
    Quantity("hist/gate_{gate}", HISTOGRAM, "Gate activations", "count", cells=GATED,
             compute=lambda p: {g: p.hist(v, f"gate_{g}") for g, v in p.gates.items()}, note="each gate's values"),
    # ---- the probe's scalars ----
    Quantity("probe_loss", SCALAR, "Loss on the probe batch", "loss", log=True, compute=lambda p: p.loss),
    Quantity("sigma_max_whh", SCALAR, "Largest singular value of the recurrent weights W_hh", "σ_max",
             cells=BUILT_IN, compute=lambda p: p.sigma, note="proved within 1e-4 (jacobians.spectral_norms)"),
    Quantity("tanh_slope_mean", SCALAR, "Mean tanh slope φ'(a_t) on the probe batch", "mean φ'",
             derive=lambda a: float(a["tanh_slope"].mean())),
    Quantity("jacobian_norm_t1", SCALAR, "Jacobian norm ||dh_T/dh_1||₂", "||dh_T/dh_1||", log=True,
             derive=lambda a: _first(a, "jacobian_norm")),
    Quantity("forget_path_t1", SCALAR, "Cell-state path from t = 1 (mean ∏ f, GRU ∏ z)", "mean ∏ f", log=True,
             cells=GATED, derive=lambda a: _first(a, "forget_path")),
    Quantity("grad_h_ratio", SCALAR, "Gradient ratio ||dL/dh_1|| / ||dL/dh_T||", "ratio", log=True,
             derive=lambda a: _ratio(a, "grad_h")),
    # ---- a watched model's probe (rnnviz/layered.py) ----
    Quantity("grad_h_local", PER_STEP, "Gradient from the output at t itself", "||dL/dh_t||", log=True,
             source=WATCHED_ONLY, note="with an output at every step"),
    Quantity("grad_h_later", PER_STEP, "Gradient travelled back from later steps", "||dL/dh_t||", log=True,
             source=WATCHED_ONLY, note="with an output at every step: the total minus the local part"),
    Quantity("grad_h_last", PER_STEP, "Gradient from the loss at the last step alone", "||dL_T/dh_t||", log=True,
             source=WATCHED_ONLY, note="with an output at every step"),
    Quantity("grad_h_last_ratio", SCALAR, "Ratio ||dL_T/dh_1|| / ||dL_T/dh_T||", "ratio", source=WATCHED_ONLY),
    Quantity("tanh_slope_{name}", PER_STEP, "Slope of a tanh a custom cell names", "mean φ'", cells=("custom",),
             source=WATCHED_ONLY, note="rnnviz.tanh(a, 'name') in the cell's step"),
    Quantity("sat_t_{name}", PER_STEP, "Saturated share of a tanh a custom cell names", "fraction",
             cells=("custom",), source=WATCHED_ONLY, note="rnnviz.tanh(a, 'name') in the cell's step"),
    # ---- every training step (trainer.py, stepstats.py; rnnviz.watch's step()) ----
    Quantity("loss", SCALAR, "Training loss", "loss", log=True, source=STEP),
    Quantity("accuracy", SCALAR, "Training accuracy (on each batch)", "accuracy", source=STEP),
    Quantity("saturated", SCALAR, "Saturated units (fraction of |h| > {threshold:g})", "fraction", source=STEP),
    Quantity("saturated_last", SCALAR, "Saturated units at t = T (fraction of |h| > {threshold:g})", "fraction",
             source=STEP),
    Quantity("grad_norm/global", SCALAR, "Global gradient norm (before clipping)", "||g||", log=True, source=STEP),
    Quantity("grad_norm/{param}", SCALAR, "Gradient norm of each parameter", "||dL/dθ||", log=True, source=STEP),
    Quantity("clipped", SCALAR, "Clipped steps (1: clipped)", "clipped", source=STEP),
    # ---- evaluations, now and then ----
    Quantity("validation_accuracy", SCALAR, "Validation accuracy", "accuracy", source=EVALUATION),
    Quantity("validation_loss", SCALAR, "Validation loss", "loss", source=EVALUATION),
    Quantity("test_accuracy", SCALAR, "Test accuracy", "accuracy", source=EVALUATION),
    Quantity("test_loss", SCALAR, "Test loss", "loss", source=EVALUATION),
    Quantity("test_accuracy_128", SCALAR, "Test accuracy, first 128 test digits", "accuracy", source=EVALUATION),
    Quantity("test_accuracy_256", SCALAR, "Test accuracy, first 256 test digits", "accuracy", source=EVALUATION),
    Quantity("epoch/loss", SCALAR, "Mean cost of each epoch", "loss", source=EVALUATION),
    Quantity("epoch/accuracy", SCALAR, "Training accuracy, mean over each epoch", "accuracy", source=EVALUATION),
    Quantity("epoch/validation_accuracy", SCALAR, "Validation accuracy after each epoch", "accuracy",
             source=EVALUATION),
]  # fmt: skip
