"""What a run learns: MNIST's digits in a view, the delayed digit, and the adding problem, each as train,
validation and test splits and the function that turns a stored batch into the model's input.

The synthetic data is drawn from the run's seed with numpy's PCG64 generator, whose streams are the same on
every machine and in every process, so two runs with one seed (an RNN and an LSTM, or the same run on two
nodes of a Ray cluster) see the same sequences.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from . import data as datamod
from .config import RunConfig

# The adding problem's splits. Arjovsky et al. (2016) trained on 100,000 sequences; 10,000 keep T = 750
# within 60 MB here, and a run of a few thousand steps of 50 sees each only a few times.
ADDING_SIZES = {"train": 10_000, "validation": 1_000, "test": 1_000}
# Predicting 1 (the mean of the sum of two U(0, 1) values) scores its variance: 2 x 1/12.
ADDING_BASELINE = 1 / 6
_ADDING_STREAM = 2  # data.validation_split draws from stream 1 of the seed, the weights from torch's own
CHANCE = 0.1  # a classifier's accuracy over 10 balanced classes that it cannot tell apart


@dataclass
class TaskData:
    """A task's splits and how to read them. Stored sequences are uint8 pixels (the digit tasks) or float32
    (the adding problem); `inputs` makes a batch of them the model's float input (B, T, I)."""

    train_x: torch.Tensor
    train_y: torch.Tensor  # int64 classes, or float32 targets (a regression)
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    inputs: Callable[[torch.Tensor], torch.Tensor]
    baseline_loss: float | None = None  # the test split's loss of the best constant guess (regression only)

    @property
    def regression(self) -> bool:
        return self.test_y.is_floating_point()


def adding_problem(n: int, length: int, seed: int, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """n sequences of the adding problem (Hochreiter & Schmidhuber 1997, as Le et al. 2015 and Arjovsky et al.
    2016 set it): each step holds a value drawn from U(0, 1) and a marker; one step of the first half and one
    of the second are marked 1, and the target is the sum of their values. Returns x (n, T, 2), y (n,)."""
    stream = list(ADDING_SIZES).index(split)
    rng = np.random.default_rng([seed, _ADDING_STREAM, stream])
    values = rng.random((n, length), dtype=np.float32)  # (n, T)
    half = length // 2
    first = rng.integers(0, half, n)
    second = rng.integers(half, length, n)
    rows = np.arange(n)
    markers = np.zeros((n, length), np.float32)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = np.stack([values, markers], 2)  # (n, T, 2)
    y = values[rows, first] + values[rows, second]  # (n,)
    return torch.from_numpy(x), torch.from_numpy(y)


def delayed(x: torch.Tensor, delay: int) -> torch.Tensor:
    """A batch of digit sequences (B, T, I) followed by `delay` blank (zero) steps: (B, T + delay, I)."""
    if not delay:
        return x
    B, _, I = x.shape
    return torch.cat([x, x.new_zeros(B, delay, I)], 1)


def load(cfg: RunConfig, progress: bool = False) -> TaskData:
    """The run's task, its splits drawn or read: the adding problem from the seed, the digit tasks from the
    dataset (the validation split held out of its training images by the seed)."""
    if cfg.task == "adding":
        splits = [adding_problem(n, cfg.length, cfg.seed, split) for split, n in ADDING_SIZES.items()]
        (train_x, train_y), (val_x, val_y), (test_x, test_y) = splits
        baseline = float(((test_y - 1.0) ** 2).mean())
        return TaskData(train_x, train_y, val_x, val_y, test_x, test_y, lambda b: b.float(), baseline)
    train_split, test_split = datamod.load(cfg.dataset, cfg.data_dir, progress=progress)
    perm = datamod.permutation(cfg.seed) if cfg.permute else None
    images = datamod.sequences(train_split.images, cfg.view_len, perm)  # (N, T, I) uint8
    labels = torch.from_numpy(train_split.labels.astype(np.int64))
    train_idx, val_idx = (torch.from_numpy(i) for i in datamod.validation_split(len(images), cfg.seed))
    test_x = datamod.sequences(test_split.images, cfg.view_len, perm)
    test_y = torch.from_numpy(test_split.labels.astype(np.int64))
    # the blank steps are added per batch, so a long delay costs no memory
    blank = cfg.delay if cfg.task == "delayed" else 0
    return TaskData(
        images[train_idx],
        labels[train_idx],
        images[val_idx],
        labels[val_idx],
        test_x,
        test_y,
        lambda b: delayed(datamod.to_float(b), blank),
    )


def beats(cfg: RunConfig, test_loss: float | None, test_accuracy: float | None) -> bool | None:
    """Whether a finished run beat chance clearly: the adding problem's test MSE below half the baseline's
    (it has learned at least half of what predicting 1 leaves), a classifier's accuracy above twice chance.
    None when the run has no result."""
    if cfg.task == "adding":
        return None if test_loss is None or test_loss != test_loss else test_loss < ADDING_BASELINE / 2
    return None if test_accuracy is None or test_accuracy != test_accuracy else test_accuracy > 2 * CHANCE
