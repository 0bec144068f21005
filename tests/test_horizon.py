"""The memory horizon: its set (cells x lengths x seeds), the counts of seeds that beat the task read back from
the store, the horizon and the findings it states, its chart, the command line's refusals and the pages."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest

from rnnviz import horizon, sweeps, tasks
from rnnviz.__main__ import main
from rnnviz.published import ADDING
from rnnviz.store import Status, Store
from rnnviz.trainer import train

from .bad_inputs import HORIZONS
from .test_app import open_page, values

TINY = horizon.HorizonSpec(lengths=(4, 6), variants=("rnn", "lstm", "orthogonal"), seeds=2, steps=3, hidden_size=4)


@pytest.fixture(scope="module")
def horizon_store(tmp_path_factory) -> Path:
    """TINY's set, trained here one run after another as Ray's workers would."""
    path = tmp_path_factory.mktemp("horizon") / "runs.sqlite"
    spec = TINY.sweep_spec()
    with Store(path) as store:
        sweep_id = store.create_sweep("memory horizon (test)", spec.to_json(), "ray", None)
        for cfg in spec.configs():
            train(cfg.replace(threads=1), store, run_id=store.create_run(cfg, Status.WAITING, sweep_id))
        store.finish_sweep(sweep_id, Status.FINISHED)
    return path


def test_a_horizon_set_runs_every_cell_at_every_length_and_seed_told_apart():
    spec = TINY.sweep_spec()
    cfgs = spec.configs()
    assert len(cfgs) == 3 * 2 * 2
    assert cfgs[0].name == "rnn (length 4, seed 0)" and cfgs[-1].name == "orthogonal (length 6, seed 1)"
    # the plain RNN's point says its init, so the orthogonal runs are not counted among its seeds
    points = spec.points()
    assert len({json.dumps(p, sort_keys=True) for p in points}) == len(points) == 6
    assert points[0]["init"] == "default" and points[-1]["init"] == "orthogonal"
    assert {c.cell for c in cfgs} == {"rnn", "lstm"} and {c.task for c in cfgs} == {"adding"}
    again = sweeps.SweepSpec.from_json(spec.to_json())
    assert again.variants == spec.variants and [c.name for c in again.configs()] == [c.name for c in cfgs]
    assert horizon.is_horizon(spec) and not horizon.is_horizon(sweeps.SweepSpec(spec.base, {"lr": [0.1]}))


def test_the_table_counts_the_seeds_that_beat_the_task_as_each_run_recorded_it(horizon_store):
    with Store(horizon_store) as store:
        sweep_id = int(store.sweeps()["sweep_id"].iloc[0])
        df = horizon.table(store, sweep_id)
        runs = store.runs().set_index("run_id")
        for _, row in df.iterrows():
            assert len(row["runs"]) == 2 and row["finished"] == 2
            losses = [float(store.scalars(r, ["test_loss"])["value"].iloc[-1]) for r in row["runs"]]
            names = [runs.loc[r, "name"] for r in row["runs"]]
            assert all(n.startswith(f"{row['variant']} (length {row['length']},") for n in names), names
            assert row["beat"] == sum(loss < tasks.ADDING_BASELINE / 2 for loss in losses)
            assert row["mean"] == pytest.approx(sum(losses) / 2) and row["min"] == pytest.approx(min(losses))
        # the set's own summary (the Sweeps page) splits the variants as well
        assert sweeps.summary(store, sweep_id)["variant"].tolist() == df["variant"].tolist()


def frame(beats: dict[int, tuple[int, int]], n: int = 3) -> pd.DataFrame:
    """One variant's rows: length -> (seeds finished, seeds that beat it)."""
    return pd.DataFrame(
        [
            {"variant": "v", "label": "a cell", "length": t, "runs": list(range(n)), "finished": f, "beat": b}
            for t, (f, b) in beats.items()
        ]  # fmt: skip
    )


