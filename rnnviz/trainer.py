"""The training loop: fused steps, cheap statistics every step, probes and evaluations, all into the store.

`Loop.run` is the loop itself, one comment per phase, and `Loop.end` the run's end; what happens around them
lives in helpers: `prepare` (data, model, optimiser, a resumed run's state), `train_step`, `Held` (the steps'
statistics until they are read), `ProgressBar`, and `train`'s own handlers that turn every way a run can end
into its status.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass

import torch

from . import tasks
from .config import TEST_HEADS, ConfigError, RunConfig, cores
from .data import DataError
from .models import SeqClassifier, build_model, loss_fn
from .probes import evaluate, hist_edges, record_probe
from .stepstats import Epoch, Held, Pace, ProgressBar, StepRows, step_row
from .store import RunStore, Status, StoreError, WriteBuffer


@dataclass
class RunResult:
    """What a finished (or ended) run reports: the CLI prints it as one JSON line."""

    run_id: int
    name: str
    status: Status
    steps: int
    test_accuracy: float | None  # the whole test split, at the end
    test_loss: float | None
    saturated_fraction: float | None
    seconds: float
    error: str | None = None
    threads: int | None = None  # the torch threads it trained with
    validation_accuracy: float | None = None  # the validation split, at the end
    validation_loss: float | None = None
    test_accuracy_128: float | None = None  # the first 128 and 256 test digits, as the TensorFlow tutorials report
    test_accuracy_256: float | None = None
    task: str = "mnist"
    baseline_loss: float | None = None  # the adding problem's test loss of predicting 1 (~0.167)

    def to_dict(self) -> dict:
        return asdict(self)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device", "cuda was asked for, but torch finds no CUDA device; use cpu or auto")
    return torch.device(name)


def batch_order(
    n: int, batch_size: int, gen: torch.Generator, device: torch.device | None = None
) -> Iterator[torch.Tensor]:
    """Endless shuffled mini-batches, epoch after epoch; the generator alone fixes the order. With a CUDA
    device, each epoch's order is copied there once, from pinned memory, without waiting for the device."""
    while True:
        order = torch.randperm(n, generator=gen)
        if device is not None and device.type == "cuda":
            order = order.pin_memory().to(device, non_blocking=True)
        for s in range(0, n - batch_size + 1, batch_size):
            yield order[s : s + batch_size]


@dataclass
class Prepared:
    """Everything the loop needs, made ready by `prepare`."""

    model: SeqClassifier
    opt: torch.optim.Optimizer
    device: torch.device
    train_x: torch.Tensor  # (N, T, I) as stored (tasks.TaskData) on the device, the training split less validation
    train_y: torch.Tensor  # (N,) classes, or targets of a regression, on the device
    val_x: torch.Tensor  # (V, T, I), held out of the training images (data.validation_split)
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    inputs: Callable[[torch.Tensor], torch.Tensor]  # a stored batch -> the model's float input (B, T, I)
    baseline_loss: float | None  # a regression's test loss of its best constant guess
    probe_x: torch.Tensor  # (P, T, I) float, the fixed probe batch
    probe_y: torch.Tensor
    batches: Iterator[torch.Tensor]
    start: int  # the step it goes on from: 0, or a resumed run's checkpoint
    steps: int  # the step it ends at (cfg.total_steps of its training split)
    steps_per_epoch: int
    columns: tuple[str, ...] = ()  # the names of a training step's statistics, in their row's order (train_step)


def warm_up() -> None:
    """Pay in advance what a new process pays on its first training step: torch imports its compiler the first
    time an optimiser is used (1 s here). A standby trainer does this before it is handed a run."""
    w = torch.zeros(2, requires_grad=True)
    opt = torch.optim.Adam([w])
    (w * w).sum().backward()
    opt.step()


