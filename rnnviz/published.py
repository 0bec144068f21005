"""The figures the blog posts printed, by preset, so that charts and the results table can set rnnviz's beside them;
and the memory tasks' published results (the adding problem, pixel and permuted-pixel MNIST), with their sources.

Only numbers are kept here, each at the training step rnnviz records it at. The collapse post counts its
steps from 0 and prints the batch it has just trained on: its step k is rnnviz's step k + 1 (rnnviz records
a batch's accuracy before that batch's update, the post after it). The TensorFlow tutorial counts samples
seen; its step s (from 1) trains samples up to s * 128.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Published:
    """What one post printed for one experiment."""

    source: str  # the post, as docs/presets.md names it
    points: dict[str, dict[int, float]] = field(default_factory=dict)  # scalar name -> {rnnviz step: value}
    final: dict[str, float] = field(default_factory=dict)  # a figure printed after training, by rnnviz's name


def _from_zero(values: dict[int, float]) -> dict[int, float]:
    """A log counted from step 0 at rnnviz's steps (k -> k + 1)."""
    return {k + 1: v for k, v in values.items()}


def _samples(values: dict[int, float], batch_size: int = 128) -> dict[int, float]:
    """A log counted in samples seen at rnnviz's steps."""
    return {n // batch_size: v for n, v in values.items()}


# The collapse post's logs: every 100 steps up to 1,400, then every 1,000.
_BLOG_STEPS = (0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1100, 1200, 1300, 1400, 2000, 3000, 4000)
_BLOG_RNN_ACC = (.09, .38, .60, .67, .51, .42, .57, .35, .39, .37, .47, .36, .47, .52, .43, .17, .10, .11)  # fmt: skip
_BLOG_LSTM_ACC = (.11, .88, .94, .95, .98, .96, .97, .96, .97, .99, .99, .98, .98, .98, 1.0, .99, .96, .99)  # fmt: skip
# The tutorial notebook's log, every 10 steps of 128 (it ends at 24,320 samples).
_TUTORIAL_SAMPLES = range(1280, 24321, 1280)
_TUTORIAL_LOSS = (1.91178, 1.70376, 1.3589, 1.17619, 0.887656, 1.30655, 0.983267, 0.750213, 0.465928, 0.737447,
                  0.684177, 0.382037, 0.451465, 0.312327, 0.343009, 0.176603, 0.486304, 0.237851, 0.385988)  # fmt: skip
_TUTORIAL_ACC = (0.367188, 0.421875, 0.5, 0.59375, 0.71875, 0.585938, 0.648438, 0.75, 0.890625, 0.726562, 0.765625,
                 0.90625, 0.898438, 0.882812, 0.835938, 0.960938, 0.84375, 0.921875, 0.859375)  # fmt: skip

PUBLISHED: dict[str, Published] = {
    "blog-rnn": Published(
        "the collapse post (001)",
        {"accuracy": _from_zero(dict(zip(_BLOG_STEPS, _BLOG_RNN_ACC)))},
        {"test_accuracy": 0.1032},
    ),
    "blog-lstm": Published(
        "the collapse post (001)",
        {"accuracy": _from_zero(dict(zip(_BLOG_STEPS, _BLOG_LSTM_ACC)))},
        {"test_accuracy": 0.9839},
    ),
    "tutorial-lstm": Published(
        "the TensorFlow tutorial notebook (004)",
        {
            "loss": _samples(dict(zip(_TUTORIAL_SAMPLES, _TUTORIAL_LOSS))),
            "accuracy": _samples(dict(zip(_TUTORIAL_SAMPLES, _TUTORIAL_ACC))),
        },
    ),
}


def published(preset_name: str) -> Published | None:
    """What the posts printed for a preset (its name as the run is named, before any changes); None if nothing."""
    return PUBLISHED.get(preset_name.split(" (")[0])


@dataclass(frozen=True)
class MemoryResult:
    """A published result on a memory task: which lengths a model beat the task at, and at which it did not."""

    source: str
    model: str
    beat: tuple[int, ...]
    not_beat: tuple[int, ...]
    budget: str


_ARJOVSKY = "Arjovsky, Shah & Bengio 2016 (uRNN), the adding problem"
_ARJOVSKY_BUDGET = "128 hidden units, their own optimiser settings and number of iterations: not rnnviz's budget"
# The adding problem: lengths at which each model's test MSE went clearly below predicting 1 (0.167).
ADDING: tuple[MemoryResult, ...] = (
    MemoryResult(_ARJOVSKY, "tanh RNN", (), (100, 200, 400, 750), _ARJOVSKY_BUDGET),
    MemoryResult(_ARJOVSKY, "LSTM", (100, 200, 400), (750,), _ARJOVSKY_BUDGET),
)


@dataclass(frozen=True)
class PixelResult:
    """A published test accuracy (%) on pixel-by-pixel MNIST (784 steps) and its permuted version."""

    model: str
    pixel: str
    permuted: str
    source: str


PIXEL_MNIST: tuple[PixelResult, ...] = (
    PixelResult("tanh RNN", "35.0", "35.0", "Arjovsky et al. 2016, table 1"),
    PixelResult("IRNN", "97.0", "82.0", "Le, Jaitly & Hinton 2015"),
    PixelResult("LSTM", "98.2-98.9", "88.0-90.2", "Arjovsky et al. 2016; Cooijmans et al. 2017, table 1"),
    PixelResult("uRNN", "95.1", "91.4", "Arjovsky et al. 2016, table 1"),
)
PIXEL_BUDGET = (
    "the papers trained on all 60,000 digits for many epochs (hundreds of thousands of steps) on GPUs; rnnviz's "
    "pixel presets train 2,000 steps on the 8,000-digit subset"
)