@pytest.mark.parametrize(
    "beats, k, expected",
    [
        ({10: (3, 3), 20: (3, 2), 40: (3, 0)}, 2, 20),  # the longest length with 2 of 3
        ({10: (3, 3), 20: (3, 1), 40: (3, 3)}, 2, 10),  # a lucky longer length does not extend it
        ({10: (3, 3), 20: (3, 3)}, 3, 20),  # every length: at least the last one
        ({10: (3, 1), 20: (3, 0)}, 2, horizon.NOWHERE),  # not even the shortest
        ({0: (2, 2), 25: (2, 0)}, 2, 0),  # the delayed digit read at once, and no further
        ({10: (1, 0), 20: (0, 0)}, 2, None),  # the shortest can still reach 2 of 3: not known yet
        ({10: (3, 3), 20: (1, 1)}, 2, 10),  # so far
    ],
)
def test_the_horizon_is_the_longest_length_up_to_which_k_seeds_beat_it_everywhere(beats, k, expected):
    assert horizon.horizon(frame(beats), k) == expected


def test_the_findings_say_the_horizon_and_how_many_seeds_agree():
    spec = TINY.sweep_spec()
    rows = pd.concat(
        [
            frame({10: (3, 3), 20: (3, 2), 40: (3, 0)}).assign(variant="rnn", label="tanh RNN"),
            frame({10: (3, 3), 20: (3, 3), 40: (3, 3)}).assign(variant="lstm", label="LSTM"),
            frame({10: (3, 0), 20: (3, 0), 40: (3, 0)}).assign(variant="clip", label="clipped"),
        ]
    )
    said = horizon.findings(rows, dataclasses.replace(spec, seeds=3), 2)
    assert said[0].startswith("tanh RNN: beats the baseline (test MSE below half of predicting 1's 0.167) up to T = 20")
    assert "in at least 2 of 3 seeds (T = 10: 3 of 3, T = 20: 2 of 3, T = 40: 0 of 3)" in said[0]
    assert "at every length tried: its horizon exceeds T = 40" in said[1]
    assert said[2] == ("clipped: does not beat the baseline in 2 of 3 seeds at any length tried, not even T = 10 "
                       "(T = 10: 0 of 3, T = 20: 0 of 3, T = 40: 0 of 3).")  # fmt: skip


def test_while_seeds_still_train_the_findings_say_so_far_and_how_many_finished():
    """At 65 s the page said "LSTM ... up to T = 20: its memory horizon ... (T = 40: 0 of 3, T = 80: 0 of 3)"
    while T = 40 still trained; it ended at T = 40 (a fresh-eyes walk)."""
    spec = dataclasses.replace(TINY.sweep_spec(), seeds=3)
    rows = pd.concat(
        [
            frame({10: (3, 3), 20: (3, 3), 40: (1, 0), 80: (0, 0)}).assign(variant="lstm", label="LSTM"),
            frame({10: (3, 3), 20: (3, 0), 40: (0, 0)}).assign(variant="rnn", label="tanh RNN"),
        ]
    )
    said = horizon.findings(rows, spec, 2)
    assert said[0].startswith("LSTM: so far beats the baseline"), said[0]
    assert "(T = 10: 3 of 3, T = 20: 3 of 3, T = 40: 0 of 3 (1 finished), T = 80: 0 of 3 (0 finished))" in said[0]
    assert said[1].startswith("tanh RNN: beats the baseline") and "up to T = 10" in said[1]  # T = 20 settled it
    assert horizon.settled(frame({10: (3, 3), 20: (3, 2)}), 2)
    assert not horizon.settled(frame({10: (3, 3), 20: (2, 1)}), 2)


def test_the_chart_draws_each_cells_means_the_baseline_and_the_line_to_cross(horizon_store):
    with Store(horizon_store) as store:
        sweep_id = int(store.sweeps()["sweep_id"].iloc[0])
        df = horizon.table(store, sweep_id)
        fig = horizon.chart(store, sweep_id).to_plotly_json()
    means = [t for t in fig["data"] if t.get("mode") == "lines+markers+text"]
    assert [t["name"] for t in means] == [horizon.VARIANTS[v][0] for v in TINY.variants]
    for trace, (_, rows) in zip(means, df.groupby("variant", sort=False)):
        assert values(trace["x"]).tolist() == rows["length"].tolist()
        assert values(trace["y"]) == pytest.approx(rows["mean"].to_numpy())
        assert list(trace["text"]) == [f"{b}/2" for b in rows["beat"]]
        assert list(trace["customdata"]) == [",".join(map(str, r)) for r in rows["runs"]]
    levels = sorted(s["y0"] for s in fig["layout"]["shapes"])
    assert levels == pytest.approx([1 / 12, 1 / 6])
    published = [t for t in fig["data"] if t.get("mode") == "markers"]
    assert {tuple(values(t["x"]).tolist()) for t in published} == {(100, 200, 400, 750), (750,)}


