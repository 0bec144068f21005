"""The training loop: fused steps, cheap statistics every step, probes and evaluations, all into the store."""

from __future__ import annotations

import math
import os
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from . import data as datamod
from .config import RunConfig, cores
from .data import DataError
from .models import build_model, loss_fn
from .probes import evaluate, hist_edges, param_grad_norms, probe, saturation
from .store import Store, StoreError

FLUSH_S = 0.5  # commit at least this often, so a watching page lags by well under a second


@dataclass
class RunResult:
    """What a finished (or ended) run reports: the CLI prints it as one JSON line."""

    run_id: int
    name: str
    status: str
    steps: int
    test_accuracy: float | None
    test_loss: float | None
    saturated_fraction: float | None
    seconds: float
    error: str | None = None
    threads: int | None = None  # the torch threads it trained with

    def to_dict(self) -> dict:
        return asdict(self)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise DataError("--device cuda was asked for, but torch finds no CUDA device; use --device cpu or auto")
    return torch.device(name)


class Recorder:
    """Buffers records and commits them in one transaction every FLUSH_S seconds."""

    def __init__(self, store: Store, run_id: int) -> None:
        self.store, self.run_id = store, run_id
        self.scalars: list[tuple[int, str, float]] = []
        self.arrays: list[tuple[int, str, np.ndarray]] = []
        self.summary: dict[str, float | None] = {}
        self.last_flush = time.monotonic()
        self.stop_requested = False

    def scalar(self, step: int, values: dict[str, float]) -> None:
        self.scalars += [(step, k, float(v)) for k, v in values.items()]

    def array(self, step: int, values: dict[str, np.ndarray]) -> None:
        self.arrays += [(step, k, v) for k, v in values.items()]

    def flush(self, step: int, force: bool = False) -> bool:
        """Commit if due (or forced); returns whether a stop has been requested."""
        if force or time.monotonic() - self.last_flush >= FLUSH_S:
            self.stop_requested |= self.store.append(self.run_id, step, self.scalars, self.arrays, self.summary)
            self.scalars, self.arrays = [], []
            self.last_flush = time.monotonic()
        return self.stop_requested


def batch_order(n: int, batch_size: int, gen: torch.Generator):
    """Endless shuffled mini-batches, epoch after epoch; the generator alone fixes the order."""
    while True:
        order = torch.randperm(n, generator=gen)
        for s in range(0, n - batch_size + 1, batch_size):
            yield order[s : s + batch_size]


def save_checkpoint(path: Path, step: int, model: torch.nn.Module, opt: torch.optim.Optimizer) -> None:
    """State dicts only (tensors, numbers), written whole then renamed: a kill never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"step": step, "model": model.state_dict(), "optimizer": opt.state_dict()}, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> dict:
    """weights_only=True: a checkpoint file can hold tensors and numbers, never code."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for a damaged or foreign file
        raise DataError(f"{path}: not a usable rnnviz checkpoint ({type(exc).__name__}: {exc})") from None


