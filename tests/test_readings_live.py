"""What the pages say while the blog pair trains (the LSTM at half the RNN's pace): readings that quote one kind
of accuracy for every run shown. On a short RNN and LSTM recorded here, cut where a live pair stands."""

from __future__ import annotations

import re

import pytest

from rnnviz import findings, words
from rnnviz.dashboard.shown import ShownRun
from rnnviz.store import Store
from rnnviz.trainer import train

from .conftest import quick_config


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> str:
    """A short RNN and LSTM recorded every step, evaluated on the validation split every 20 steps."""
    path = tmp_path_factory.mktemp("pair") / "runs.sqlite"
    with Store(path) as store:
        for cell in ("rnn", "lstm"):
            assert train(quick_config(name=f"live-{cell}", cell=cell, steps=50), store).status == "finished"
    return str(path)


def cut(path: str, run_id: int, step: int) -> ShownRun:
    """A recorded run as a page shows it at `step` (a live run that has got that far, or the scrubber's step)."""
    with Store(path, readonly=True) as store:
        table = store.runs().set_index("run_id", drop=False)
    return ShownRun(path, table.loc[run_id], until=step)


def batch_mean(path: str, run_id: int, last: int) -> float:
    """The mean recorded batch accuracy of steps last-49..last, read from the store itself."""
    with Store(path, readonly=True) as store:
        acc = store.scalars(run_id, ["accuracy"]).set_index("step")["value"]
    return float(acc.loc[last - 49 : last].mean())


ACCURACY = re.compile(r"(batch|validation|test) accuracy")


def quoted(reading: str) -> str:
    """The kind of accuracy a reading quotes first."""
    return ACCURACY.findall(reading)[0]


def test_a_live_pairs_readings_quote_the_same_accuracy_and_say_which(pair):
    """The RNN at step 30 has a validation point (step 20); the LSTM, at half its pace, none before step 20. Each
    reading then quotes its batch accuracy first (the mean over its last steps, as recorded), and only then the
    validation accuracy the RNN has and the LSTM does not yet: before, the RNN's reading quoted validation
    accuracy and the LSTM's its batch accuracy, side by side."""
    rnn, lstm = cut(pair, 1, 30), cut(pair, 2, 15)
    said = {r.id: findings.of(r, [rnn, lstm]) for r in (rnn, lstm)}
    assert {quoted(s) for s in said.values()} == {"batch"}, said
    for r, last in ((rnn, 30), (lstm, 15)):
        mean = words.percent(batch_mean(pair, r.id, last))
        assert f"batch accuracy {mean} (the mean of its last {last} training batches)" in said[r.id], said
    assert "no validation accuracy yet (evaluated every 20 steps)" in said[2]
    assert "validation accuracy" in said[1].split("batches)")[1], said[1]  # after the batch accuracy
    # once both have been evaluated, both quote their validation accuracy, and no batch accuracy
    rnn, lstm = cut(pair, 1, 40), cut(pair, 2, 20)
    said = {r.id: findings.of(r, [rnn, lstm]) for r in (rnn, lstm)}
    assert {quoted(s) for s in said.values()} == {"validation"}, said
    assert not any("batch" in s for s in said.values()) and "at step 20" in said[2], said


def test_a_run_read_alone_before_its_first_evaluation_says_when_it_comes(pair):
    reading = findings.of(cut(pair, 2, 10))
    assert quoted(reading) == "batch" and "no validation accuracy yet" in reading, reading
    assert quoted(findings.of(cut(pair, 1, 30))) == "validation"  # alone, with one: its validation accuracy
