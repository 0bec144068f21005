"""RunConfig, the one description of a training run, its validation, and the named presets."""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

CELLS = ("rnn", "lstm", "gru")
# each cell's gates, in torch's order of the weight blocks
GATES: dict[str, tuple[str, ...]] = {"rnn": (), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}
# the gates that are a tanh, ranging over -1..1 (the LSTM's and the GRU's candidate); the others are sigmoids
TANH_GATES = ("g", "n")
NONLINEARITIES = ("tanh", "relu")
INITS = ("default", "glorot", "orthogonal", "identity")
HEAD_INITS = ("same", "normal")
OPTIMIZERS = ("adam", "sgd")
VIEWS = ("rows", "chunks", "pixels")
# what a run learns (rnnviz/tasks.py): MNIST's digits in a view; the digit, then blank steps; the adding problem
TASKS = ("mnist", "delayed", "adding")
DEVICES = ("auto", "cpu", "cuda")
DATASETS = ("mnist", "fashion-mnist")
WATCHED = "external"  # the dataset of runs recorded by rnnviz.watch (a user's own loop and data)
MAX_LR = 10.0
TEST_HEADS = (128, 256)  # the first test digits the TensorFlow tutorials report their accuracy on, besides the split


class ConfigError(ValueError):
    """A config value a user gave is out of range; `field` names it for forms and flags. An error raised for
    several values (`ConfigError.of`) carries every one in `problems`, and the first one's field and message."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message
        self.problems = [self]

    @classmethod
    def of(cls, problems: list[ConfigError]) -> ConfigError:
        """One error to raise for every problem found, so a form or a command line can name them all."""
        if len(problems) == 1:
            return problems[0]
        error = cls(problems[0].field, problems[0].message)
        error.problems = list(problems)
        error.args = ("; ".join(str(p) for p in problems),)
        return error


@dataclass(frozen=True)
class Rule:
    """The values a config field may take: validation, the command line's flags and the Train form all read
    it from the field's description (`_f`). Bounds are numbers; `why` says what the bound is for (shown
    with a one-sided bound, or with the upper one of two)."""

    choices: tuple[str, ...] = ()
    low: float | None = None
    low_open: bool = False  # > low, not >= low
    high: float | None = None
    high_open: bool = False
    high_text: str = ""  # how the upper bound reads, for one too long to print
    why: str = ""
    finite: bool = False

    def problem(self, v: Any) -> str | None:
        """What is wrong with a value of the right type, or None."""
        if self.choices and v not in self.choices:
            return f"unknown value {v!r}; choose one of {', '.join(self.choices)}"
        if self.finite and not math.isfinite(v):
            return f"must be a finite number, got {v}"
        # written as "not ok" so that NaN is out of every range
        low_bad = self.low is not None and not (v > self.low if self.low_open else v >= self.low)
        high_bad = self.high is not None and not (v < self.high if self.high_open else v <= self.high)
        if self.low is not None and self.high is not None and not self.why and (low_bad or high_bad):
            return f"must be between {self.low:g} and {self.high_text or f'{self.high:g}'}, got {v}"
        if low_bad:
            why = f" ({self.why})" if self.why and self.high is None else ""
            return f"must be {'>' if self.low_open else '>='} {self.low:g}{why}, got {v}"
        if high_bad:
            return f"must be at most {self.high:g} ({self.why}), got {v:g}"
        return None


POSITIVE = Rule(low=0, low_open=True)


def _f(default: Any, help: str, rule: Rule = Rule()) -> Any:
    """A dataclass field described once: its help and its rule feed validation, the CLI flags and the form."""
    return field(default=default, metadata={"help": help, "rule": rule})


def rule_of(name: str) -> Rule:
    """The rule of a RunConfig field."""
    return FIELDS[name].metadata["rule"]


@dataclass
class RunConfig:
    """Everything that determines a run; the same config and seed give the same numbers."""

    name: str = _f("", "display name of the run; empty: derived from the preset or cell")
    # model
    cell: str = _f("lstm", "recurrent cell: rnn (vanilla), lstm or gru", Rule(choices=CELLS))
    nonlinearity: str = _f("tanh", "vanilla RNN only: tanh or relu", Rule(choices=NONLINEARITIES))
    hidden_size: int = _f(128, "number of hidden units", POSITIVE)
    init: str = _f(
        "default",
        "weight init: default (PyTorch's), glorot (uniform weights, zero biases, as the "
        "TensorFlow blog code), orthogonal (recurrent weights), identity (recurrent weights, IRNN)",
        Rule(choices=INITS),
    )
    head_init: str = _f(
        "same",
        "output layer init: same (as init sets it) or normal (weights and biases from a standard normal N(0, 1), "
        "as the TensorFlow tutorial's tf.random_normal, torch.randn in PyTorch)",
        Rule(choices=HEAD_INITS),
    )
    forget_bias: float = _f(0.0, "LSTM only: added to the forget-gate bias (the blog used 1.0)", Rule(finite=True))
    sigma_w: float = _f(
        0.0,
        "recurrent weight scale: W_hh drawn from N(0, sigma_w^2 / hidden size) after the init; 0 keeps the "
        "init's W_hh (sigma_w 1 is the edge of chaos for a tanh RNN)",
        Rule(low=0, high=10, why="beyond 10 every tanh unit saturates at the first step"),
    )
    # optimisation
    optimizer: str = _f("adam", "adam or sgd (plain gradient descent)", Rule(choices=OPTIMIZERS))
    # Adam's and SGD's steps on these models: 0.01 is the blog's Adam rate, and plain SGD at 10 already blows
    # up in a few steps; anything larger is a typo, not an experiment.
    lr: float = _f(
        0.01,
        "learning rate",
        Rule(low=0, low_open=True, high=MAX_LR, why="a larger step makes any run diverge or collapse"),
    )
    batch_size: int = _f(100, "examples per training step", POSITIVE)
    steps: int = _f(5000, "training steps (batches); ignored when epochs is above 0", POSITIVE)
    epochs: int = _f(
        0,
        "train for this many passes over the training split (its images // batch size steps each), recording "
        "the mean cost, training and validation accuracy of every epoch; 0 trains for steps",
        Rule(low=0, why="0 trains for steps"),
    )
    clip: float = _f(
        0.0,
        "clip the global gradient norm to this value; 0 turns clipping off",
        Rule(low=0, why="0 turns clipping off"),
    )
    seed: int = _f(
        0,
        "seeds the weights and the data order; same seed, same batches",
        Rule(low=0, high=2**63 - 1, high_text="2**63 - 1"),
    )
    # task (rnnviz/tasks.py)
    task: str = _f(
        "mnist",
        "what the run learns: mnist (classify the digit read in its view), delayed (the digit, then `delay` blank "
        "steps, then its class), adding (the adding problem: the sum of the two marked values of `length` steps, "
        "regression scored by mean squared error)",
        Rule(choices=TASKS),
    )
    delay: int = _f(
        0,
        "delayed task only: blank time steps between the digit's last step and the step its class is read at",
        Rule(low=0, why="0 reads the class at the digit's last step"),
    )
    length: int = _f(
        100,
        "adding task only (flag --seq-len): time steps T of each sequence",
        # 2: one marked step in each half; 2,000: 12,000 generated sequences take 190 MB (the literature's
        # longest is 1,000)
        Rule(low=2, high=2000),
    )
    # data
    dataset: str = _f("mnist", "mnist or fashion-mnist", Rule(choices=DATASETS))
    data_dir: str = _f("", "directory holding the four IDX files; empty: look up or download")
    view: str = _f(
        "rows", "how an image becomes a sequence: rows (28x28), chunks of k pixels, pixels", Rule(choices=VIEWS)
    )
    chunk: int = _f(7, "pixels per time step when view is chunks (7 gives 112 steps)", POSITIVE)
    permute: bool = _f(False, "apply a fixed random permutation (from the seed) to the pixels")
    # diagnostics
    probe_every: int = _f(
        100, "run the unrolled probe pass (per-time-step gradients, histograms) every N steps", POSITIVE
    )
    probe_batch: int = _f(100, "test digits in the fixed probe batch", POSITIVE)
    eval_every: int = _f(500, "evaluate on the whole validation split every N steps (and at the end)", POSITIVE)
    test_during_training: bool = _f(
        False,
        "evaluate the test split at every evaluation too; off: only once, at the end, so that nothing read "
        "during training has seen it",
    )
    checkpoint_every: int = _f(
        500, "save model and optimiser state every N steps and at the end (for resuming)", POSITIVE
    )
    saturation: float = _f(
        0.99, "a unit counts as saturated when |h| exceeds this", Rule(low=0, low_open=True, high=1, high_open=True)
    )
    hist_bins: int = _f(
        200,
        "bins of every histogram (200 puts an edge at |h| = 0.99); edges stay fixed for the run",
        Rule(low=2, high=1000),
    )
    # 1 by default: the chain is multiplied from each step's factors and its norms proved to 1e-4 without an SVD
    # (rnnviz/jacobians.py), so the whole Why section is recorded at the plain loop's speed (bench/README.md)
    jacobian_examples: int = _f(
        1,
        "probe digits whose exact Jacobians dh_T/dh_t (t = 1..T) the probe computes for their spectral norm "
        "(1 is enough to see them; each adds ~20 ms to an LSTM's probe, ~5 ms to an RNN's); 0 turns them off",
        Rule(low=0, why="0 turns the Jacobians off"),
    )
    # execution
    device: str = _f("auto", "auto (CUDA when present), cpu or cuda", Rule(choices=DEVICES))
    threads: int = _f(
        0,
        "torch threads; 0: the cores shared evenly by the runs training at once",
        Rule(low=0, why="0 shares the cores among the runs training"),
    )

    def validate(self) -> RunConfig:
        """Raise ConfigError naming every out-of-range field (see `problems`); return self when all are fine."""
        found = self.problems()
        if found:
            raise ConfigError.of(found)
        return self

    def problems(self) -> list[ConfigError]:
        """Every out-of-range field, in field order, each with its first fault. A whole number given for a
        float field becomes a float here."""
        found: dict[str, ConfigError] = {}

        def refuse(name: str, message: str) -> None:
            found.setdefault(name, ConfigError(name, message))

        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            kind = {"int": int, "float": float, "bool": bool, "str": str}[str(f.type)]
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
                setattr(self, f.name, value)
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                refuse(f.name, f"must be {f.type}, got {value!r}")

        def fine(*names: str) -> bool:
            """Whether these fields have the right type and no fault yet, so they can be compared."""
            return not any(name in found for name in names)

        for f in dataclasses.fields(self):
            problem = f.metadata["rule"].problem(getattr(self, f.name)) if fine(f.name) else None
            if problem:
                refuse(f.name, problem)
        if fine("view", "chunk") and self.view == "chunks" and 784 % self.chunk:
            refuse("chunk", f"must divide 784 (e.g. 7, 14, 28, 112), got {self.chunk}")
        if fine("task", "view", "permute", "dataset") and self.task == "adding":
            for name, default, what in (
                ("view", "rows", "view"),
                ("permute", False, "permutation"),
                ("dataset", "mnist", "dataset"),
            ):
                if getattr(self, name) != default:
                    refuse(
                        name,
                        f"the adding problem reads (value, marker) pairs, not digits, so it has no {what}; "
                        f"leave {name} at {value_text(default)} (set its length with --seq-len)",
                    )
        if fine("task", "delay") and self.delay and self.task != "delayed":
            refuse("delay", f"applies to the delayed task only (--task delayed), not to task {self.task}")
        if fine("init", "cell") and self.init == "identity" and self.cell != "rnn":
            refuse("init", "identity init (IRNN) applies to the vanilla RNN only")
        order = [f.name for f in dataclasses.fields(self)]
        return sorted(found.values(), key=lambda p: order.index(p.field))

    def total_steps(self, train_images: int) -> int:
        """The steps the run trains: `steps`, or `epochs` passes over a training split of `train_images`."""
        return self.epochs * (train_images // self.batch_size) if self.epochs else self.steps

    @property
    def view_len(self) -> int:
        """Time steps of a digit read in the run's view."""
        return {"rows": 28, "chunks": 784 // self.chunk, "pixels": 784}[self.view]

    @property
    def seq_len(self) -> int:
        """Time steps T of one sequence: the view's, with the delayed task's blank steps, or the adding
        problem's length."""
        if self.task == "adding":
            return self.length
        return self.view_len + (self.delay if self.task == "delayed" else 0)

    @property
    def input_size(self) -> int:
        """Inputs read at each time step: pixels, or the adding problem's value and marker."""
        return 2 if self.task == "adding" else 784 // self.view_len

    @property
    def display_name(self) -> str:
        return self.name or (f"{self.cell}-{self.nonlinearity}" if self.cell == "rnn" else self.cell)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunConfig:
        """Build from a dict, refusing unknown keys (a typo must not pass silently)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(unknown[0], "unknown setting")
        return cls(**values)

    def replace(self, **changes: Any) -> RunConfig:
        return dataclasses.replace(self, **changes)


FIELDS = {f.name: f for f in dataclasses.fields(RunConfig)}


def cores() -> int:
    """The CPU cores of this machine, at least 1."""
    return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Limits:
    """Caps on what one click in the dashboard can start, so a stray value cannot exhaust the machine.
    Set with $RNNVIZ_MAX_HIDDEN, $RNNVIZ_MAX_STEPS, $RNNVIZ_MAX_BATCH and $RNNVIZ_MAX_ACTIVE_RUNS."""

    hidden_size: int = 1024  # largest hidden layer
    steps: int = 200_000  # longest run
    batch_size: int = 2048  # largest batch
    # Runs training at once: one per core, so that each gets a core of its own (more only slow each other).
    active_runs: int = field(default_factory=cores)

    @staticmethod
    def env_name(field_name: str) -> str:
        """The environment variable that sets a cap: hidden_size -> RNNVIZ_MAX_HIDDEN."""
        return f"RNNVIZ_MAX_{field_name.upper().removesuffix('_SIZE')}"

    @classmethod
    def from_env(cls) -> Limits:
        values = {}
        for f in dataclasses.fields(cls):
            name = cls.env_name(f.name)
            if os.environ.get(name):
                try:
                    values[f.name] = int(os.environ[name])
                except ValueError:
                    raise ConfigError(f.name, f"${name} must be a whole number, got {os.environ[name]!r}") from None
        return cls(**values)

    def check(self, cfg: RunConfig) -> None:
        """Raise ConfigError naming every field of cfg above its cap."""
        found = self.problems(cfg)
        if found:
            raise ConfigError.of(found)

    def problems(self, cfg: RunConfig) -> list[ConfigError]:
        """Every field of cfg (a config of the right types) above its cap."""
        found = []
        for name in ("hidden_size", "steps", "batch_size"):
            cap, value = getattr(self, name), getattr(cfg, name)
            if value > cap:
                found.append(
                    ConfigError(name, f"at most {cap} here (got {value}); raise ${self.env_name(name)} to allow more")
                )
        return found


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
# others over 5), and how long a run took on one core of a 2-core machine training two runs at once (load 1-4):
# bench/blog_experiments.py, the README's results table. Which seeds of blog-rnn collapse depends on the CPU's
# floating-point kernels, so its line says what every seed showed and how many collapsed, never which.
PRESET_HELP = {
    "blog-rnn": "vanilla tanh RNN, Adam at learning rate 0.01: in 10 of 10 seeds saturated (91.5-95.7% of "
    "|h| > 0.99) with its gradient at t = 1 over 4 decades below t = T at the end; its accuracy collapsed below "
    "20% in 4 of 10 seeds (which ones depends on the machine), ended at 31.8-43.6% in the others; 1-1.5 min a run",
    "blog-lstm": "LSTM at the same settings: 97.0-98.4% (mean 98.0%) in 8 of 8 seeds, its gradient reaching "
    "t = 1 at 0.29-1.2 of the one at t = T; about 2 min a run",
    "tutorial-lstm": "LSTM, Adam at learning rate 0.001, batch 128, 100,000 samples, output layer from N(0, 1) "
    "(the TensorFlow tutorial): 94.8-96.0% in 5 of 5 seeds; about 20 s a run",
    "sgd-lstm": f"LSTM, plain gradient descent at learning rate 0.001, batch 128, {SGD_EPOCHS} epochs: learns "
    "slowly, 63.6-70.6% on the validation split after them in 5 of 5 seeds; 1-2 min a run",
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


def value_text(value: Any) -> str:
    """A setting's value as a run's name shows it: on/off, 0.001, 128."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"{value:g}" if isinstance(value, float) else str(value)


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
