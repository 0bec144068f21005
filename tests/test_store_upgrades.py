"""The run store's schema upgrades: every older store opens, upgraded in place once, or read as it is."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rnnviz.config import RunConfig
from rnnviz.store import SCHEMA_VERSION, Store

STORE_V1 = Path(__file__).parent / "data" / "store-v1.sqlite"  # written by rnnviz 0.2.0 (schema 1)


def test_a_store_of_schema_1_is_upgraded_in_place_and_keeps_every_record(tmp_path):
    path = tmp_path / "old.sqlite"
    shutil.copy(STORE_V1, path)
    with Store(path) as store:
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        runs = store.runs()
        assert runs["run_id"].tolist() == [1] and runs["sweep_id"].isna().all()
        assert len(store.scalars(1)) == 378 and len(store.grad_flow(1)[0]) == 4
        assert store.sweeps().empty
        new = store.create_run(RunConfig(), sweep_id=store.create_sweep("s", "{}", "ray", None))
        assert store.runs().set_index("run_id").loc[new, "sweep_id"] == 1


def test_two_processes_opening_an_old_store_at_once_upgrade_it_once(tmp_path):
    path = tmp_path / "old.sqlite"
    shutil.copy(STORE_V1, path)
    code = f"from rnnviz.store import Store; s = Store({str(path)!r}); print(len(s.runs()), s.version)"
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(4)]
    outs = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs) and outs == [f"1 {SCHEMA_VERSION}"] * 4


def test_a_read_only_store_of_schema_1_is_read_as_it_is(tmp_path):
    path = tmp_path / "old.sqlite"
    shutil.copy(STORE_V1, path)
    with Store(path, readonly=True) as store:
        assert store.version == 1 and store.runs()["sweep_id"].isna().all() and store.sweeps().empty
        assert len(store.scalars(1)) == 378
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 1


STORE_V2 = Path(__file__).parent / "data" / "store-v2.sqlite"  # written by rnnviz before name ids (schema 2)


def _scalars_as_written(path: Path) -> list[tuple]:
    """Every scalar row of an old store, read with plain SQL: (run, step, name, value)."""
    conn = sqlite3.connect(path)
    try:
        return sorted(conn.execute("SELECT run_id, step, name, value FROM scalars").fetchall())
    finally:
        conn.close()


@pytest.mark.parametrize("fixture", [STORE_V1, STORE_V2], ids=["schema-1", "schema-2"])
def test_an_old_store_is_upgraded_to_name_ids_and_levels_with_every_scalar_equal(fixture, tmp_path):
    from .test_levels import assert_levels_match

    path = tmp_path / "old.sqlite"
    shutil.copy(fixture, path)
    written = _scalars_as_written(path)
    with Store(path) as store:
        assert store.version == SCHEMA_VERSION == 3
        read = sorted((r, *row) for r in store.runs()["run_id"] for row in store.scalars(int(r)).itertuples(False))
        assert read == written  # every step, every name, every value bit for bit
        for run_id in {r for r, *_ in written}:
            record: dict[str, dict[int, float]] = {}
            for r, step, name, value in written:
                if r == run_id:
                    record.setdefault(name, {})[step] = np.nan if value is None else value
            assert_levels_match(store, run_id, record)
        by_step = store.conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'scalars_by_step'").fetchone()
        assert by_step == (0,)  # the old index went with its table


def test_an_upgrade_killed_halfway_leaves_the_old_store_as_it_was(tmp_path):
    path = tmp_path / "old.sqlite"
    shutil.copy(STORE_V2, path)
    before = _scalars_as_written(path)
    # the process dies inside the upgrade's transaction, after the scalars were copied and the old table dropped
    code = (
        "import os, signal; from rnnviz.store import Store, schema\n"
        "def die(*a):\n    os.kill(os.getpid(), signal.SIGKILL)\n"
        "schema.relevel = die\n"
        f"Store({str(path)!r})\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone() == (2,)
    conn.close()
    assert _scalars_as_written(path) == before
    with Store(path) as store:  # and the next open upgrades it
        assert store.version == 3 and len(store.scalars(1)) == sum(r[0] == 1 for r in before)


def test_a_read_only_store_of_schema_2_is_read_as_it_is(tmp_path):
    path = tmp_path / "old.sqlite"
    shutil.copy(STORE_V2, path)
    with Store(path, readonly=True) as store:
        assert store.version == 2 and "loss" in store.scalar_names(1)
        loss = store.scalars(1, ["loss"])
        view = store.scalar_view(1, "loss", points=10)
        assert view.width == 3 and view.n.sum() == len(loss) == 30 and view.max.max() == loss["value"].max()
        assert len(store.scalars(1, ["loss"], steps=(5, 9))) == 5
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 2
