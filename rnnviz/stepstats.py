"""A training step's statistics: a few fused reductions per step kept on the device, the rows moved to the host
together, one transfer per batch of steps (so that the step's path never waits for the device), and `Held`,
which reads them into the store's buffer, the epoch's sums and the progress bar."""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from . import words
from .config import RunConfig
from .store import WriteBuffer

if TYPE_CHECKING:
    from .trainer import Prepared


def grad_norms(grads: list[torch.Tensor]) -> torch.Tensor:
    """(P + 1,) on the device: the L2 norm of each gradient, then their global norm (one fused reduction)."""
    norms = torch.stack(torch._foreach_norm(grads))  # (P,)
    return torch.cat([norms, torch.linalg.vector_norm(norms)[None]])


def clip_(grads: list[torch.Tensor], total: torch.Tensor, clip: float) -> torch.Tensor:
    """Scale the gradients to a global norm of `clip` where `total` exceeds it, as
    torch.nn.utils.clip_grad_norm_ does, without asking the host; returns whether they were clipped (0-d)."""
    clipped = total > clip
    torch._foreach_mul_(grads, torch.where(clipped, clip / (total + 1e-6), torch.ones_like(total)))
    return clipped


def saturated_counts(hs: torch.Tensor, threshold: float) -> torch.Tensor:
    """(2,): how many |h| exceed the threshold over all time steps, and at the last. hs: (B, T, H), overwritten
    (the step's graph is gone by then; writing in place saves two copies of it)."""
    beyond = hs.detach().abs_().gt_(threshold)  # (B, T, H) of 0 and 1; in place, float: 5x faster than a bool copy
    return torch.stack([beyond.sum(), beyond[:, -1].sum()])


def step_row(
    head: list[torch.Tensor], hs: torch.Tensor, threshold: float, grads: list[torch.Tensor], clip: float
) -> torch.Tensor:
    """A training step's row, float32 on the device, after its backward pass and before the update: `head` (the
    loss, ...), whether the gradients were clipped (`clip_` them to a global norm of `clip` first, when > 0),
    the two saturation counts, each gradient's norm and the global one. The same numbers as `grad_norms`,
    `clip_` and `saturated_counts` (hs is overwritten), in a third of their small ops: one stack for the row."""
    norms = torch._foreach_norm(grads)  # P x ()
    total = torch.linalg.vector_norm(torch.stack(norms))
    clipped = clip_(grads, total, clip) if clip > 0 else torch.zeros((), device=total.device)
    beyond = hs.detach().abs_().gt_(threshold)  # (B, T, H) of 0 and 1, as in saturated_counts
    return torch.stack([*head, clipped, beyond.sum(), beyond[:, -1].sum(), *norms, total])  # promoted to float32


class StepRows:
    """Rows of named per-step values held on the device until `drain` moves them all to the host at once."""

    def __init__(self) -> None:
        self.pending: list[tuple[int, tuple[str, ...], torch.Tensor, dict[str, float]]] = []

    def add(self, step: int, names: tuple[str, ...], row: torch.Tensor, host: dict[str, float] | None = None) -> None:
        """Hold one step's values (row: (len(names),) on the device, float32), without reading them; `host`:
        values the step already has on the host, recorded with them."""
        self.pending.append((step, names, row, host or {}))

    def drain(self) -> list[tuple[int, dict[str, float]]]:
        """Every held step's values, in order, as host floats; one transfer for them all."""
        if not self.pending:
            return []
        values = torch.cat([row for _, _, row, _ in self.pending]).tolist()
        out, at = [], 0
        for step, names, _, host in self.pending:
            out.append((step, {**host, **dict(zip(names, values[at : at + len(names)]))}))
            at += len(names)
        self.pending = []
        return out


COMMIT_SHARE = 0.01  # the most of the process's CPU time that commits may take


class Pace:
    """When a run's writer commits: when its buffer is due (FLUSH_S of wall clock since the last commit) and the
    process has used at least 1 / COMMIT_SHARE times the last commit's CPU time since it. On a free core the
    first rule decides (a commit costs ~2 ms, FLUSH_S sees 50-100 steps); on a loaded machine, where the wall
    clock runs several times faster than the process's CPU, the second keeps the commits at 1% of the training's
    CPU instead of letting them grow to 4% (bench/README.md), and a watching page lags by more than FLUSH_S."""

    def __init__(self, rec: WriteBuffer) -> None:
        self.rec = rec
        self.cpu_at = time.process_time()  # the process's CPU time at the end of the last commit
        self.cost = 0.0  # the last commit's CPU time

    def due(self) -> bool:
        return self.rec.due() and time.process_time() - self.cpu_at >= self.cost / COMMIT_SHARE

    def flush(self, step: int, due: bool) -> bool:
        """Commit at `step` if `due` (this step's `due()`); returns whether a stop has been requested."""
        if not due:
            return self.rec.stop_requested
        start, last = time.process_time(), self.rec.last_flush
        stop = self.rec.flush(step)  # not forced: a checkpoint's commit since `due()` leaves nothing due
        if self.rec.last_flush != last:
            self.cpu_at = time.process_time()
            self.cost = self.cpu_at - start
        return stop


