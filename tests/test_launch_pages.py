"""The pages that launch runs, Remedies and Sweeps: what they launch and how they draw it, over seeds; and the
shape of the pages (a main() that its file calls only when Streamlit runs it)."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import sqlite3

import numpy as np
import pytest

from rnnviz import runner
from rnnviz.config import REMEDIES, preset
from rnnviz.store import Store

from .apptest import figures, open_page, values
from .browser import data_root
from .conftest import MNIST_DIR, ROOT, quick_config


@pytest.mark.parametrize("page", sorted(p.stem for p in (ROOT / "rnnviz" / "dashboard" / "pages").glob("[!_]*.py")))
def test_a_page_is_a_main_and_its_top_level_only_defines(page):
    """A page's code runs in main(), which the file calls only when st.navigation runs it (as __main__): its
    top level holds imports, constants computed without Streamlit, functions and classes, so no code there
    reads a global a widget set, and a test may import it."""
    tree = ast.parse((ROOT / "rnnviz" / "dashboard" / "pages" / f"{page}.py").read_text())
    *body, last = tree.body[1:]  # after the module's docstring
    assert ast.unparse(last) == "if __name__ == '__main__':\n    main()"
    defined = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign)
    assert [ast.unparse(node)[:60] for node in body if not isinstance(node, defined)] == []
    streamlit_calls = [
        ast.unparse(call)[:60]
        for node in body
        if isinstance(node, (ast.Assign, ast.AnnAssign))
        for call in ast.walk(node)
        if isinstance(call, ast.Attribute) and isinstance(call.value, ast.Name) and call.value.id == "st"
    ]
    assert streamlit_calls == []
    assert any(isinstance(node, ast.FunctionDef) and node.name == "main" for node in body)


def test_remedies_page_shows_the_set_side_by_side(remedies_store, monkeypatch):
    monkeypatch.setenv("RNNVIZ_STORE", str(remedies_store))
    at = open_page("remedies")
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    with Store(remedies_store) as store:
        runs = store.runs().set_index("name")
        clipped = store.scalars(int(runs.loc["remedies-clip", "run_id"]), ["clipped"])["value"].mean()
    assert table["run"].str.split(" · ").str[1].tolist() == [name for name, _, _ in REMEDIES]
    np.testing.assert_allclose(table["test"], 100 * runs.loc[[n for n, _, _ in REMEDIES], "test_accuracy"])
    # only the clipping run clips; it says how often, where it says what it changes
    assert table["what changes"].str.contains("% of steps").tolist() == [n == "remedies-clip" for n, _, _ in REMEDIES]
    assert f"gradient clipping at 0.5 ({100 * clipped:.1f}% of steps)" in table["what changes"].tolist()
    columns = json.loads(at.dataframe[0].proto.columns)  # the run names whole (~6.2 px a character), pinned
    assert columns["run"]["pinned"] and columns["run"]["width"] >= 6.2 * table["run"].str.len().max()
    assert columns["what changes"]["width"] >= 6.2 * table["what changes"].str.len().max()
    acc, sat, flow = figures(at)
    curves = [t for t in flow["data"] if t["mode"] == "lines"]  # not the marks of a gradient that reached 0
    assert len(acc["data"]) == len(sat["data"]) == len(curves) == len(REMEDIES)
    next(b for b in at.button if b.label == "Pick these runs in the sidebar").click().run()
    assert sorted(at.session_state["selected_runs"]) == sorted(runs["run_id"])


def test_remedies_page_speaks_plain_words_not_settings_or_commands(remedies_store, monkeypatch):
    monkeypatch.setenv("RNNVIZ_STORE", str(remedies_store))
    at = open_page("remedies")
    said = [c.value for c in at.main.caption] + [i.value for i in at.main.info]
    assert said and not [text for text in said if re.search(r"\$[A-Z_]|RNNVIZ_|python -m|`", text)], said
    assert any("RNNVIZ_MAX_ACTIVE_RUNS" in (c.help or "") for c in at.main.caption)  # the details: in a tooltip


def test_remedies_button_launches_the_set_under_the_cap(empty_store, tmp_path, monkeypatch):
    monkeypatch.setenv("RNNVIZ_DATA_DIR", str(data_root(tmp_path, MNIST_DIR)))
    monkeypatch.setenv("RNNVIZ_MAX_ACTIVE_RUNS", "2")
    spawned: list[int] = []
    monkeypatch.setattr(runner, "_spawn", lambda store, run_id, *extra: spawned.append(run_id))
    at = open_page("remedies")
    next(b for b in at.button if b.label.startswith("Launch the remedies set")).click().run()
    assert not at.exception, at.exception
    with Store(os.environ["RNNVIZ_STORE"]) as store:
        runs = store.runs().sort_values("run_id")
    assert runs["status"].tolist() == ["queued"] * 2 + ["waiting"] * 5 and spawned == runs["run_id"].tolist()[:2]
    assert sorted(at.session_state["selected_runs"]) == runs["run_id"].tolist()


def test_a_short_remedies_set_is_evaluated_ten_times_as_the_blogs_is(empty_store, tmp_path, monkeypatch):
    monkeypatch.setenv("RNNVIZ_DATA_DIR", str(data_root(tmp_path, MNIST_DIR)))
    monkeypatch.setattr(runner, "_spawn", lambda store, run_id, *extra: None)
    at = open_page("remedies")
    next(n for n in at.number_input if n.label == "Steps").set_value(300)
    next(b for b in at.button if b.label.startswith("Launch the remedies set")).click().run()
    assert not at.exception, at.exception
    with Store(os.environ["RNNVIZ_STORE"]) as store:
        configs = [json.loads(c) for c in store.runs()["config"]]
    assert len(configs) == len(REMEDIES) and {(c["steps"], c["eval_every"]) for c in configs} == {(300, 30)}


def test_remedies_set_launched_after_the_blog_pair_keeps_the_pairs_runs_and_colours(empty_store, tmp_path, monkeypatch):
    monkeypatch.setenv("RNNVIZ_DATA_DIR", str(data_root(tmp_path, MNIST_DIR)))
    monkeypatch.setattr(runner, "_spawn", lambda store, run_id, *extra: None)
    with Store(os.environ["RNNVIZ_STORE"]) as store:  # the Train page's pair: one finished, one still training
        pair = [store.create_run(preset("blog-rnn"), status="finished"), store.create_run(preset("blog-lstm"))]
        store.create_run(preset("blog-rnn", seed=1), status="finished")  # other settings: not the set's
    at = open_page("remedies")
    next(b for b in at.button if b.label.startswith("Launch the remedies set")).click().run()
    assert not at.exception, at.exception
    picked = at.session_state["selected_runs"]
    assert picked[0] == pair[0] and picked[-1] == pair[1] and len(set(picked)) == len(REMEDIES)
    assert set(picked[1:-1]).isdisjoint({1, 2, 3})  # only the remedies themselves are new runs
    assert "1 · blog-rnn" in at.info[0].value and "2 · blog-lstm" in at.info[0].value
    table = at.dataframe[0].value
    assert table["run"].iloc[0] == "1 · blog-rnn" and table["run"].iloc[-1] == "2 · blog-lstm"


def last_validation(path, run_ids) -> np.ndarray:
    """Each run's last validation accuracy, the end of its curve during training."""
    with Store(path) as store:
        return np.array([store.scalars(int(r), ["validation_accuracy"])["value"].iloc[-1] for r in run_ids])


