"""The recorded runs of every outcome (tests/data/outcomes/, made by scripts/make_outcomes.py): a blog RNN that
collapsed with ||dL/dh_1|| underflowed to 0, one that collapsed without, one that learned, the blog LSTM, the
remedies' GRU and an LSTM loop recorded through rnnviz.watch. Tests iterate OUTCOMES to check a view or a
reading on all of them, whatever this machine's own seeds do."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from rnnviz.api import Run
from rnnviz.store import Store

HERE = Path(__file__).resolve().parent / "data" / "outcomes"
STORE = HERE / "outcomes.sqlite"
# One entry per run: outcome, run_id, name, cell, seed, steps, test_accuracy, collapsed, underflow,
# first_underflow_step (the first probe at which ||dL/dh_1|| was exactly 0) and final_decades_t1_below_tT.
MANIFEST: list[dict] = json.loads((HERE / "outcomes.json").read_text())
OUTCOMES: list[str] = [m["outcome"] for m in MANIFEST]
BY_OUTCOME: dict[str, dict] = {m["outcome"]: m for m in MANIFEST}


def outcome_store() -> Store:
    """The fixtures' store, read-only (nothing a test does can change the recorded runs)."""
    return Store(STORE, readonly=True)


def outcome_run(outcome: str, store: Store | None = None) -> Run:
    """The recorded run of one outcome (see OUTCOMES), as the Python API opens it."""
    return Run(store or outcome_store(), int(BY_OUTCOME[outcome]["run_id"]))


def writable_copy(directory: Path) -> Path:
    """A copy of the fixtures' store that a dashboard or a test may open for writing (runs launched beside them)."""
    directory.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(STORE, directory / "outcomes.sqlite"))
