"""Two readings on one screen agree, and each says whose it is: the numbers a page writes against the ones its
charts draw and the store holds, on the recorded run of every outcome (tests/outcomes.py) where they apply."""

from __future__ import annotations

import html
import re
import time
from pathlib import Path

import numpy as np
import pytest

from rnnviz import findings, words
from rnnviz.dashboard.shown import ShownRun
from rnnviz.store import Store

from . import watching
from .apptest import figures, open_page, values
from .browser import chromium, data_root, streamlit_server
from .conftest import MNIST_DIR
from .outcomes import BY_OUTCOME, OUTCOMES, writable_copy
from .test_train_page import needs_chromium

NOTE = re.compile(
    r"Its chart draws one probe, step ([\d,]+), where \|\|dL/dh_1\|\| / \|\|dL/dh_T\|\| \(.+?\) is (.+?)"
    r"(?: and (\|\|.+?\|\|) (.+?))?; the reading's (.+?) (?:is the median|are the medians) of the "
    r"(\d+) probes of steps ([\d,]+) to ([\d,]+)\."
)


def drawn_at_t1(fig: dict, name: str) -> float | None:
    """A line of a chart at t = 1 as the chart draws it: an exact 0 is marked at the axis's floor, read as 0."""
    trace = next((t for t in fig["data"] if t.get("name", "").startswith(name) and t.get("mode") == "lines"), None)
    if trace is None:
        return None
    y = float(values(trace["y"])[0])
    return 0.0 if y <= 10.0 ** fig["layout"]["yaxis"]["range"][0] * (1 + 1e-6) else y


def shown_runs(path: Path, until: int | None = None) -> list[ShownRun]:
    """Every recorded run as the dashboard shows it, cut at the step scrubbed to."""
    with Store(path) as store:
        table = store.runs().set_index("run_id", drop=False).sort_index()
    return [ShownRun(str(path), row, until=until) for _, row in table.iterrows()]


def opened(page: str, scrub: int | None, tmp_path, monkeypatch):
    """The page with every recorded outcome picked, scrubbed to `scrub` (None: at the end): the runs and the page."""
    path = writable_copy(tmp_path)
    monkeypatch.setenv("RNNVIZ_STORE", str(path))
    runs = shown_runs(path, scrub)
    at = open_page(page)
    at.session_state["selected_runs"] = [r.id for r in runs]
    at.run()
    if scrub is not None:
        at.slider(key="scrub").set_value(scrub).run()
    assert not at.exception, at.exception
    return runs, at


@pytest.mark.parametrize("scrub", [None, 2500])
def test_the_why_reading_quotes_the_probe_its_chart_draws_beside_the_median(scrub, tmp_path, monkeypatch):
    """Gradient flow, every outcome picked, at the end and scrubbed to step 2,500 (where the blog RNN's text read
    3.8 × 10⁻⁴ over 1.9 × 10⁻² on its chart): each reading names its chart's probe and the numbers that chart
    draws at t = 1 there, beside the medians it quotes and the steps of the probes they are the medians of."""
    runs, at = opened("gradient_flow", scrub, tmp_path, monkeypatch)
    assert len(runs) == len(OUTCOMES)
    titled = [(str(f["layout"].get("title", {}).get("text", "")), f) for f in figures(at)]
    charts = {title.split(": Jacobians")[0]: f for title, f in titled if ": Jacobians" in title}
    texts = [m.value for m in at.markdown]
    differ = 0
    for run in runs:
        reading = next(t for t in texts if t.startswith(f"**{run.label}**"))
        note = NOTE.search(reading)
        assert note, reading
        step, ratio, symbol, chain, medians, probes, since, last = note.groups()
        fig = charts[run.label]
        assert f"(step {step})" in fig["layout"]["title"]["text"], (reading, fig["layout"]["title"]["text"])
        assert ratio == words.ratio(drawn_at_t1(fig, "||dL/dh_t|| / ||dL/dh_T||")), (run.label, reading)
        if symbol is not None:  # the chain of Jacobians, drawn against t as ||dh_T/dh_t||₂
            assert chain == words.ratio(drawn_at_t1(fig, symbol.replace("_1", "_t") + "₂")), (run.label, reading)
        measured = findings.reach(run)
        assert medians.split(" and ")[0] == words.ratio(measured.ratio), (run.label, reading)
        assert (int(probes), since, last) == (measured.probes, f"{measured.since:,}", step), (run.label, reading)
        differ += medians.split(" and ")[0] != ratio
    assert differ >= 2, differ  # what the note is there for: medians and a probe that read differently