def prepare(cfg: RunConfig, store: RunStore, run_id: int, resume: bool, progress: bool) -> Prepared:
    """Data, model and optimiser on their device, seeded; with `resume`, the run's checkpoint loaded, its
    records after it dropped, and the batch order moved on to it."""
    state = store.load_checkpoint(run_id) if resume else None
    start = state["step"] if state else 0
    if resume:
        store.truncate(run_id, start)
    store.mark_running(run_id, os.getpid())
    torch.set_num_threads(cfg.threads or cores())
    # Once the tanh RNN saturates, its vanishing gradients become denormal floats, which the CPU handles
    # ~100x slower: the collapsed blog RNN trained at half speed (96 vs 199 steps/s, one core). Flushed to 0
    # instead; nothing below 1e-38 changes a loss or a figure.
    torch.set_flush_denormal(True)
    device = resolve_device(cfg.device)
    task = tasks.load(cfg, progress)
    if len(task.train_x) < cfg.batch_size:
        raise DataError(
            f"batch size {cfg.batch_size} is larger than the training split ({len(task.train_x)} sequences, "
            f"{len(task.val_x)} more held out for validation)"
        )

    torch.manual_seed(cfg.seed)
    model = build_model(cfg).to(device)
    opt = (torch.optim.Adam if cfg.optimizer == "adam" else torch.optim.SGD)(model.parameters(), lr=cfg.lr)
    store.set_hist_edges(run_id, hist_edges(cfg.cell, cfg.nonlinearity, cfg.hist_bins))
    batches = batch_order(len(task.train_x), cfg.batch_size, torch.Generator().manual_seed(cfg.seed), device)
    if state:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        for _ in range(start):  # the same batches follow as in an uninterrupted run
            next(batches)
    grads = [f"grad_norm/{n}" for n, _ in model.named_parameters()]
    scored = () if task.train_y.is_floating_point() else ("accuracy",)  # a regression has no accuracy
    columns = ("loss", *scored, "clipped", "saturated", "saturated_last", *grads, "grad_norm/global")
    return Prepared(
        model,
        opt,
        device,
        task.train_x.to(device),  # the whole split, as stored: no copy to the device per step
        task.train_y.to(device),
        task.val_x,
        task.val_y,
        task.test_x,
        task.test_y,
        task.inputs,
        task.baseline_loss,
        task.inputs(task.test_x[: cfg.probe_batch]).to(device),
        task.test_y[: cfg.probe_batch].to(device),
        batches,
        start,
        cfg.total_steps(len(task.train_x)),
        len(task.train_x) // cfg.batch_size,
        columns,
    )


def train_step(cfg: RunConfig, p: Prepared, rows: StepRows, step: int) -> None:
    """One fused forward and backward pass on the step's batch, the update (its gradient clipped if asked) and
    the step's statistics (p.columns) held on the device as one row; nothing here waits for the device, and
    `record` reads the rows in batches (and finds a loss that is no longer finite there)."""
    idx = next(p.batches)
    x = p.inputs(p.train_x[idx])  # (B, T, I)
    y = p.train_y[idx]
    logits, hs = p.model(x)  # (B, C), (B, T, H)
    loss = loss_fn(logits, y)
    p.opt.zero_grad(set_to_none=True)
    loss.backward()
    grads = [q.grad for q in p.model.parameters() if q.grad is not None]
    # counts, not fractions: `as_recorded` divides them on the host, in float64, as the host always did; a
    # regression (float targets) has no accuracy
    head = [loss.detach()] if y.is_floating_point() else [loss.detach(), (logits.argmax(1) == y).sum()]
    row = step_row(head, hs, cfg.saturation, grads, cfg.clip)  # clips the gradients, when asked, before the update
    p.opt.step()
    rows.add(step, p.columns, row)


