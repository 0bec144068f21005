"""The corpus of bad run settings (each field's bad value and the words of the message it must get) and of the
models and probe batches `rnnviz.watch` refuses.

tests/test_bad_input.py feeds every entry to the command line and, where the field is in the form, to the
dashboard's Train page; scripts/bad_inputs.py prints the table in docs/bad-inputs.md from the same list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# (field, value as typed, extra flags needed for the case, words the message must contain)
OUT_OF_RANGE = [
    ("cell", "transformer", [], "unknown value 'transformer'; choose one of rnn, lstm, gru"),
    ("nonlinearity", "sigmoid", [], "unknown value 'sigmoid'"),
    ("hidden_size", "0", [], "must be > 0, got 0"),
    ("init", "xavier", [], "unknown value 'xavier'"),
    ("init", "identity", ["--cell", "lstm"], "identity init (IRNN) applies to the vanilla RNN only"),
    ("forget_bias", "nan", [], "must be a finite number, got nan"),
    ("sigma_w", "20", [], "must be at most 10 (beyond 10 every tanh unit saturates at the first step), got 20"),
    ("optimizer", "rmsprop", [], "unknown value 'rmsprop'"),
    ("lr", "-1", [], "must be > 0, got -1.0"),
    ("lr", "inf", [], "must be at most 10 (a larger step makes any run diverge or collapse), got inf"),
    ("lr", "1e9", [], "must be at most 10 (a larger step makes any run diverge or collapse), got 1e+09"),
    ("batch_size", "0", [], "must be > 0, got 0"),
    ("steps", "-5", [], "must be > 0, got -5"),
    ("epochs", "-1", [], "must be >= 0 (0 trains for steps), got -1"),
    ("clip", "-1", [], "must be >= 0 (0 turns clipping off), got -1.0"),
    ("seed", "-1", [], "must be between 0 and 2**63 - 1, got -1"),
    ("task", "copy", [], "unknown value 'copy'; choose one of mnist, delayed, adding"),
    ("delay", "-1", ["--task", "delayed"], "must be >= 0 (0 reads the class at the digit's last step), got -1"),
    ("delay", "5", [], "applies to the delayed task only (--task delayed), not to task mnist"),
    ("length", "1", ["--task", "adding"], "must be between 2 and 2000, got 1"),
    (
        "view",
        "pixels",
        ["--task", "adding"],
        "the adding problem reads (value, marker) pairs, not digits, so it has no view",
    ),
    ("dataset", "cifar", [], "unknown value 'cifar'"),
    ("data_dir", "/nonexistent/mnist", [], "/nonexistent/mnist: no such directory"),
    ("view", "columns", [], "unknown value 'columns'"),
    ("chunk", "5", ["--view", "chunks"], "must divide 784 (e.g. 7, 14, 28, 112), got 5"),
    ("probe_every", "0", [], "must be > 0, got 0"),
    ("probe_batch", "0", [], "must be > 0, got 0"),
    ("eval_every", "0", [], "must be > 0, got 0"),
    ("checkpoint_every", "0", [], "must be > 0, got 0"),
    ("saturation", "1.5", [], "must be between 0 and 1, got 1.5"),
    ("hist_bins", "1", [], "must be between 2 and 1000, got 1"),
    ("jacobian_examples", "-1", [], "must be >= 0 (0 turns the Jacobians off), got -1"),
    ("device", "tpu", [], "unknown value 'tpu'"),
    ("threads", "-1", [], "must be >= 0 (0 shares the cores among the runs training), got -1"),
]

# Numbers typed as text: argparse refuses them before anything runs.
WRONG_TYPE = [
    ("hidden_size", "12.5", "invalid int value: '12.5'"),
    ("forget_bias", "one", "invalid float value: 'one'"),
    ("lr", "abc", "invalid float value: 'abc'"),
    ("batch_size", "lots", "invalid int value: 'lots'"),
    ("steps", "1e3", "invalid int value: '1e3'"),
    ("clip", "off", "invalid float value: 'off'"),
    ("seed", "x", "invalid int value: 'x'"),
    ("delay", "two", "invalid int value: 'two'"),
    ("length", "1e2", "invalid int value: '1e2'"),
    ("chunk", "7px", "invalid int value: '7px'"),
    ("probe_every", "ten", "invalid int value: 'ten'"),
    ("probe_batch", "[1]", "invalid int value: '[1]'"),
    ("eval_every", "", "invalid int value: ''"),
    ("checkpoint_every", "0x10", "invalid int value: '0x10'"),
    ("saturation", "high", "invalid float value: 'high'"),
    ("hist_bins", "200.0", "invalid int value: '200.0'"),
    ("jacobian_examples", "one", "invalid int value: 'one'"),
    ("threads", "all", "invalid int value: 'all'"),
]

# Fields the Train page shows as free input (selectboxes cannot hold a bad value), with the bad value to
# type there; lr and clip are text fields, so a word is tried too.
FORM = [
    ("hidden_size", 0, "must be > 0, got 0"),
    ("sigma_w", 20, "must be at most 10 (beyond 10 every tanh unit saturates at the first step), got 20"),
    ("lr", "-1", "must be > 0, got -1.0"),
    ("lr", "fast", "must be a number, got 'fast'"),
    ("lr", "1e9", "must be at most 10 (a larger step makes any run diverge or collapse), got 1e+09"),
    ("batch_size", 0, "must be > 0, got 0"),
    ("steps", -5, "must be > 0, got -5"),
    ("epochs", -1, "must be >= 0 (0 trains for steps), got -1"),
    ("clip", "-1", "must be >= 0 (0 turns clipping off), got -1.0"),
    ("clip", "off", "must be a number, got 'off'"),
    ("seed", -1, "must be between 0 and 2**63 - 1, got -1"),
    ("data_dir", "/nonexistent/mnist", "/nonexistent/mnist: no such directory"),
    ("threads", -1, "must be >= 0 (0 shares the cores among the runs training), got -1"),
    ("probe_every", 0, "must be > 0, got 0"),
    ("probe_batch", 0, "must be > 0, got 0"),
    ("checkpoint_every", 0, "must be > 0, got 0"),
    ("hist_bins", 1, "must be between 2 and 1000, got 1"),
    ("jacobian_examples", -1, "must be >= 0 (0 turns the Jacobians off), got -1"),
    ("eval_every", 0, "must be > 0, got 0"),
    ("saturation", 1.5, "must be between 0 and 1, got 1.5"),
]

# Sets of runs (`rnnviz sweep`): grids refused before Ray starts, with the words of the message.
GRIDS = [
    (["--grid", "lr=0.001,20"], "--lr: must be at most 10 (a larger step makes any run diverge or collapse), got 20"),
    (["--grid", "chunk=7,5"], "--chunk: must divide 784 (e.g. 7, 14, 28, 112), got 5 (in the grid point chunk=5)"),
    (["--grid", "seed=1,2"], "--grid: seed cannot be swept: give the number of seeds with --seeds"),
    (["--grid", "lr=fast"], "--lr: grid value 'fast' is not a float"),
    (["--grid", "colour=red"], "--grid: 'colour' is not a setting"),
    (["--grid", "lr"], "--grid: 'lr': write a field and its values, e.g. lr=0.001,0.003,0.01"),
    (["--grid", "lr=0.1,0.1"], "--lr: grid values repeat: 0.1,0.1"),
    (["--grid", "lr=0.1", "--grid", "lr=0.2"], "--grid: lr is given twice"),
    (["--seeds", "0"], "--seeds: must be at least 1, got 0"),
    (["--cpus-per-run", "0"], "--cpus-per-run: must be above 0, got 0"),
    (["--ray-address", "127.0.0.1:1"], "nothing answers at the Ray cluster address 127.0.0.1:1"),
]

# The memory horizon (`rnnviz horizon`): refused before Ray starts, with the words of the message.
HORIZONS = [
    (["--cells", "rnn,transformer"], "--cells: unknown 'transformer'; choose from rnn, lstm, gru"),
    (["--lengths", "10,x"], "--lengths: give whole numbers separated by commas, got '10,x'"),
    (["--lengths", "10,10"], "--lengths: give distinct lengths, got 10, 10"),
    (["--lengths", "1,10"], "--seq-len: must be between 2 and 2000, got 1"),
    (["--task", "delayed", "--lengths", "-1"], "--delay: must be >= 0"),
    (["--k", "4"], "--k: must be between 1 and the seeds (3), got 4"),
    (["--seeds", "0"], "--seeds: must be at least 1, got 0"),
]


# `rnnviz.watch`: what it cannot follow and probe batches, losses and step functions it cannot use, each
# refused before a run is recorded. (what, the arguments to watch as a function of nothing, words of the message)
# The arguments are built on demand so that importing this corpus does not import torch.


def watch_cases() -> list[tuple[str, Callable[[], dict[str, Any]], str]]:
    import torch
    import torch.nn.functional as F
    from torch import nn

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm, self.fc = nn.LSTM(28, 8, batch_first=True), nn.Linear(8, 10)

    def args(rnn=None, head=None, x=None, y=None, **options) -> dict[str, Any]:
        rnn = nn.LSTM(28, 8, batch_first=True) if rnn is None else rnn
        x = torch.zeros(4, 5, 28) if x is None else x
        y = torch.zeros(4, dtype=torch.long) if y is None else y
        return dict(rnn=rnn, head=nn.Linear(8, 10) if head is None else head, probe_batch=(x, y), **options)

    cell = nn.Linear(28 + 8, 8)

    def good_step(xt, h):
        h = torch.tanh(cell(torch.cat([xt, h], 1)))
        return h, h

    return [
        ("the whole model, not its recurrent layer", lambda: args(Model()), "holds an nn.LSTM at .lstm: pass that"),
        (
            "a module that is not an RNN",
            lambda: args(nn.Linear(28, 8)),
            "nn.RNN, nn.LSTM and nn.GRU modules; got Linear",
        ),
        ("an LSTM with a projection", lambda: args(nn.LSTM(28, 8, proj_size=4)), "pass its one-step function as step="),
        ("a probe batch without a time axis", lambda: args(x=torch.zeros(4, 28)), "must be (batch, time, features)"),
        ("a probe batch of the wrong width", lambda: args(x=torch.zeros(4, 5, 14)), "must be (batch, time, 28)"),
        ("4 sequences, 3 labels", lambda: args(y=torch.zeros(3, dtype=torch.long)), "4 sequences but 3 labels"),
        ("outputs='every'", lambda: args(outputs="every"), "outputs must be 'last' (the head reads the last step)"),
        (
            "a loss that returns one value per sequence",
            lambda: args(loss=lambda out, y: F.cross_entropy(out, y, reduction="none")),
            "the loss must return one number, a tensor of shape (); got (4,): reduce it",
        ),
        (
            "outputs='all' with one label per sequence",
            lambda: args(outputs="all"),
            "with outputs='all' the default loss wants targets (batch, time)",
        ),
        (
            "a step function of one argument",
            lambda: args(cell, step=lambda xt: xt, state0=torch.zeros(4, 8)),
            "step must take two arguments, (x_t, state), and return (h_t, state)",
        ),
        (
            "a step function that returns h_t alone",
            lambda: args(cell, step=lambda xt, h: good_step(xt, h)[0], state0=torch.zeros(4, 8)),
            "step must return (h_t, state)",
        ),
        ("a custom cell without its first state", lambda: args(cell, step=good_step), "pass state0="),
        (
            "a first state for another batch size",
            lambda: args(cell, step=good_step, state0=torch.zeros(2, 8)),
            "state0 must hold one row per sequence of the probe batch (4)",
        ),
    ]


# Through the page of a shared dashboard (tests/test_share_e2e.py checks them in real Chromium, as viewer).
# Run names made of markup: shown as the text they are on every page, in the charts' tooltips and the report.
HOSTILE_NAMES = ["<img src=x onerror=alert(1)>", '</script><script>alert(2)</script><svg onload="alert(3)">']
# Links whose runs, step or replay are not what they should be (with markup, wrong types, huge or negative
# numbers, unknown parameters): the whole link is ignored with a note naming each, never a traceback.
BAD_LINKS = [
    ("runs=<script>alert(4)</script>&step=1e999&replay=-1", ["is not a whole number", "is outside 1 to 3,600"]),
    ("runs=1,2&step=-5&foo=<img src=x onerror=alert(5)>", ["`step=-5` is outside 0 to 1,000,000,000,000"]),
    (
        "runs=99999999999999999999999&replay=nan&present=<b>",
        ["`runs=99999999999999999999999` is outside", "`replay=nan` is outside"],
    ),
    ("step=2&replay=1e-300&runs=1", ["`replay=1e-300` is outside 1 to 3,600"]),
]
# Guessed live-chart tokens (/rnnviz-feed/<token>): no figure, whatever the guess.
FEED_GUESSES = ["x" * 22, "../../_stcore/health", "%3Cscript%3E"]
