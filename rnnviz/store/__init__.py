"""The run store: one SQLite file in WAL mode, written by one writer per run, read by any process.

- `database.py`: `Store`, one connection with the methods of the parts below
- `connection.py`: the store's file opened (read-only where it cannot be written) and set up, write transactions,
  `StoreError`, `default_path`
- `schema.py`: the tables, the upgrades of an older store, and how an array is held
- `levels.py`: each scalar summarised per bucket of `LEVELS` steps, kept by every write, read at a chart's width
- `queue.py`: the runs and sweeps, from created to ended, their dead processes reaped, and their listings
- `records.py`: a run's records written by its one writer, and forgotten after a step on a resume
- `reads.py`: a run's records read back; `GRAD_FLOW` and `HIST`, the records' names the store reads itself
- `status.py`: `Status`, the states of a run
- `buffer.py`: `WriteBuffer`, a run's one writer: records batched into transactions; `RunStore`, what it
  writes through
- `liveness.py`: whether a run's trainer process still lives
- `export.py`: a run written out as CSV, Parquet or TensorBoard files
"""

from .buffer import RunStore, WriteBuffer
from .connection import StoreError, default_path
from .database import Store
from .export import EXPORT_FORMATS, export_dir, export_run, export_tensorboard
from .reads import GRAD_FLOW, HIST
from .schema import SCHEMA_VERSION
from .status import ACTIVE, RESUMABLE, UNFINISHED, Status

__all__ = [
    "ACTIVE",
    "EXPORT_FORMATS",
    "GRAD_FLOW",
    "HIST",
    "RESUMABLE",
    "RunStore",
    "SCHEMA_VERSION",
    "UNFINISHED",
    "Status",
    "Store",
    "StoreError",
    "WriteBuffer",
    "default_path",
    "export_dir",
    "export_run",
    "export_tensorboard",
]