class ProgressBar:
    """tqdm's bar for a run (a widget in notebooks, text in a terminal), or nothing."""

    def __init__(self, cfg: RunConfig, run_id: int, start: int, steps: int, shown: bool) -> None:
        self.bar = None
        if shown:
            from tqdm.auto import tqdm

            desc = f"run {run_id} {cfg.display_name}"
            self.bar = tqdm(total=steps, initial=start, file=sys.stderr, desc=desc, unit="step")

    def update(self, step: int, loss: float, saturated: float, val_acc: float | None) -> None:
        if self.bar is None:
            return
        self.bar.update(1)
        if step % 50 == 0:
            val = words.percent(val_acc) if val_acc is not None else "-"  # shares as the dashboard writes them
            self.bar.set_postfix(loss=f"{loss:.3f}", saturated=words.percent(saturated), validation=val)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def as_recorded(cfg: RunConfig, p: Prepared, values: dict[str, float]) -> dict[str, float]:
    """A drained row of train_step's counts as the fractions recorded (accuracy and saturation)."""
    B, T, H = cfg.batch_size, p.train_x.shape[1], cfg.hidden_size
    return {
        **values,
        **({"accuracy": values["accuracy"] / B} if "accuracy" in values else {}),
        "saturated": values["saturated"] / (B * T * H),
        "saturated_last": values["saturated_last"] / (B * H),
    }


class Held:
    """The training steps' statistics held on the device (train_step's rows), read in one transfer at each
    probe, evaluation, checkpoint and commit into the store's buffer, the epoch's sums and the progress bar."""

    def __init__(self, cfg: RunConfig, p: Prepared, rec: WriteBuffer, epoch: Epoch, bar: ProgressBar) -> None:
        self.cfg, self.p, self.rec, self.epoch, self.bar = cfg, p, rec, epoch, bar
        self.rows = StepRows()
        self.unread: list[tuple[int, dict[str, float]]] = []  # drained, not yet recorded (a Ctrl-C may come between)
        self.diverged: tuple[int, str] | None = None  # the first step whose loss or gradient is not finite, and why

    def read(self, val_acc: float | None) -> bool:
        """Record every held step; True if one diverged (it is recorded, the steps after it are dropped)."""
        if self.diverged:
            return True
        self.unread += self.rows.drain()
        while self.unread:
            at, v = self.unread[0]
            loss, norm = v["loss"], v["grad_norm/global"]
            if not (math.isfinite(loss) and math.isfinite(norm)):
                self.rec.scalar(at, {"loss": loss, "grad_norm/global": norm})
                why = f"loss became {loss} at step {at} (gradient norm {norm:.3g}); "
                self.diverged = (at, why + "lower the learning rate or set gradient clipping")
                self.unread = []
                return True
            stats = as_recorded(self.cfg, self.p, v)
            self.rec.scalar(at, stats)
            if self.cfg.epochs:
                self.epoch.add(stats)
            self.bar.update(at, stats["loss"], stats["saturated"], val_acc)
            self.unread.pop(0)
        return False


@dataclass
class Epoch:
    """Running sums over one epoch's training steps, for its mean cost and training accuracy."""

    loss: float = 0.0
    accuracy: float = 0.0
    steps: int = 0

    def add(self, stats: dict[str, float]) -> None:
        self.loss += stats["loss"]
        self.accuracy += stats.get("accuracy", math.nan)
        self.steps += 1

    def close(self, evaluated: dict[str, float]) -> dict[str, float]:
        """The epoch's records, with the validation accuracy evaluated at its end; the sums start again."""
        out = {"epoch/loss": self.loss / self.steps}
        if self.accuracy == self.accuracy:  # a regression has none
            out["epoch/accuracy"] = self.accuracy / self.steps
        if "validation_accuracy" in evaluated:
            out["epoch/validation_accuracy"] = evaluated["validation_accuracy"]
        self.loss, self.accuracy, self.steps = 0.0, 0.0, 0
        return out
