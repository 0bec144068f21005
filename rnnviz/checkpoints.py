"""A run's checkpoint: its model and optimiser state at a step, in one file beside the store, for resuming
a run and for the digit inspector."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def path_for(store_path: str | os.PathLike, run_id: int) -> Path:
    """Where a run's latest checkpoint lives: checkpoints/<store>-run-<id>.pt beside the store."""
    path = Path(store_path).expanduser()
    return path.parent / "checkpoints" / f"{path.stem}-run-{int(run_id)}.pt"


# torch (and rnnviz.data, which needs it) is imported inside the functions: the store, which deletes a run's
# checkpoint with the run, imports this module, and `import rnnviz` must not wait for torch.
def dumps(step: int, model: torch.nn.Module, opt: torch.optim.Optimizer) -> bytes:
    """A checkpoint's bytes: state dicts only (tensors, numbers)."""
    import torch

    buffer = io.BytesIO()
    torch.save({"step": step, "model": model.state_dict(), "optimizer": opt.state_dict()}, buffer)
    return buffer.getvalue()


def loads(data: bytes, where: str | os.PathLike) -> dict:
    """weights_only=True: a checkpoint can hold tensors and numbers, never code."""
    import torch

    from .data import DataError

    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for a damaged or foreign file
        raise DataError(f"{where}: not a usable rnnviz checkpoint ({type(exc).__name__}: {exc})") from None


def write(path: Path, data: bytes) -> None:
    """Written whole then renamed: a kill never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def save(path: Path, step: int, model: torch.nn.Module, opt: torch.optim.Optimizer) -> None:
    write(path, dumps(step, model, opt))


def load(path: Path) -> dict:
    from .data import DataError

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: not a usable rnnviz checkpoint ({type(exc).__name__}: {exc})") from None
    return loads(data, path)
