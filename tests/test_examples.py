"""Every script in examples/ runs end to end (a few steps each) and records what its docstring promises."""

from __future__ import annotations

import runpy
import sys

import pytest

import rnnviz

from .conftest import ROOT

EXAMPLES = ROOT / "examples"


def run_example(name: str, store, monkeypatch, capsys, steps: int = 3) -> tuple[rnnviz.Run, str]:
    monkeypatch.syspath_prepend(str(EXAMPLES))  # the examples share first_sign.py
    monkeypatch.setattr(sys, "argv", [name, "--store", str(store), "--steps", str(steps)])
    runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name="__main__")
    run = rnnviz.open_run(store)
    assert run.status == "finished" and run.row["step"] == steps
    return run, capsys.readouterr().out


def test_stacked_lstm(tmp_path, monkeypatch, capsys):
    run, out = run_example("stacked_lstm", tmp_path / "s.sqlite", monkeypatch, capsys)
    assert run.streams() == [(0, "forward"), (1, "forward"), (2, "forward")]
    assert f"run {run.id}: ||dL/dh_1|| / ||dL/dh_T|| in layer 0" in out


def test_bidirectional_gru(tmp_path, monkeypatch, capsys):
    run, out = run_example("bidirectional_gru", tmp_path / "b.sqlite", monkeypatch, capsys)
    assert run.streams() == [(0, "forward"), (0, "backward"), (1, "forward"), (1, "backward")]
    assert out.count(f"run {run.id}, layer") == 4


def test_char_lm(tmp_path, monkeypatch, capsys):
    run, out = run_example("char_lm", tmp_path / "lm.sqlite", monkeypatch, capsys, steps=2)
    steps, last = run.gradient_flow(part="last")
    assert last.shape == (2, 64) and (last[-1] > 0).any()
    assert "||dL_T/dh_1|| / ||dL_T/dh_T||" in out


def test_custom_cell(tmp_path, monkeypatch, capsys):
    run, out = run_example("custom_cell", tmp_path / "c.sqlite", monkeypatch, capsys)
    assert run.config.cell == "custom" and {"jacobian_norm", "tanh_slope_c", "tanh_slope_g"} <= set(run.array_names())
    assert "||ds_T/ds_1||" in out


def test_lightning_callback(tmp_path, monkeypatch, capsys):
    pytest.importorskip("lightning")
    run, out = run_example("lightning_lstm", tmp_path / "l.sqlite", monkeypatch, capsys, steps=4)
    assert run.row["name"] == "FirstSign (Lightning)" and len(run.scalar("loss")[1]) == 4
    assert run.gradient_flow()[0].tolist() == [1, 4]  # the first step's probe and the weights it ended with