def test_the_sweeps_page_maps_the_mean_over_seeds_and_draws_each_group_with_its_band(sweep_store, monkeypatch):
    monkeypatch.setenv("RNNVIZ_STORE", str(sweep_store))
    at = open_page("sweeps")
    assert not at.exception, at.exception
    with Store(sweep_store) as store:
        runs = store.runs().sort_values("run_id")
    acc = runs["test_accuracy"].to_numpy().reshape(4, 2)  # grid points in order, 2 seeds each
    maps = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    accuracy = next(m for m in maps if m["layout"]["title"]["text"].startswith("Final test accuracy"))
    heat = next(t for t in accuracy["data"] if t["type"] == "heatmap" and "colorbar" in t)
    z = values(heat["z"]).reshape(len(heat["y"]), len(heat["x"]))
    shown = {(x, y): z[i, j] for i, y in enumerate(heat["y"]) for j, x in enumerate(heat["x"])}
    expected = {("0.001", "8"): acc[0], ("0.001", "16"): acc[1], ("0.01", "8"): acc[2], ("0.01", "16"): acc[3]}
    assert shown.keys() == expected.keys()
    for point, seeds in expected.items():
        assert shown[point] == pytest.approx(seeds.mean())
    bands = figures(at)[0]  # validation accuracy of each group: band edges (2 traces), then the mean
    assert bands["layout"]["title"]["text"].startswith("Validation accuracy")
    val = last_validation(sweep_store, runs["run_id"]).reshape(4, 2)
    means = [t for t in bands["data"] if t.get("showlegend") is not False]
    assert len(means) == 4 and all("2 seeds, min to max" in t["name"] for t in means)
    assert values(means[0]["y"])[-1] == pytest.approx(val[0].mean(), rel=1e-6)
    assert values(bands["data"][0]["y"])[-1] == pytest.approx(val[0].min(), rel=1e-6)
    assert values(bands["data"][1]["y"])[-1] == pytest.approx(val[0].max(), rel=1e-6)
    table = at.dataframe[0].value
    assert table["seeds agree"].str.contains(r" in \d of 2 seeds").all()
    next(b for b in at.button if b.label.startswith("Pick every run")).click().run()
    assert sorted(at.session_state["selected_runs"]) == sorted(runs["run_id"])


