"""A run's checkpoint: its model and optimiser state at a step, in one file beside the store, for resuming
a run and for the digit inspector."""

from __future__ import annotations

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
def save(path: Path, step: int, model: torch.nn.Module, opt: torch.optim.Optimizer) -> None:
    """State dicts only (tensors, numbers), written whole then renamed: a kill never leaves half a file."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"step": step, "model": model.state_dict(), "optimizer": opt.state_dict()}, tmp)
    os.replace(tmp, path)


def load(path: Path) -> dict:
    """weights_only=True: a checkpoint file can hold tensors and numbers, never code."""
    import torch

    from .data import DataError

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for a damaged or foreign file
        raise DataError(f"{path}: not a usable rnnviz checkpoint ({type(exc).__name__}: {exc})") from None