@pytest.fixture
def pair(tmp_path, monkeypatch) -> list[ShownRun]:
    """The blog RNN that collapsed and the LSTM, picked together on a copy of the recorded outcomes."""
    path = writable_copy(tmp_path)
    monkeypatch.setenv("RNNVIZ_STORE", str(path))
    runs = {r.id: r for r in shown_runs(path)}
    return [runs[int(BY_OUTCOME[o]["run_id"])] for o in ("rnn-collapsed", "lstm")]


def test_each_global_norm_chart_says_whose_it_is_and_draws_that_run(pair):
    at = open_page("gradient_flow")
    at.session_state["selected_runs"] = [r.id for r in pair]
    at.run()
    assert not at.exception, at.exception
    charts = [f for f in figures(at) if "global gradient norm" in str(f["layout"]["title"]["text"]).lower()]
    assert len(charts) == 2, [f["layout"]["title"]["text"] for f in charts]
    for run, fig in zip(pair, charts, strict=True):
        assert fig["layout"]["title"]["text"] == f"{run.label}: global gradient norm"
        assert fig["layout"]["yaxis"]["title"]["text"] == "||g|| before clipping"
        line = next(t for t in fig["data"] if t.get("mode") == "lines")
        steps, norm = run.scalar("grad_norm/global")
        drawn_x, drawn_y = values(line["x"]), values(line["y"])
        assert len(drawn_x) and np.isin(drawn_x, steps).all()  # the run's own steps and numbers, not the other's
        np.testing.assert_allclose(drawn_y, norm[np.searchsorted(steps, drawn_x)], rtol=1e-6)


ANSWER = re.compile(r"(\d) \(([\d.]+%)\)")


def test_the_inspector_writes_its_answer_one_way_in_its_verdict_and_its_chart(full_store):
    """The verdict above and the probabilities chart's title at the last step say one answer, written alike
    ('7 (13.3%)' over '7, 13%'), and it is the chart's own highest line there; moved to another step, the
    title follows the chart at that step."""
    at = open_page("inspector")
    assert not at.exception, at.exception
    verdict = ANSWER.search(at.markdown[0].value.split("model answers")[1])
    assert verdict, at.markdown[0].value
    for t in (None, 5):
        if t is not None:
            at.slider(key="insp-t-28").set_value(t).run()
        chart = next(f for f in figures(at) if f["layout"]["title"]["text"].startswith("Class probabilities"))
        title = chart["layout"]["title"]["text"]
        said = ANSWER.search(title.split(f"after step {t or 28}: ")[1])
        assert said, title
        drawn = np.array([values(tr["y"])[(t or 28) - 1] for tr in chart["data"]])
        assert said.groups() == (str(int(drawn.argmax())), words.percent(float(drawn.max()))), title
        if t is None:
            assert said.groups() == verdict.groups(), (at.markdown[0].value, title)


PROBE = re.compile(r"([\d.]+%) of hidden activations saturated \(\|h\| > [\d.]+\)( at the probe of step ([\d,]+))?")


