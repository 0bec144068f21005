"""The training loop: fused steps, cheap statistics every step, probes and evaluations, all into the store.

`train` is the loop itself, one comment per phase; what happens around it lives in helpers: `prepare` (data,
model, optimiser, a resumed run's state), `ProgressBar`, and `train`'s own handlers that turn every way a
run can end into its status.
"""

from __future__ import annotations

import math
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass

import torch

from . import tasks, words
from .config import TEST_HEADS, ConfigError, RunConfig, cores
from .data import DataError
from .models import SeqClassifier, build_model, loss_fn
from .probes import evaluate, hist_edges, record_probe
from .stepstats import StepRows, clip_, grad_norms, saturated_counts
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
    norms = grad_norms(grads)  # (P + 1,), the global norm last
    clipped = clip_(grads, norms[-1], cfg.clip).float() if cfg.clip > 0 else torch.zeros_like(loss)
    p.opt.step()
    # counts, not fractions: `as_recorded` divides them on the host, in float64, as the host always did; a
    # regression (float targets) has no accuracy
    head = [loss.detach()] if y.is_floating_point() else [loss.detach(), (logits.argmax(1) == y).sum().float()]
    rows.add(step, p.columns, torch.cat([torch.stack([*head, clipped]), saturated_counts(hs, cfg.saturation), norms]))


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
    step, status, error = 0, Status.RUNNING, None
    end: dict[str, float] = {}
    val_acc = None
    baseline: float | None = None
    bar: ProgressBar | None = None
    held: Held | None = None
    try:
        p = prepare(cfg, store, run_id, resume, progress)
        model, opt, baseline = p.model, p.opt, p.baseline_loss
        if p.start:
            rec.summary["test_accuracy"] = store.run(run_id)["test_accuracy"]
        rec.summary["total_steps"] = p.steps
        bar = ProgressBar(cfg, run_id, p.start, p.steps, progress)
        epoch = Epoch()

        def run_probe(at: int) -> None:
            record_probe(rec, at, model, p.probe_x, p.probe_y, cfg)

        def run_eval(at: int, test: bool) -> dict[str, float]:
            got: dict[str, float] = {}
            if len(p.val_x):
                got["validation_accuracy"], got["validation_loss"] = evaluate(model, p.val_x, p.val_y, p.inputs)
            if test:
                got["test_accuracy"], got["test_loss"] = evaluate(model, p.test_x, p.test_y, p.inputs)
                if got["test_accuracy"] == got["test_accuracy"]:
                    rec.summary["test_accuracy"] = got["test_accuracy"]
            got = {k: v for k, v in got.items() if v == v}  # a regression has no accuracy
            rec.scalar(at, got)
            return got

        held = Held(cfg, p, rec, epoch, bar)
        step = p.start
        for step in range(p.start + 1, p.steps + 1):
            # probe: the unrolled pass on the probe batch, with the weights that produce this step's loss (never
            # the weights of a run that has diverged: what is held is read first)
            probing = step == 1 or step % cfg.probe_every == 0
            if probing and held.read(val_acc):
                break
            if probing:
                run_probe(step)
            # one training step, its statistics held on the device
            train_step(cfg, p, held.rows, step)
            # evaluation on the validation split, an epoch's means and a checkpoint, every so often (the end
            # has its own, below), and a commit every FLUSH_S: the held statistics are read first, in one transfer
            epoch_end = bool(cfg.epochs) and step % p.steps_per_epoch == 0
            evaluating = (step % cfg.eval_every == 0 or epoch_end) and step < p.steps
            checkpointing = step % cfg.checkpoint_every == 0 and step < p.steps
            if (evaluating or checkpointing or rec.due()) and held.read(val_acc):
                break
            if evaluating:
                got = run_eval(step, cfg.test_during_training)
                val_acc = got.get("validation_accuracy")
                if epoch_end:
                    rec.scalar(step, epoch.close(got))
            if checkpointing:
                rec.flush(step, force=True)  # a checkpoint never runs ahead of the records it resumes
                store.save_checkpoint(run_id, step, model, opt)
            # commit what is due; stop if asked (from the store or the caller)
            if rec.flush(step) or should_stop():
                status = Status.STOPPED
                break
        else:
            status = Status.FINISHED
        held.read(val_acc)  # what the last steps left held
        if held.diverged:
            (step, error), status = held.diverged, Status.DIVERGED
        # the end: the validation split, the test split (whole and its first digits) and a last probe of the
        # weights the run ends with, and its checkpoint
        if status != Status.DIVERGED:
            end = run_eval(step, test=True)
            if cfg.epochs and epoch.steps and step % p.steps_per_epoch == 0:
                rec.scalar(step, epoch.close(end))
            if "test_accuracy" in end:
                for k in TEST_HEADS:
                    end[f"test_accuracy_{k}"] = evaluate(model, p.test_x[:k], p.test_y[:k], p.inputs)[0]
                rec.scalar(step, {f"test_accuracy_{k}": end[f"test_accuracy_{k}"] for k in TEST_HEADS})
            run_probe(step)
        rec.flush(step, force=True)
        if status in (Status.FINISHED, Status.STOPPED):
            store.save_checkpoint(run_id, step, model, opt)
    except KeyboardInterrupt:
        status, error = Status.STOPPED, None
        _safe_flush(rec, step, held)
    except (ConfigError, DataError, StoreError) as exc:
        status, error = Status.FAILED, str(exc)
    except Exception as exc:  # a failed run must still be recorded as failed, with its reason
        status, error = Status.FAILED, f"{type(exc).__name__}: {exc}"
        traceback.print_exc(file=sys.stderr)
        _safe_flush(rec, step, held)
    finally:
        if bar is not None:
            bar.close()
    seconds = time.monotonic() - t0
    error = _record_end(store, run_id, status, error, seconds)
    return RunResult(
        run_id,
        cfg.display_name,
        status,
        step,
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
        baseline_loss=baseline,
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


def _safe_flush(rec: WriteBuffer, step: int, held: Held | None) -> None:
    """Keep what was measured before a failure (the statistics still held on the device too), if the store
    still accepts writes."""
    try:
        if held is not None:
            held.read(None)
        rec.flush(step, force=True)
    except Exception as exc:  # the store itself may be what failed
        print(f"rnnviz: could not save the last records: {exc}", file=sys.stderr)