def train(
    cfg: RunConfig,
    store: Store,
    run_id: int | None = None,
    progress: bool = False,
    should_stop: Callable[[], bool] = lambda: False,
    resume: bool = False,
) -> RunResult:
    """Train one run to its end, recording everything into the store; never raises for run failures.
    With resume, continue run_id from its last checkpoint (records after it are dropped)."""
    cfg.validate()
    if run_id is None:
        run_id = store.create_run(cfg)
    ckpt_path = store.checkpoint_path(run_id)
    rec = Recorder(store, run_id)
    t0 = time.monotonic()
    step, start, status, error = 0, 0, "running", None
    test_acc = test_loss = None
    bar = None
    try:
        if resume:
            state = load_checkpoint(ckpt_path) if ckpt_path.exists() else None
            start = state["step"] if state else 0
            store.truncate(run_id, start)
        store.mark_running(run_id, os.getpid())
        torch.set_num_threads(cfg.threads or cores())
        # Once the tanh RNN saturates, its vanishing gradients become denormal floats, which the CPU
        # handles ~100x slower: the collapsed blog RNN trained at half speed (96 vs 199 steps/s, one
        # core). Flushed to 0 instead; nothing below 1e-38 changes a loss or a figure.
        torch.set_flush_denormal(True)
        device = resolve_device(cfg.device)
        train_split, test_split = datamod.load(cfg.dataset, cfg.data_dir, progress=progress)
        T = cfg.seq_len
        perm = datamod.permutation(cfg.seed) if cfg.permute else None
        train_x = datamod.sequences(train_split.images, T, perm)  # (N, T, I) uint8
        train_y = torch.from_numpy(train_split.labels.astype(np.int64))
        test_x = datamod.sequences(test_split.images, T, perm)
        test_y = torch.from_numpy(test_split.labels.astype(np.int64))
        if len(train_x) < cfg.batch_size:
            raise DataError(f"batch size {cfg.batch_size} is larger than the training split ({len(train_x)} images)")
        probe_x = datamod.to_float(test_x[: cfg.probe_batch]).to(device)
        probe_y = test_y[: cfg.probe_batch].to(device)

        torch.manual_seed(cfg.seed)
        model = build_model(cfg).to(device)
        params = list(model.parameters())
        opt = (torch.optim.Adam if cfg.optimizer == "adam" else torch.optim.SGD)(params, lr=cfg.lr)
        store.set_hist_edges(run_id, hist_edges(cfg.cell, cfg.nonlinearity, cfg.hist_bins))
        batches = batch_order(len(train_x), cfg.batch_size, torch.Generator().manual_seed(cfg.seed))
        if start:
            assert state is not None
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            for _ in range(start):  # the same batches follow as in an uninterrupted run
                next(batches)
            rec.summary["test_accuracy"] = store.run(run_id)["test_accuracy"]

        def run_probe(at: int) -> None:
            arrays, scalars = probe(model, probe_x, probe_y, cfg.saturation, cfg.hist_bins)
            rec.array(at, arrays)
            rec.scalar(at, scalars)
            rec.summary["saturated_fraction"] = float(arrays["sat_t"].mean())

        if progress:
            from tqdm.auto import tqdm  # a widget in notebooks, text in a terminal

            bar = tqdm(
                total=cfg.steps, initial=start, file=sys.stderr, desc=f"run {run_id} {cfg.display_name}", unit="step"
            )
        step = start
        for step in range(start + 1, cfg.steps + 1):
            if step == 1 or step % cfg.probe_every == 0:
                run_probe(step)  # before this step's update: the weights that produce its loss
            idx = next(batches)
            x = datamod.to_float(train_x[idx].to(device))  # (B, T, I)
            y = train_y[idx].to(device)
            logits, hs = model(x)  # (B, C), (B, T, H)
            loss = loss_fn(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            norms = param_grad_norms(model)
            loss_v = loss.item()
            if not (math.isfinite(loss_v) and math.isfinite(norms["global"])):
                rec.scalar(step, {"loss": loss_v, "grad_norm/global": norms["global"]})
                status = "diverged"
                error = (
                    f"loss became {loss_v} at step {step} (gradient norm {norms['global']:.3g}); "
                    "lower the learning rate or set gradient clipping"
                )
                break
            clipped = 0.0 < cfg.clip < norms["global"]
            if clipped:
                torch.nn.utils.clip_grad_norm_(params, cfg.clip)
            opt.step()
            sat_all, sat_last = saturation(hs, cfg.saturation)
            rec.scalar(
                step,
                {
                    "loss": loss_v,
                    "accuracy": (logits.argmax(1) == y).float().mean().item(),
                    "clipped": float(clipped),
                    "saturated": sat_all,
                    "saturated_last": sat_last,
                    **{f"grad_norm/{k}": v for k, v in norms.items()},
                },
            )
            if step % cfg.eval_every == 0 and step < cfg.steps:
                test_acc, test_loss = evaluate(model, test_x, test_y, datamod.to_float)
                rec.scalar(step, {"test_accuracy": test_acc, "test_loss": test_loss})
                rec.summary["test_accuracy"] = test_acc
            if step % cfg.checkpoint_every == 0 and step < cfg.steps:
                rec.flush(step, force=True)  # a checkpoint never runs ahead of the records it resumes
                save_checkpoint(ckpt_path, step, model, opt)
            if bar is not None:
                bar.update(1)
                if step % 50 == 0:
                    bar.set_postfix(
                        loss=f"{loss_v:.3f}",
                        sat=f"{sat_all:.2f}",
                        test=f"{test_acc:.3f}" if test_acc is not None else "-",
                    )
            if rec.flush(step) or should_stop():
                status = "stopped"
                break
        else:
            status = "finished"
        if status != "diverged":
            test_acc, test_loss = evaluate(model, test_x, test_y, datamod.to_float)
            rec.scalar(step, {"test_accuracy": test_acc, "test_loss": test_loss})
            rec.summary["test_accuracy"] = test_acc
            run_probe(step)  # the weights the run ends with
        rec.flush(step, force=True)
        if status in ("finished", "stopped"):
            save_checkpoint(ckpt_path, step, model, opt)
    except KeyboardInterrupt:
        status, error = "stopped", None
        _safe_flush(rec, step)
    except (DataError, StoreError) as exc:
        status, error = "failed", str(exc)
    except Exception as exc:  # a failed run must still be recorded as failed, with its reason
        status, error = "failed", f"{type(exc).__name__}: {exc}"
        traceback.print_exc(file=sys.stderr)
        _safe_flush(rec, step)
    finally:
        if bar is not None:
            bar.close()
    seconds = time.monotonic() - t0
    try:
        store.finish(run_id, status, error, seconds)
    except StoreError as exc:  # the store refuses even this small write: report, the run ends anyway
        print(f"rnnviz: could not record the end of run {run_id}: {exc}", file=sys.stderr)
        error = error or str(exc)
    return RunResult(
        run_id,
        cfg.display_name,
        status,
        step,
        test_acc,
        test_loss,
        rec.summary.get("saturated_fraction"),
        round(seconds, 2),
        error,
        torch.get_num_threads(),
    )


def _safe_flush(rec: Recorder, step: int) -> None:
    """Keep what was measured before a failure, if the store still accepts writes."""
    try:
        rec.flush(step, force=True)
    except Exception as exc:  # the store itself may be what failed
        print(f"rnnviz: could not save the last records: {exc}", file=sys.stderr)
