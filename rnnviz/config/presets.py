"""The named presets (the blog experiments and their kin, with what they showed over seeds), the remedies set,
and how a run changed from a preset is named."""

from __future__ import annotations

import dataclasses
from typing import Any

from .run import RunConfig
from .settings import ConfigError, value_text

# The blog experiments: Adam at lr 0.01, batch 100, 5,000 steps, TensorFlow's Glorot init.
# They record one probe digit's Jacobians, so the Why section is whole in a talk (about 2% of an RNN's and
# 6% of an LSTM's training time at 100 steps a probe: bench/bench_probe.py); the longer views do not.
_BLOG = dict(optimizer="adam", lr=0.01, batch_size=100, steps=5000, init="glorot", jacobian_examples=1)
_LONG = dict(_BLOG, view="chunks", chunk=7, jacobian_examples=0)
# 784 steps cost about 28x a row step: fewer steps, and probes (784 retained h_t) less often.
_PIXEL = dict(_BLOG, view="pixels", lr=0.001, steps=2000, probe_every=200, eval_every=500, jacobian_examples=0)

SGD_EPOCHS = 50

PRESETS: dict[str, dict[str, Any]] = {
    "blog-rnn": dict(_BLOG, cell="rnn", name="blog-rnn"),
    "blog-lstm": dict(_BLOG, cell="lstm", forget_bias=1.0, name="blog-lstm"),
    # The TensorFlow tutorial: 100,000 training samples (781 steps of 128; its loop stops before step 782)
    # and an output layer drawn from tf.random_normal; it reports the first 128 (or 256) test digits.
    "tutorial-lstm": dict(
        cell="lstm",
        optimizer="adam",
        lr=0.001,
        batch_size=128,
        steps=781,
        init="glorot",
        head_init="normal",
        forget_bias=1.0,
        eval_every=100,
        name="tutorial-lstm",
    ),
    # The notebook's plain gradient descent, trained in epochs; it ran 1,000 of them.
    "sgd-lstm": dict(
        cell="lstm",
        optimizer="sgd",
        lr=0.001,
        batch_size=128,
        epochs=SGD_EPOCHS,
        init="glorot",
        head_init="normal",
        forget_bias=1.0,
        name="sgd-lstm",
    ),
    # The blog pair in about half a minute: Adam at lr 0.015 gets the RNN to its collapse within 1,200
    # steps (at lr 0.01 it comes after 2,000 to 3,000); bench/quick_presets.py measures both over seeds.
    "quick-rnn": dict(_BLOG, cell="rnn", lr=0.015, steps=1200, probe_every=50, eval_every=100, name="quick-rnn"),
    "quick-lstm": dict(
        _BLOG, cell="lstm", forget_bias=1.0, lr=0.015, steps=1200, probe_every=50, eval_every=100, name="quick-lstm"
    ),
    # Longer sequences: the same digits read in smaller pieces, so gradients cross 4x or 28x more steps.
    "long-rnn": dict(_LONG, cell="rnn", name="long-rnn"),
    "long-lstm": dict(_LONG, cell="lstm", forget_bias=1.0, name="long-lstm"),
    "pixel-rnn": dict(_PIXEL, cell="rnn", name="pixel-rnn"),
    "pixel-lstm": dict(_PIXEL, cell="lstm", forget_bias=1.0, name="pixel-lstm"),
    "pmnist-lstm": dict(_PIXEL, cell="lstm", forget_bias=1.0, permute=True, name="pmnist-lstm"),
}

# What each blog preset showed over seeds on the 8,000/2,000 subset (blog-rnn over 10, blog-lstm over 8, the
# others over 5): bench/blog_experiments.py, the README's results table. Which seeds of blog-rnn collapse depends
# on the CPU's floating-point kernels, so its line says what every seed showed and how many collapsed, never
# which. How long the blog experiments take is not here: the Train page shows each beside its line, measured on
# the machine that serves it (runner.duration), and docs/results.md the times measured on a 2-core machine; a
# figure here, from another machine and load, contradicted the page's own (a fresh-eyes walk).
PRESET_HELP = {
    "blog-rnn": "vanilla tanh RNN, Adam at learning rate 0.01: in 10 of 10 seeds saturated (91.5-95.7% of "
    "|h| > 0.99) with its gradient at t = 1 over 4 decades below t = T at the end; its accuracy collapsed below "
    "20% in 4 of 10 seeds (which ones depends on the machine), ended at 31.8-43.6% in the others",
    "blog-lstm": "LSTM at the same settings: 97.0-98.4% (mean 98.0%) in 8 of 8 seeds, its gradient reaching "
    "t = 1 at 0.29-1.2 of the one at t = T",
    "tutorial-lstm": "LSTM, Adam at learning rate 0.001, batch 128, 100,000 samples, output layer from N(0, 1) "
    "(the TensorFlow tutorial): 94.8-96.0% in 5 of 5 seeds",
    "sgd-lstm": f"LSTM, plain gradient descent at learning rate 0.001, batch 128, {SGD_EPOCHS} epochs: learns "
    "slowly, 63.6-70.6% on the validation split after them in 5 of 5 seeds",
    "quick-rnn": "blog-rnn at learning rate 0.015 for 1,200 steps: collapses to ~10% with the gradient at t = 1 "
    "vanished in 5 of 5 seeds; 13-15 s a run on a free core",
    "quick-lstm": "blog-lstm at learning rate 0.015 for 1,200 steps: reaches 97.0-97.5% (mean 97.3%) in 5 of 5 "
    "seeds; about 25 s a run on a free core",
    "long-rnn": "vanilla tanh RNN reading 7 pixels a step (112 steps), blog settings: fails",
    "long-lstm": "LSTM reading 7 pixels a step (112 steps), blog settings: still learns",
    "pixel-rnn": "vanilla tanh RNN reading one pixel a step (784 steps): fails; slow on a CPU",
    "pixel-lstm": "LSTM reading one pixel a step (784 steps); slow on a CPU",
    "pmnist-lstm": "LSTM, one pixel a step in a fixed random order (permuted MNIST, 784 steps); slow on a CPU",
}