class Loop:
    """One run from its first step to its end: the loop, its probes and evaluations, and how it ends. `step` is
    the step reached, read by `train` whatever way the run ends."""

    def __init__(self, cfg: RunConfig, store: RunStore, run_id: int, p: Prepared, rec: WriteBuffer, bar: ProgressBar):
        self.cfg, self.store, self.run_id, self.p, self.rec = cfg, store, run_id, p, rec
        self.epoch = Epoch()
        self.held = Held(cfg, p, rec, self.epoch, bar)
        self.pace = Pace(rec)
        self.step = p.start
        self.val_acc: float | None = None  # the last evaluation's, shown on the progress bar

    def probe(self, at: int) -> None:
        """The unrolled pass on the probe batch, with the weights the model has now, into the store's buffer."""
        record_probe(self.rec, at, self.p.model, self.p.probe_x, self.p.probe_y, self.cfg)

    def evaluate(self, at: int, test: bool) -> dict[str, float]:
        """The validation split (and the test split with `test`), recorded at `at`."""
        p, got = self.p, {}
        if len(p.val_x):
            got["validation_accuracy"], got["validation_loss"] = evaluate(p.model, p.val_x, p.val_y, p.inputs)
        if test:
            got["test_accuracy"], got["test_loss"] = evaluate(p.model, p.test_x, p.test_y, p.inputs)
            if got["test_accuracy"] == got["test_accuracy"]:
                self.rec.summary["test_accuracy"] = got["test_accuracy"]
        got = {k: v for k, v in got.items() if v == v}  # a regression has no accuracy
        self.rec.scalar(at, got)
        return got

    def run(self, should_stop: Callable[[], bool]) -> Status:
        """Train from p.start to p.steps; how the loop ended (finished, stopped, or running: a step diverged)."""
        cfg, p, rec, held = self.cfg, self.p, self.rec, self.held
        for step in range(p.start + 1, p.steps + 1):
            self.step = step
            # probe: the unrolled pass on the probe batch, with the weights that produce this step's loss (never
            # the weights of a run that has diverged: what is held is read first)
            probing = step == 1 or step % cfg.probe_every == 0
            if probing and held.read(self.val_acc):
                return Status.RUNNING
            if probing:
                self.probe(step)
            # one training step, its statistics held on the device
            train_step(cfg, p, held.rows, step)
            # evaluation on the validation split, an epoch's means and a checkpoint, every so often (the end
            # has its own), and a commit when `pace` says: the held statistics are read first, in one transfer
            epoch_end = bool(cfg.epochs) and step % p.steps_per_epoch == 0
            evaluating = (step % cfg.eval_every == 0 or epoch_end) and step < p.steps
            checkpointing = step % cfg.checkpoint_every == 0 and step < p.steps
            committing = self.pace.due()
            if (evaluating or checkpointing or committing) and held.read(self.val_acc):
                return Status.RUNNING
            if evaluating:
                got = self.evaluate(step, cfg.test_during_training)
                self.val_acc = got.get("validation_accuracy")
                if epoch_end:
                    rec.scalar(step, self.epoch.close(got))
            if checkpointing:
                rec.flush(step, force=True)  # a checkpoint never runs ahead of the records it resumes
                self.store.save_checkpoint(self.run_id, step, p.model, p.opt)
            # commit what is due; stop if asked (from the store or the caller)
            if self.pace.flush(step, committing) or should_stop():
                return Status.STOPPED
        return Status.FINISHED

    def end(self, status: Status) -> tuple[Status, str | None, dict[str, float]]:
        """After the loop: what the last steps left held is read; unless the run diverged, the validation split,
        the test split (whole and its first digits) and a last probe of the weights it ends with, then its
        checkpoint. Returns its status, error and end-of-run figures."""
        cfg, p, rec, step = self.cfg, self.p, self.rec, self.step
        self.held.read(self.val_acc)
        if self.held.diverged:
            (self.step, error), status = self.held.diverged, Status.DIVERGED
            rec.flush(self.step, force=True)
            return status, error, {}
        end = self.evaluate(step, test=True)
        if cfg.epochs and self.epoch.steps and step % p.steps_per_epoch == 0:
            rec.scalar(step, self.epoch.close(end))
        if "test_accuracy" in end:
            for k in TEST_HEADS:
                end[f"test_accuracy_{k}"] = evaluate(p.model, p.test_x[:k], p.test_y[:k], p.inputs)[0]
            rec.scalar(step, {f"test_accuracy_{k}": end[f"test_accuracy_{k}"] for k in TEST_HEADS})
        self.probe(step)
        rec.flush(step, force=True)
        if status in (Status.FINISHED, Status.STOPPED):
            self.store.save_checkpoint(self.run_id, step, p.model, p.opt)
        return status, None, end