@pytest.mark.parametrize("scrub", [None, 4500, 200])
def test_the_overview_names_the_probe_of_every_run_s_share_or_of_none(scrub, tmp_path, monkeypatch):
    """Every outcome picked, the Overview's readings name the probe each saturated share is of for every run or
    for none: at step 4,500 run 1 had a probe there and the others last at 4,200 (and at 200 run 4 alone had
    one), and only those others said 'at the probe of step 4,200'. The share and step said are the probe's."""
    runs, at = opened("overview", scrub, tmp_path, monkeypatch)
    texts = [m.value for m in at.markdown]
    named = set()
    for run in runs:
        reading = next(t for t in texts if t.startswith(f"**{run.label}**"))
        said = PROBE.search(reading)
        assert said, reading
        share, step = findings.saturated_at(run)
        assert said[1] == words.percent(share), reading
        named.add(said[3])
        assert said[3] is None or said[3] == f"{step:,}", reading
    # finished, no run's probe trails its step; at a step scrubbed to, some do: then every run names its probe
    assert named == {None} if scrub is None else None not in named, named


def test_the_report_quotes_the_probe_each_why_chart_draws(tmp_path):
    """The report draws each run's Why chart at its latest probe, as the page does: its readings name that
    probe and its numbers after the medians, in the words of the page."""
    from rnnviz.api import Run
    from rnnviz.report import html_report, report_figures

    with Store(writable_copy(tmp_path)) as store:
        runs = [Run(store, int(i)) for i in sorted(store.runs()["run_id"])]
        page = html.unescape(html_report(runs))
        charts = {title: fig for title, fig in report_figures(runs)}
        for run in runs:
            note = findings.chart_note(run)
            assert note and note in page, run.label
            step = NOTE.search(note)[1]
            assert any(f"{run.label}: Jacobians" in f.layout.title.text and f"(step {step})" in f.layout.title.text
                       for f in charts.values()), run.label  # fmt: skip


READ_WHY = """() => {
  const c = document.getElementById('chart');
  if (!c || !c._fullLayout || !c._fullData) return null;
  const title = (c._fullLayout.title && c._fullLayout.title.text) || '';
  const line = c._fullData.find((t) => t.name === '||dL/dh_t|| / ||dL/dh_T||' && t.mode === 'lines');
  return line ? {title: title, y: Number(line.y[0]), floor: c._fullLayout.yaxis.range[0]} : null;
}"""


@needs_chromium
def test_in_a_browser_the_why_note_quotes_what_its_chart_draws(tmp_path):
    """The blog RNN that collapsed and the LSTM in real Chromium: the probe and ratio each reading quotes are the
    step in its chart's title and the ratio Plotly draws there at t = 1."""
    path = writable_copy(tmp_path)
    ids = [int(BY_OUTCOME[o]["run_id"]) for o in ("rnn-collapsed", "lstm")]
    labels = {r.id: r.label for r in shown_runs(path)}
    with streamlit_server(path, data_root(tmp_path, MNIST_DIR)) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1440, "height": 4000})
        page.goto(f"{url}/gradient_flow?runs={','.join(map(str, ids))}")
        deadline, drawn, notes = time.monotonic() + 60, {}, {}
        while len(drawn) < 2 or len(notes) < 2:
            assert time.monotonic() < deadline, (drawn, notes)
            time.sleep(0.5)
            text = watching.texts(page, "stMain")
            notes = {
                i: m
                for line in text.splitlines()
                for i in ids
                if line.startswith(f"{labels[i]}:") and (m := NOTE.search(line))
            }
            for handle in page.locator(watching.CHART_IFRAME).element_handles():
                frame = handle.content_frame()
                got = frame.evaluate(READ_WHY) if frame else None
                for i in ids:
                    if got and got["title"].startswith(f"{labels[i]}: Jacobians"):
                        drawn[i] = got
        for i in ids:
            step, ratio = notes[i][1], notes[i][2]
            assert f"(step {step})" in drawn[i]["title"], (notes[i][0], drawn[i])
            y = 0.0 if drawn[i]["y"] <= 10.0 ** drawn[i]["floor"] * (1 + 1e-6) else drawn[i]["y"]
            assert ratio == words.ratio(y), (notes[i][0], drawn[i])
