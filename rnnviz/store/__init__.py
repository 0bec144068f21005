"""The run store: one SQLite file in WAL mode, written by one writer per run, read by any process.

- `database.py`: the schema, write transactions, a run's records written (the trainer) and read back
- `status.py`: `Status`, the states of a run
- `buffer.py`: `WriteBuffer`, a run's one writer: records batched into transactions; `RunStore`, what it
  writes through
- `liveness.py`: whether a run's trainer process still lives
- `export.py`: a run written out as CSV, Parquet or TensorBoard files
"""

from .buffer import RunStore, WriteBuffer
from .database import SCHEMA_VERSION, Store, StoreError, default_path
from .export import EXPORT_FORMATS, export_dir, export_run, export_tensorboard
from .status import ACTIVE, RESUMABLE, UNFINISHED, Status

__all__ = [
    "ACTIVE",
    "EXPORT_FORMATS",
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