# The remedies for the collapsing blog RNN, one change each; the same seed gives every run the same data
# order. Its first and last runs are the blog pair. (name, the change, what it shows)
REMEDIES: tuple[tuple[str, dict[str, Any], str], ...] = (
    ("blog-rnn", {}, "nothing: the blog's tanh RNN"),
    ("remedies-clip", {"clip": 1.0}, "gradient clipping"),
    ("remedies-lr", {"lr": 0.001}, "a learning rate ten times smaller"),
    ("remedies-orthogonal", {"init": "orthogonal"}, "orthogonal recurrent weights"),
    ("remedies-irnn", {"nonlinearity": "relu", "init": "identity"}, "IRNN: identity recurrent weights, relu"),
    ("remedies-gru", {"cell": "gru"}, "a GRU cell"),
    ("blog-lstm", {"cell": "lstm", "forget_bias": 1.0}, "the blog's LSTM (forget bias 1.0)"),
)


def remedies(clip: float = 1.0, **common: Any) -> list[RunConfig]:
    """The remedies set: blog-rnn and one run per remedy, with `common` changes (steps, seed, data) in all. A set
    shorter than the blog's is evaluated as often as the blog's 5,000 steps are, 10 times (at 500 steps apart a
    300-step set drew one validation point, at its end), unless `common` says how often."""
    base = preset("blog-rnn", **common)
    if "eval_every" not in common:
        base = base.replace(eval_every=min(base.eval_every, max(base.steps // 10, 1)))
    runs = []
    for name, changes, _ in REMEDIES:
        if "clip" in changes:
            changes = {**changes, "clip": clip}  # the clipping run's threshold is a setting
        runs.append(base.replace(name=name, **changes).validate())
    return runs


def rnn_vs_lstm(cfg: RunConfig) -> list[RunConfig]:
    """The blog pair built from one config: same seed, data order and optimiser; RNN and LSTM cells."""
    base = cfg.name.removesuffix("-rnn").removesuffix("-lstm") or "pair"
    init = "glorot" if cfg.init == "identity" else cfg.init
    return [
        cfg.replace(cell="rnn", nonlinearity="tanh", forget_bias=0.0, init=init, name=f"{base}-rnn"),
        cfg.replace(cell="lstm", forget_bias=cfg.forget_bias or 1.0, init=init, name=f"{base}-lstm"),
    ]


EXECUTION_ONLY = ("threads", "device")  # how a run was computed, not what it computed
# Left out of a run's name: where its data lives and how it was computed change none of its numbers.
UNNAMED = ("name", "data_dir", *EXECUTION_ONLY)


def named_for_changes(cfg: RunConfig, reference: RunConfig) -> RunConfig:
    """cfg named as `reference` (a preset) plus the settings in which it differs from it, so that runs changed
    from one preset can be told apart: blog-rnn (lr 0.003, steps 800)."""
    changes = [
        f"{f.name.replace('_', ' ')} {value_text(getattr(cfg, f.name))}"
        for f in dataclasses.fields(cfg)
        if f.name not in UNNAMED and getattr(cfg, f.name) != getattr(reference, f.name)
    ]
    return cfg.replace(name=f"{reference.name} ({', '.join(changes)})" if changes else reference.name)


def preset(name: str, /, **overrides: Any) -> RunConfig:
    """The named preset with some fields overridden (the run's `name` too); unknown names raise ConfigError."""
    if name not in PRESETS:
        raise ConfigError("preset", f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return RunConfig.from_dict({**PRESETS[name], **overrides})