@pytest.mark.parametrize("flags, message", HORIZONS, ids=[" ".join(c[0]) for c in HORIZONS])
def test_a_bad_horizon_gets_one_line_and_records_nothing(capsys, tmp_path, flags, message):
    store = tmp_path / "untouched.sqlite"
    assert main(["horizon", "--store", str(store), *flags]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("rnnviz:")]
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in err, err
    assert not store.exists() or Store(store).sweeps().empty


def test_a_horizon_recorded_beforehand_is_reused_without_training(horizon_store, capsys):
    with Store(horizon_store) as store:
        before = len(store.runs())
        sweep_id = horizon.run_and_wait(TINY, store, "again")
        assert sweep_id == int(store.sweeps()["sweep_id"].iloc[0]) and len(store.runs()) == before
    flags = ["--lengths", "4,6", "--cells", "rnn,lstm,orthogonal", "--seeds", "2", "--steps", "3", "--hidden-size", "4"]
    assert main(["horizon", "--store", str(horizon_store), *flags]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["sweep_id"] == sweep_id and out["task"] == "adding" and out["baseline"] == pytest.approx(1 / 6)
    assert [c["variant"] for c in out["cells"]] == ["rnn", "lstm", "orthogonal"]


def test_the_train_page_offers_the_horizon_and_draws_the_newest(horizon_store, tmp_path, monkeypatch):
    copy = tmp_path / "runs.sqlite"
    copy.write_bytes(horizon_store.read_bytes())
    monkeypatch.setenv("RNNVIZ_STORE", str(copy))
    at = open_page("train")
    assert not at.exception, at.exception
    assert any(b.label == "How long can it remember?" for b in at.button)
    text = " ".join(m.value for m in at.markdown)
    # 3 steps learn nothing: every cell is said to beat the baseline nowhere
    assert "memory horizon (test)" in text and "tanh RNN: does not beat the baseline in 2 of 2 seeds" in text
    # the published results a table of the page's width whose text wraps: in a dataframe beside the chart its
    # sources were cut at "sourc…" and "Arjov…" (a fresh-eyes walk)
    (published,) = at.table
    assert published.value.index.tolist() == [r.model for r in ADDING]
    assert published.value["source"].tolist() == [f"{r.source}; {r.budget}" for r in ADDING]
    at = open_page("sweeps")
    assert not at.exception, at.exception
    assert "tanh RNN, orthogonal W_hh: " in " ".join(m.value for m in at.markdown)


def test_each_seed_has_its_own_horizon_and_the_cells_are_compared_seed_by_seed():
    rnn = frame({10: (2, 2), 20: (2, 1), 40: (2, 0)}, n=2).assign(
        variant="rnn", seed_beat=[{0: True, 1: True}, {0: True, 1: False}, {0: False, 1: False}]
    )
    lstm = frame({10: (2, 2), 20: (2, 2), 40: (1, 1)}, n=2).assign(
        variant="lstm", seed_beat=[{0: True, 1: True}, {0: True, 1: True}, {0: True}]
    )
    assert horizon.seed_horizons(rnn) == {0: 20, 1: 10}
    assert horizon.seed_horizons(lstm) == {0: 40}  # seed 1 has not finished T = 40
    said = horizon.compared(pd.concat([rnn, lstm]), "rnn", "lstm")
    assert said == "The tanh RNN's horizon is below the LSTM (forget bias 1)'s in 1 of 1 seeds (seed 0: 20 vs 40)."


def test_one_click_starts_the_quick_horizon_in_the_background(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNVIZ_STORE", str(tmp_path / "runs.sqlite"))
    started = []

    def start_sweep(flags, store, command="sweep"):
        started.append((flags, Path(store.path), command))
        return tmp_path / "horizon.log"

    monkeypatch.setattr("rnnviz.runner.start_sweep", start_sweep)
    at = open_page("train")
    next(b for b in at.button if b.label == "How long can it remember?").click().run()
    assert not at.exception, at.exception
    assert started == [(["--quick"], tmp_path / "runs.sqlite", "horizon")]
    assert any("Starting the quick horizon on Ray" in s.value for s in at.success)