@pytest.mark.parametrize("page, switch", [("compare", "cmp-grouped"), ("overview", "ov-grouped")])
def test_compare_and_overview_group_runs_over_seeds_into_a_mean_with_a_band(sweep_store, monkeypatch, page, switch):
    monkeypatch.setenv("RNNVIZ_STORE", str(sweep_store))
    at = open_page(page)
    with Store(sweep_store) as store:
        runs = store.runs().sort_values("run_id")
    at.session_state["selected_runs"] = runs["run_id"].tolist()[:4]  # two grid points, two seeds each
    at.run()
    assert len([t for t in figures(at)[0]["data"]]) >= 4  # one line a run (on each of Overview's panels)
    at.toggle(key=switch).set_value(True).run()
    assert not at.exception, at.exception
    accuracy = next(f for f in figures(at) if f["layout"]["title"]["text"].startswith("Validation accuracy"))
    means = [t for t in accuracy["data"] if t.get("showlegend") is not False]
    assert len(means) == 2 and len(accuracy["data"]) == 6  # a mean and two band edges per group
    first = last_validation(sweep_store, runs["run_id"].tolist()[:2])
    assert values(means[0]["y"])[-1] == pytest.approx(first.mean(), rel=1e-6)
    readings = [m.value for m in at.markdown if "of 2 seeds" in m.value]
    assert len(readings) == 2


def test_the_sweeps_page_starts_a_set_with_rnnviz_sweep_and_refuses_a_bad_grid(empty_store, tmp_path, monkeypatch):
    monkeypatch.setenv("RNNVIZ_DATA_DIR", str(data_root(tmp_path, MNIST_DIR)))
    started: list[list[str]] = []
    monkeypatch.setattr(runner, "start_sweep", lambda flags, store: started.append(flags) or tmp_path / "set.log")
    at = open_page("sweeps")
    start = lambda: next(b for b in at.button if b.label == "Start the sweep on Ray")  # noqa: E731
    at.text_input[0].set_value("lr=0.001,50")
    start().click().run()
    assert any("lr: must be at most 10" in e.value for e in at.error) and not started
    at.text_input[0].set_value("lr=0.001,0.01")
    at.text_input[1].set_value("chunk=28,14")
    start().click().run()
    assert not at.exception, at.exception
    assert started == [["--preset", "quick-rnn", "--steps", "1200", "--seeds", "3", "--grid", "lr=0.001,0.01",
                        "--grid", "chunk=28,14"]]  # fmt: skip
    assert any("Starting 12 runs on Ray" in i.value for i in at.info)


def test_a_set_started_on_the_sweeps_page_appears_there_by_itself(empty_store, tmp_path, monkeypatch):
    """The set reaches the store seconds after the click (Ray starts first); the page looks for it every second
    and picks it, so that it follows its runs live, with no reload."""
    from rnnviz import sweeps

    monkeypatch.setenv("RNNVIZ_DATA_DIR", str(data_root(tmp_path, MNIST_DIR)))
    spec = sweeps.SweepSpec(quick_config(cell="rnn"), {"lr": [0.001, 0.01]}, 2)
    monkeypatch.setattr(runner, "start_sweep", lambda flags, store: tmp_path / "set.log")
    at = open_page("sweeps")
    next(b for b in at.button if b.label == "Start the sweep on Ray").click().run()
    assert any("the sweep appears here in a few seconds" in i.value for i in at.info)
    with Store(os.environ["RNNVIZ_STORE"]) as store:  # Ray has started: `rnnviz sweep` records the set
        sweep_id = store.create_sweep("the sweep just started", spec.to_json(), "ray", "127.0.0.1:6379")
    at.run()  # the page's next look, a second later
    assert not at.exception, at.exception
    assert at.selectbox(key="sweep-picked").value == sweep_id
    assert any("**the sweep just started**: running" in m.value for m in at.markdown)
    assert not any("appears here" in i.value for i in at.info)


def test_a_blog_pair_stopped_halfway_does_not_stand_for_the_blog_beside_the_remedies(
    remedies_store, tmp_path, monkeypatch
):
    """A pair trained again and stopped halfway (newer than the set's own pair) is not the one the Remedies page
    shows as "nothing: the blog's tanh RNN"; the set's whole pair is."""
    path = tmp_path / "stopped.sqlite"
    shutil.copy(remedies_store, path)
    with Store(path) as store:
        runs = store.runs().set_index("name")
        own = int(runs.loc["blog-rnn", "run_id"])
    with sqlite3.connect(path) as c:
        columns = [r[1] for r in c.execute("PRAGMA table_info(runs)") if r[1] != "id"]
        c.execute(f"INSERT INTO runs ({', '.join(columns)}) SELECT {', '.join(columns)} FROM runs WHERE id = ?", (own,))
        c.execute("UPDATE runs SET status = 'stopped', step = step / 2 WHERE id = (SELECT MAX(id) FROM runs)")
    monkeypatch.setenv("RNNVIZ_STORE", str(path))
    at = open_page("remedies")
    assert not at.exception, at.exception
    shown = at.dataframe[0].value["run"].tolist()
    assert f"{own} · blog-rnn" in shown and len(shown) == len(REMEDIES)
