"""Numbers, settings and symbols in the words a room reads: one format per kind of number (a share is a
percentage with one decimal, a gradient ratio or norm is plain down to 0.01 and a power of ten below it, a step
has thousands separators), each setting's name in words, and a plain sentence for each symbol the readings and
captions use. Every page, the report and the command line format through here, so that one number reads the
same everywhere."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .config import WATCHED, RunConfig

MISSING = "–"  # a value not recorded (yet), or a setting the run does not read (tables, figures.MISSING)
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _absent(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def percent(x: float | None) -> str:
    """A share as a percentage with one decimal: 0.957 -> '95.7%'."""
    return MISSING if _absent(x) else f"{100 * float(x):.1f}%"  # type: ignore[arg-type]


def about(seconds: float) -> str:
    """A time estimate as a room reads it: 'about 20 seconds', 'about 3.5 minutes', 'about 12 minutes'."""
    if seconds < 100:
        return f"about {10 * round(seconds / 10):.0f} seconds"
    if seconds < 600:
        return f"about {round(seconds / 30) / 2:g} minutes"
    return f"about {round(seconds / 60)} minutes"


def power(x: float) -> str:
    """A positive number as a power of ten a room reads: 2.04e-4 -> '2.0 × 10⁻⁴'."""
    mantissa, exponent = f"{x:.1e}".split("e")
    return f"{mantissa} × 10{str(int(exponent)).translate(_SUPERSCRIPT)}"


def ratio(x: float | None) -> str:
    """A gradient ratio or norm: '0.41', '12', '2.0 × 10⁻⁴', '0 (underflowed)' (below float32's smallest number)."""
    if _absent(x):
        return MISSING
    x = float(x)  # type: ignore[arg-type]
    if x == 0:
        return "0 (underflowed)"
    return f"{x:.2g}" if 0.01 <= abs(x) < 100 else power(x)


def step(n: int) -> str:
    return f"{int(n):,}"


def progress(step_now: int, total: int | None) -> str:
    """'step 1,200 of 5,000', or 'step 1,200' where the run's length is not known (a watched loop)."""
    return f"step {step(step_now)}" + (f" of {step(total)}" if total else "")


def total_steps(row: Any, cfg: RunConfig) -> int | None:
    """A run's length in steps, None where it is not known: a loop watched without `total_steps` (recorded as 1
    step), or one that ran past the length it was given."""
    total = int(row["total_steps"])
    if cfg.dataset == WATCHED and (total <= 1 or int(row["step"]) > total):
        return None
    return total


# Settings whose names do not read as words; the others are their name in words ("hidden size").
SETTINGS = {
    "lr": "learning rate",
    "sigma_w": "recurrent weight scale σ_w",
    "data_dir": "data directory",
    "forget_bias": "forget-gate bias",
    "hidden_size": "hidden units",
    "head_init": "output layer init",
    "probe_every": "probe every (steps)",
    "eval_every": "evaluate every (steps)",
    "checkpoint_every": "checkpoint every (steps)",
    "probe_batch": "probe digits",
    "hist_bins": "histogram bins",
    "jacobian_examples": "Jacobian examples",
    "chunk": "pixels per time step",
    "saturation": "saturation threshold |h| >",
    "test_during_training": "test during training",
    "clip": "gradient clipping at",
    "view": "sequence view",
    "permute": "permuted pixels",
}
# Settings that only one kind of run reads; elsewhere they are shown as a dash, not as a value it ignored.
APPLIES = {
    "forget_bias": lambda cfg: cfg.cell == "lstm",
    "nonlinearity": lambda cfg: cfg.cell == "rnn",
    "chunk": lambda cfg: cfg.view == "chunks",
    "steps": lambda cfg: not cfg.epochs,
}


def setting(name: str) -> str:
    """A setting's name in words: 'lr' -> 'learning rate'."""
    return SETTINGS.get(name, name.replace("_", " "))


def setting_value(cfg: RunConfig, name: str) -> str:
    """A setting's value as a table shows it: a dash where the run does not read it (forget-gate bias of an RNN)."""
    if name in APPLIES and not APPLIES[name](cfg):
        return MISSING
    value = getattr(cfg, name)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if name == "clip" and not value:
        return "off"
    return number(value) if isinstance(value, float) else str(value) if value != "" else MISSING


def number(x: float) -> str:
    """A setting's number as written in a form, never in Python's scientific format: 1e-05 -> '0.00001'."""
    text = f"{x:g}"
    return np.format_float_positional(x, trim="-") if "e" in text else text


# The symbols of the readings and captions, each with the plain sentence shown beside it or in its tooltip.
SYMBOLS = {
    "||dL/dh_t||": "how strongly the loss depends on the hidden state at step t: the gradient that reaches it",
    "||dL/dh_1|| / ||dL/dh_T||": "the share of the last step's gradient that reaches the first step",
    "||dh_T/dh_1||": "how much a change to the hidden state at t = 1 can still change it at t = T",
    "||d(h_T, c_T)/d(h_1, c_1)||": "how much a change to the LSTM's hidden and cell state at t = 1 can still "
    "change them at t = T",
    "σ_max(W_hh)": "the most one step's recurrent weights can stretch the gradient",
    "φ'": "the slope of tanh, 1 - h²: near 0 where a unit is saturated",
    "Pascanu bound": "the largest the chain of Jacobians can be: σ_max(W_hh) times the steepest tanh slope, once "
    "per step (Pascanu et al. 2013)",
    "∏ f": "the forget gates multiplied over time: the share of the cell state kept from t = 1 to t = T",
}


def gloss(symbol: str) -> str:
    """A symbol with its plain sentence in brackets, for a reading: '||dh_T/dh_1|| (how much ...)'."""
    return f"{symbol} ({SYMBOLS[symbol]})"


def glossary(*symbols: str) -> str:
    """A tooltip saying what each symbol means."""
    return "  \n".join(f"{s}: {SYMBOLS[s]}." for s in symbols)