def train(
    cfg: RunConfig,
    store: RunStore,
    run_id: int | None = None,
    progress: bool = False,
    should_stop: Callable[[], bool] = lambda: False,
    resume: bool = False,
) -> RunResult:
    """Train one run to its end, recording everything into the store; never raises for run failures.
    Curves during training are evaluated on the validation split; the test split once, at the end (at every
    evaluation with cfg.test_during_training). With resume, continue run_id from its last checkpoint (records
    after it are dropped)."""
    cfg.validate()
    if run_id is None:
        run_id = store.create_run(cfg)
    rec = WriteBuffer(store, run_id)
    t0 = time.monotonic()
    status, error = Status.RUNNING, None
    end: dict[str, float] = {}
    bar: ProgressBar | None = None
    p: Prepared | None = None
    loop: Loop | None = None
    try:
        p = prepare(cfg, store, run_id, resume, progress)
        if p.start:
            rec.summary["test_accuracy"] = store.run(run_id)["test_accuracy"]
        rec.summary["total_steps"] = p.steps
        bar = ProgressBar(cfg, run_id, p.start, p.steps, progress)
        loop = Loop(cfg, store, run_id, p, rec, bar)
        status, error, end = loop.end(loop.run(should_stop))
    except KeyboardInterrupt:
        status, error = Status.STOPPED, None
        _safe_flush(rec, loop)
    except (ConfigError, DataError, StoreError) as exc:
        status, error = Status.FAILED, str(exc)
    except Exception as exc:  # a failed run must still be recorded as failed, with its reason
        status, error = Status.FAILED, f"{type(exc).__name__}: {exc}"
        traceback.print_exc(file=sys.stderr)
        _safe_flush(rec, loop)
    finally:
        if bar is not None:
            bar.close()
    seconds = time.monotonic() - t0
    error = _record_end(store, run_id, status, error, seconds)
    return RunResult(
        run_id,
        cfg.display_name,
        status,
        loop.step if loop else 0,
        end.get("test_accuracy"),
        end.get("test_loss"),
        rec.summary.get("saturated_fraction"),
        round(seconds, 2),
        error,
        torch.get_num_threads(),
        validation_accuracy=end.get("validation_accuracy"),
        validation_loss=end.get("validation_loss"),
        test_accuracy_128=end.get("test_accuracy_128"),
        test_accuracy_256=end.get("test_accuracy_256"),
        task=cfg.task,
        baseline_loss=p.baseline_loss if p else None,
    )


def _record_end(store: RunStore, run_id: int, status: Status, error: str | None, seconds: float) -> str | None:
    """Record how the run ended; returns its error, or the store's if even this small write is refused
    (reported, and the run ends anyway)."""
    try:
        store.finish(run_id, status, error, seconds)
    except StoreError as exc:
        print(f"rnnviz: could not record the end of run {run_id}: {exc}", file=sys.stderr)
        return error or str(exc)
    return error


def _safe_flush(rec: WriteBuffer, loop: Loop | None) -> None:
    """Keep what was measured before a failure (the statistics still held on the device too), if the store
    still accepts writes."""
    try:
        if loop is not None:
            loop.held.read(None)
        rec.flush(loop.step if loop else 0, force=True)
    except Exception as exc:  # the store itself may be what failed
        print(f"rnnviz: could not save the last records: {exc}", file=sys.stderr)
