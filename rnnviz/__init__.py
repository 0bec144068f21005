"""rnnviz: watch a vanilla RNN fail where an LSTM learns, on sequential MNIST."""

from .config import PRESETS, RunConfig, preset
from .store import Store

__all__ = ["PRESETS", "RunConfig", "Store", "preset"]
__version__ = "0.1.0"
