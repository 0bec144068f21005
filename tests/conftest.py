"""Shared fixtures: the real MNIST subset, IDX writers for bad files, and stores with short real runs."""

from __future__ import annotations

import gzip
import os
import struct
import time
from pathlib import Path

import numpy as np
import pytest

from rnnviz.config import RunConfig
from rnnviz.store import Store
from rnnviz.trainer import train

# Warm trainers (runner.ensure_standby) outlive the pages that start them, so no test leaves them behind;
# tests/test_standby.py turns them on where it tests them, and stops every one it started.
os.environ["RNNVIZ_STANDBY"] = "0"

ROOT = Path(__file__).resolve().parent.parent
MNIST_DIR = ROOT.parent / "shared" / "data" / "mnist-10k"


def wait_for(predicate, timeout: float = 60.0, every: float = 0.1):
    """Poll until `predicate()` is truthy and return it; fail after `timeout` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("condition not met in time")


def write_idx(path: Path, array: np.ndarray, compress: bool = True) -> Path:
    """Write a uint8 array as an IDX file (gzip when compress)."""
    array = np.asarray(array, dtype=np.uint8)
    raw = struct.pack(">HBB", 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)
    return path


def write_dataset(directory: Path, n_train: int = 64, n_test: int = 32, seed: int = 0) -> Path:
    """A small dataset in MNIST layout with random pixels."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(directory / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(directory / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, n))
    return directory


def quick_config(**changes) -> RunConfig:
    """A real but short run on the MNIST subset."""
    values = dict(
        steps=30,
        batch_size=32,
        probe_every=10,
        eval_every=20,
        probe_batch=32,
        data_dir=str(MNIST_DIR),
        threads=1,
        init="glorot",
        jacobian_examples=1,
    )
    values.update(changes)
    return RunConfig(**values)


def quick(**changes) -> dict:
    """The settings that make a preset's run short: quick_config's steps, batch, probes, data and threads."""
    cfg = quick_config(**changes)
    keep = ("steps", "batch_size", "probe_every", "eval_every", "probe_batch", "data_dir", "threads")
    return {k: getattr(cfg, k) for k in keep}


@pytest.fixture(scope="session")
def trained_store(tmp_path_factory) -> Path:
    """A store holding one finished RNN run (id 1) and one finished LSTM run (id 2)."""
    path = tmp_path_factory.mktemp("store") / "runs.sqlite"
    with Store(path) as store:
        for cell in ("rnn", "lstm"):
            result = train(quick_config(cell=cell, name=f"test-{cell}", lr=0.01), store)
            assert result.status == "finished", result.error
    return path


@pytest.fixture(scope="session")
def remedies_store(tmp_path_factory) -> Path:
    """The remedies set (the blog RNN, one run per remedy, the blog LSTM), clipping at 0.5, each run 20 steps."""
    from rnnviz.config import remedies

    path = tmp_path_factory.mktemp("remedies") / "set.sqlite"
    with Store(path) as store:
        for run in remedies(clip=0.5, **quick(steps=20)):
            assert train(run, store).status == "finished"
    return path


@pytest.fixture(scope="session")
def sweep_store(tmp_path_factory) -> Path:
    """A set of 2 x 2 grid points times 2 seeds, trained here one after another as Ray's workers would."""
    from rnnviz import sweeps
    from rnnviz.store import Status

    path = tmp_path_factory.mktemp("sweep") / "runs.sqlite"
    spec = sweeps.SweepSpec(quick_config(cell="rnn", name="set", hidden_size=8, steps=20), {"lr": [0.001, 0.01],
                        "hidden_size": [8, 16]}, 2)  # fmt: skip
    with Store(path) as store:
        sweep_id = store.create_sweep("a test set", spec.to_json(), "ray", "127.0.0.1:6379")
        for cfg in spec.configs():
            train(cfg, store, run_id=store.create_run(cfg, Status.WAITING, sweep_id))
        store.finish_sweep(sweep_id, Status.FINISHED)
    return path


@pytest.fixture
def empty_store(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNVIZ_STORE", str(tmp_path / "empty.sqlite"))
    monkeypatch.setenv("RNNVIZ_DATA_DIR", str(tmp_path / "nodata"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture
def full_store(trained_store, monkeypatch):
    monkeypatch.setenv("RNNVIZ_STORE", str(trained_store))
