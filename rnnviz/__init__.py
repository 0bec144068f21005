"""rnnviz: watch a vanilla RNN fail where an LSTM learns, on sequential MNIST.

    import rnnviz
    run = rnnviz.train("quick-lstm")            # or rnnviz.open_run(store, run_id)
    run.scalars(); run.gradient_flow(); run.figure("gradient_flow")

Names that need torch are imported on first use, so `import rnnviz` stays quick.
"""

from __future__ import annotations

import importlib
from typing import Any

from .config import PRESETS, RunConfig, preset
from .store import Store

__version__ = "0.2.0"

_LAZY = {
    "Run": "api",
    "open_run": "api",
    "runs": "api",
    "train": "api",
    "figure": "api",
    "sweep": "api",
    "Sweep": "api",
    "open_sweep": "api",
    "VIEWS": "views",
    "watch": "interop",
    "Watch": "interop",
    "WatchError": "interop",
    "tanh": "unroll",
    "export_tensorboard": "store",
}

__all__ = ["PRESETS", "RunConfig", "Store", "preset", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'rnnviz' has no attribute {name!r}")
