"""RunConfig, the one description of a training run: every setting with its help, rule and section, and the
checks across settings."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from .choices import CELLS, DATASETS, DEVICES, HEAD_INITS, INITS, MAX_LR, NONLINEARITIES, OPTIMIZERS, TASKS, VIEWS
from .settings import POSITIVE, ConfigError, Form, Rule, setting, value_text


@dataclass
class RunConfig:
    """Everything that determines a run; the same config and seed give the same numbers."""

    name: str = setting("", "display name of the run; empty: derived from the preset or cell", section="run")
    cell: str = setting("lstm", "recurrent cell: rnn (vanilla), lstm or gru", Rule(choices=CELLS), section="model")
    nonlinearity: str = setting("tanh", "vanilla RNN only: tanh or relu", Rule(choices=NONLINEARITIES), section="model")
    hidden_size: int = setting(128, "number of hidden units", POSITIVE, section="model", form=Form(step=16))
    init: str = setting(
        "default",
        "weight init: default (PyTorch's), glorot (uniform weights, zero biases, as the "
        "TensorFlow blog code), orthogonal (recurrent weights), identity (recurrent weights, IRNN)",
        Rule(choices=INITS),
        section="model",
    )
    head_init: str = setting(
        "same",
        "output layer init: same (as init sets it) or normal (weights and biases from a standard normal N(0, 1), "
        "as the TensorFlow tutorial's tf.random_normal, torch.randn in PyTorch)",
        Rule(choices=HEAD_INITS),
        section="model",
    )
    forget_bias: float = setting(
        0.0,
        "LSTM only: added to the forget-gate bias (the blog used 1.0)",
        Rule(finite=True),
        section="model",
        form=Form(step=0.5),
    )
    sigma_w: float = setting(
        0.0,
        "recurrent weight scale: W_hh drawn from N(0, sigma_w^2 / hidden size) after the init; 0 keeps the "
        "init's W_hh (sigma_w 1 is the edge of chaos for a tanh RNN)",
        Rule(low=0, high=10, why="beyond 10 every tanh unit saturates at the first step"),
        section="model",
        form=Form(step=0.25, label="Recurrent weight scale σ_w"),
    )
    optimizer: str = setting(
        "adam", "adam or sgd (plain gradient descent)", Rule(choices=OPTIMIZERS), section="optimisation"
    )
    # Adam's and SGD's steps on these models: 0.01 is the blog's Adam rate, and plain SGD at 10 already blows
    # up in a few steps; anything larger is a typo, not an experiment.
    lr: float = setting(
        0.01,
        "learning rate",
        Rule(low=0, low_open=True, high=MAX_LR, why="a larger step makes any run diverge or collapse"),
        section="optimisation",
        form=Form(label="Learning rate"),
    )
    batch_size: int = setting(100, "examples per training step", POSITIVE, section="optimisation", form=Form(step=10))
    steps: int = setting(
        5000,
        "training steps (batches); ignored when epochs is above 0",
        POSITIVE,
        section="optimisation",
        form=Form(step=100),
    )
    epochs: int = setting(
        0,
        "train for this many passes over the training split (its images // batch size steps each), recording "
        "the mean cost, training and validation accuracy of every epoch; 0 trains for steps",
        Rule(low=0, why="0 trains for steps"),
        section="optimisation",
    )
    clip: float = setting(
        0.0,
        "clip the global gradient norm to this value; 0 turns clipping off",
        Rule(low=0, why="0 turns clipping off"),
        section="optimisation",
    )
    seed: int = setting(
        0,
        "seeds the weights and the data order; same seed, same batches",
        Rule(low=0, high=2**63 - 1, high_text="2**63 - 1"),
        section="optimisation",
    )
    # task (rnnviz/tasks.py)
    task: str = setting(
        "mnist",
        "what the run learns: mnist (classify the digit read in its view), delayed (the digit, then `delay` blank "
        "steps, then its class), adding (the adding problem: the sum of the two marked values of `length` steps, "
        "regression scored by mean squared error)",
        Rule(choices=TASKS),
        section="task",
    )
    delay: int = setting(
        0,
        "delayed task only: blank time steps between the digit's last step and the step its class is read at",
        Rule(low=0, why="0 reads the class at the digit's last step"),
        section="task",
        form=Form(step=10, label="Delay D (delayed digit)", applies=("task", "delayed")),
    )
    length: int = setting(
        100,
        "adding task only (flag --seq-len): time steps T of each sequence",
        # 2: one marked step in each half; 2,000: 12,000 generated sequences take 190 MB (the literature's
        # longest is 1,000)
        Rule(low=2, high=2000),
        section="task",
        form=Form(step=10, label="Sequence length T (adding)", applies=("task", "adding")),
    )
    dataset: str = setting("mnist", "mnist or fashion-mnist", Rule(choices=DATASETS), section="data")
    data_dir: str = setting(
        "",
        "directory holding the four IDX files; empty: look up or download",
        section="data",
        form=Form(label="Data directory", placeholder="auto: look up or download"),
    )
    view: str = setting(
        "rows",
        "how an image becomes a sequence: rows (28x28), chunks of k pixels, pixels",
        Rule(choices=VIEWS),
        section="view",
    )
    chunk: int = setting(7, "pixels per time step when view is chunks (7 gives 112 steps)", POSITIVE, section="view")
    permute: bool = setting(False, "apply a fixed random permutation (from the seed) to the pixels", section="view")
    probe_every: int = setting(
        100,
        "run the unrolled probe pass (per-time-step gradients, histograms) every N steps",
        POSITIVE,
        section="probe",
        form=Form(step=10),
    )
    probe_batch: int = setting(
        100, "test digits in the fixed probe batch", POSITIVE, section="probe", form=Form(step=10)
    )
    eval_every: int = setting(
        500,
        "evaluate on the whole validation split every N steps (and at the end)",
        POSITIVE,
        section="evaluation",
        form=Form(step=100),
    )
    test_during_training: bool = setting(
        False,
        "evaluate the test split at every evaluation too; off: only once, at the end, so that nothing read "
        "during training has seen it",
        section="evaluation",
    )
    checkpoint_every: int = setting(
        500,
        "save model and optimiser state every N steps and at the end (for resuming)",
        POSITIVE,
        section="evaluation",
        form=Form(step=100),
    )
    saturation: float = setting(
        0.99,
        "a unit counts as saturated when |h| exceeds this",
        Rule(low=0, low_open=True, high=1, high_open=True),
        section="saturation",
        form=Form(step=0.01, format="%.3f"),
    )
    hist_bins: int = setting(
        200,
        "bins of every histogram (200 puts an edge at |h| = 0.99); edges stay fixed for the run",
        Rule(low=2, high=1000),
        section="saturation",
        form=Form(step=10, label="Histogram bins"),
    )
    # 1 by default: the chain is multiplied from each step's factors and its norms proved to 1e-4 without an SVD
    # (rnnviz/jacobians.py), so the whole Why section is recorded at the plain loop's speed (bench/README.md)
    jacobian_examples: int = setting(
        1,
        "probe digits whose exact Jacobians dh_T/dh_t (t = 1..T) the probe computes for their spectral norm "
        "(1 is enough to see them; each adds ~20 ms to an LSTM's probe, ~5 ms to an RNN's); 0 turns them off",
        Rule(low=0, why="0 turns the Jacobians off"),
        section="probe",
    )
    device: str = setting("auto", "auto (CUDA when present), cpu or cuda", Rule(choices=DEVICES), section="execution")
    threads: int = setting(
        0,
        "torch threads; 0: the cores shared evenly by the runs training at once",
        Rule(low=0, why="0 shares the cores among the runs training"),
        section="execution",
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


def rule_of(name: str) -> Rule:
    """The rule of a RunConfig field."""
    return FIELDS[name].metadata["rule"]
