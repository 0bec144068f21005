"""One source for each claim: every reading of every outcome's run (the sentences under the charts, the report,
the tables, the command line) says what the same measured quantities say, and no two say opposite things.

The outcomes are short real runs made here (a gradient that underflowed to 0, one that vanished, one mostly lost,
one that flows back, an LSTM, a GRU, and two loops recorded with rnnviz.watch: an LSTM whose forget-gate product
is small while its gradient still flows back, the case where Overview and Gradient flow once disagreed, and an
RNN whose loop records no accuracy and no length)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import rnnviz
from rnnviz import findings, views, words
from rnnviz.__main__ import main
from rnnviz.api import Run
from rnnviz.report import html_report
from rnnviz.store import Store
from rnnviz.trainer import train

from .conftest import quick_config
from .outcomes import MANIFEST, outcome_run, outcome_store, writable_copy
from .test_app import open_page, values

# What each level of the gradient's verdict may be called anywhere; a phrase of one level in a reading of a run
# measured at another is a contradiction (the second phrase of FADING is what Gradient flow said before).
PHRASES = {
    findings.UNDERFLOWED: ("underflowed to 0",),
    findings.GONE: ("has vanished",),
    findings.FADING: ("most of it is lost", "most of the gradient is lost"),
    findings.FLOWS: ("still flows back", "still spans"),
    findings.GROWS: ("grows on the way back",),
}
# each outcome: (name, settings of a short run); lr 1e-5 keeps the recurrent weights at their scale sigma_w
TRAINED = (
    ("underflowed", dict(cell="rnn", sigma_w=0.05, lr=1e-5, steps=10)),
    ("vanished", dict(cell="rnn", sigma_w=0.3, lr=1e-5, steps=10)),
    ("fading", dict(cell="rnn", sigma_w=0.8, lr=1e-5, steps=10)),
    ("rnn", dict(cell="rnn", steps=20)),
    ("lstm", dict(cell="lstm", steps=20)),
    ("gru", dict(cell="gru", steps=20, jacobian_examples=0)),  # a run that did not record its Jacobians
)


def watched(store: Store, cell: str, T: int, accuracy: bool, steps: int = 10) -> int:
    """A loop of our own on random sequences of T steps, recorded with rnnviz.watch and no total_steps."""
    torch.manual_seed(0)
    module = {"lstm": torch.nn.LSTM, "rnn": torch.nn.RNN}[cell]
    rnn, head = module(28, 64, batch_first=True), torch.nn.Linear(64, 10)
    x, y = torch.randn(32, T, 28), torch.randint(0, 10, (32,))
    opt = torch.optim.Adam([*rnn.parameters(), *head.parameters()], 0.01)
    with rnnviz.watch(rnn, head, (x, y), store=store, name=f"watched {cell}", probe_every=5) as w:
        for _ in range(steps):
            logits = head(rnn(x)[0][:, -1])
            loss = torch.nn.functional.cross_entropy(logits, y)
            opt.zero_grad()
            loss.backward()
            extra = {"accuracy": float((logits.argmax(1) == y).float().mean())} if accuracy else {}
            w.step(loss, **extra)
            opt.step()
    return w.run_id


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("outcomes") / "runs.sqlite"
    with Store(path) as store:
        for name, changes in TRAINED:
            assert train(quick_config(name=name, **changes), store).status == "finished"
        # forget-gate product < 0.01, ratio ~0.05 (the medians of its last 5 probes, as the readings take them)
        watched(store, "lstm", 14, accuracy=True, steps=20)
        watched(store, "rnn", 28, accuracy=False)
    return path


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    """The recorded blog runs of every outcome (tests/data/outcomes/), in a copy the dashboard may open."""
    return writable_copy(tmp_path_factory.mktemp("recorded"))


@pytest.fixture(params=["made", "recorded"])
def outcomes(request) -> Path:
    """Each store of outcomes: the short runs made here, and the recorded 5,000-step blog runs."""
    return request.getfixturevalue(request.param)


def levels_said(text: str) -> set[str]:
    """The verdict levels a text states about the gradient reaching t = 1."""
    return {lvl for lvl, phrases in PHRASES.items() if any(p in text for p in phrases)}


def about(text: str, label: str) -> str:
    """The part of a reading about one run (a gated run's reading names the RNNs beside it after 'against')."""
    return text.split(" (against ")[0] if text.startswith(f"**{label}**") else ""


def chart_level(run: Run) -> str:
    """The level of the ratio that the ||dL/dh_t|| curve draws at its latest probe (its own data)."""
    fig = views.gradient_curve([run])
    y = np.asarray(fig.data[0].y, dtype=float)
    # an exact 0 is drawn at the floor of the axis (figures.lines marks it there), so read as 0
    floor = 10.0 ** fig.layout.yaxis.range[0] if fig.layout.yaxis.range else 0.0
    return findings.level(float(y[0] / y[-1]) if y[0] > floor * (1 + 1e-6) else 0.0)


def test_the_outcomes_cover_every_verdict(made, recorded):
    def levels(path: Path) -> set[str]:
        with Store(path) as store:
            return {findings.reach(Run(store, int(i))).level for i in store.runs()["run_id"]}

    assert levels(made) >= {findings.UNDERFLOWED, findings.GONE, findings.FADING, findings.FLOWS}
    assert levels(recorded) >= {findings.UNDERFLOWED, findings.FLOWS}  # the blog RNN that underflowed, the LSTM


def test_every_reading_of_every_run_says_what_its_numbers_say(outcomes, tmp_path, capsys):
    """Overview's reading, Gradient flow's Why, the report's readings, the ratio the chart draws, the saturated
    share and the test accuracy in the Compare table, the report and `rnnviz runs`: one claim each, per run."""
    with Store(outcomes) as store:
        runs = [Run(store, int(i)) for i in store.runs()["run_id"]]
        report = html_report(runs)
        for run in runs:
            measured = findings.reach(run)
            assert measured is not None
            readings = [findings.of(run), findings.why_reading(run, runs) or ""]
            readings += [re.sub(r"</?b>", "**", li) for li in re.findall(r"<li>(.*?)</li>", report)]
            readings = [about(t.replace("&#x27;", "'"), run.label) for t in readings]
            for text in readings:
                assert levels_said(text) <= {measured.level}, (run.label, measured, text)
                for said in re.findall(r"reaching t = 1 is (.+?) times", text):
                    assert said == words.ratio(measured.ratio), (run.label, text)
                for said in re.findall(r"([\d.]+%) of hidden activations saturated", text):
                    assert said == words.percent(findings.saturated(run)), (run.label, text)
            assert any(levels_said(t) for t in readings), run.label  # the verdict is said, at least once
            # the verdict is the median of the last 5 probes' ratios (one probe batch to the next they move by
            # decades), read here from the store's own records, and every reading says so
            steps, flow = store.series(run.id, "grad_h")
            ratios = [a / b for a, b in zip(flow[-5:, 0], flow[-5:, -1], strict=True)]
            assert measured.ratio == sorted(ratios)[(len(ratios) - 1) // 2] and measured.probes == len(ratios)
            for text in readings:
                if levels_said(text):
                    assert f"(median of the last {len(ratios)} probes)" in text, (run.label, text)
            # the curve draws the latest probe, which is its title's
            latest = findings.level(float(flow[-1, 0] / flow[-1, -1]))
            assert chart_level(run) in (
                {latest}
                if latest not in (findings.UNDERFLOWED, findings.GONE)
                else {findings.UNDERFLOWED, findings.GONE}  # the chart marks 0 at its floor
            ), run.label
        sats = {run.id: words.percent(findings.saturated(run)) for run in runs}
    assert main(["runs", "--store", str(outcomes)]) == 0
    table = capsys.readouterr().out.splitlines()[1:]
    assert len(table) == len(sats)
    for line in table:  # the command line's saturated share is the readings'
        assert sats[int(line.split()[0])] in line.split(), line


def test_the_known_contradiction_cannot_come_back(made):
    """A watched LSTM whose forget gates keep under 1% of the cell state while 5% of the gradient reaches
    t = 1: Gradient flow said 'most of the gradient is lost' above a chart flat at that ratio."""
    with Store(made) as store:
        lstm = next(Run(store, int(i)) for i, n in store.runs()[["run_id", "name"]].values if n == "watched lstm")
        measured = findings.reach(lstm)
        path = findings._recent(lstm, "forget_path_t1", measured)  # the median of the same probes as the ratio
        assert path is not None and path < findings.FADED and measured.level == findings.FLOWS
        assert levels_said(findings.why_reading(lstm)) == levels_said(findings.of(lstm)) == {findings.FLOWS}
        said = findings.why_reading(lstm)
        assert "T = 14" in said or "t = 14" in said  # the probe's own length


def page_texts(at) -> list[tuple[str, str]]:
    """(text, tooltip) of every reading, caption, message and table cell a page shows."""
    out = [(e.value, e.proto.help) for kind in ("markdown", "caption") for e in at.get(kind)]
    out += [(e.proto.body, "") for kind in ("info", "warning", "error", "success") for e in at.get(kind)]
    for frame in [*at.dataframe, *at.table]:
        df = frame.value
        config = json.loads(getattr(frame.proto, "columns", "") or "{}")  # a dataframe's headers and formats
        heads = [config.get(str(c), {}).get("label") or str(c) for c in df.columns]
        formats = [c.get("type_config", {}).get("format") for c in config.values()]
        out += [(" ".join(heads), ""), (" ".join(map(str, df.index)), "")]
        out += [(f"{fmt} format of a column: writes 97.0% as 97%", "") for fmt in formats if fmt == "percent"]
        out += [(str(v), "") for v in df.to_numpy().ravel()]
    return out


FIELDS = sorted({f for f in dir(rnnviz.config.RunConfig()) if "_" in f and not f.startswith("_")}
                | {"test_accuracy", "saturated_fraction", "total_steps", "grad_h_ratio"})  # fmt: skip


def bad_words(text: str, tooltip: str, names: list[str]) -> list[str]:
    """What a room should not read: raw field names, Python's scientific format, a symbol without its sentence,
    a share not written as a percentage with one decimal (a round threshold, 'below 20%', is a threshold)."""
    plain = re.sub(r"`[^`]*`|\]\([^)]*\)", "", text)  # code (a command, an argument) is code; links' addresses
    for name in names:  # a run's name is a name (remedies-lr, a set's "(lr 0.01, seed 1)"), not a reading
        plain = plain.replace(name, "")
    found = [f"field {f}" for f in FIELDS if re.search(rf"\b{f}\b", plain)]
    found += [f"format {m}" for m in re.findall(r"\d(?:\.\d+)?e[+-]\d+", plain)]
    found += [f"'lr' {m}" for m in re.findall(r"\blr\b[:=]?", plain)]
    found += [f"symbol {s}" for s, sentence in words.SYMBOLS.items() if s in plain and sentence not in text + tooltip]
    for m in re.finditer(r"(\S*?)(\d+(?:\.\d+)?)%", plain):
        before = plain[max(0, m.start() - 8) : m.start()]
        if not re.fullmatch(r"\d+\.\d", m.group(2)) and not re.search(r"(below|above|under|over) $", before):
            found.append(f"percent {m.group(0)}")
    return found


@pytest.mark.parametrize(
    "page, runs",
    [(p, "made") for p in ("train", "overview", "gradient_flow", "saturation", "gates", "compare", "inspector")]
    + [(p, "recorded") for p in ("overview", "gradient_flow", "saturation", "compare", "remedies")]
    + [("remedies", "remedies_store"), ("sweeps", "sweep_store"), ("compare", "sweep_store")],
)
def test_pages_speak_in_words_on_every_outcome(request, monkeypatch, page, runs):
    path = request.getfixturevalue(runs)
    monkeypatch.setenv("RNNVIZ_STORE", str(path))
    with Store(path) as store:
        ids, names = store.runs()["run_id"].astype(int).tolist(), sorted(store.runs()["name"], key=len)[::-1]
    at = open_page(page)
    at.session_state["selected_runs"] = ids
    at.run()
    assert not at.exception, at.exception
    texts = page_texts(at)
    assert texts
    bad = {(text[:90], b) for text, tip in texts for b in bad_words(text, tip, names)}
    assert not bad, "\n".join(map(str, sorted(bad)))
    if page == "overview" and runs == "made":  # a watched loop without total_steps: its step alone, never "of 1"
        lines = " ".join(t for t, _ in texts)
        assert re.search(r"watched lstm` finished, step 20\b(?! of)", lines), lines
    if page == "gradient_flow" and runs == "made":
        said = " ".join(t for t, _ in texts)
        assert "pass `jacobian_examples=1` to `rnnviz.watch(...)`" in said and "Train page" in said


def test_a_watched_loop_says_its_step_alone_and_draws_the_accuracy_it_was_given(tmp_path, monkeypatch):
    """Without total_steps the pages said "step 376 of 1" and "100%"; the batch accuracy passed to step() was not
    drawn, under "no evaluation yet" for ever."""
    from .test_app import figures

    path = tmp_path / "watched.sqlite"
    torch.manual_seed(0)
    rnn, head = torch.nn.RNN(28, 16, batch_first=True), torch.nn.Linear(16, 10)
    x, y = torch.randn(8, 28, 28), torch.randint(0, 10, (8,))
    w = rnnviz.watch(rnn, head, (x, y), store=str(path), name="my loop", probe_every=5)
    try:

        def written() -> int:
            with Store(path) as store:
                return int(store.runs()["step"].iloc[0])

        k = 0
        while written() < 10:  # until the loop's records reach the store (it writes them each second)
            loss = torch.nn.functional.cross_entropy(head(rnn(x)[0][:, -1]), y)
            loss.backward()
            w.step(loss, accuracy=k / (k + 10))
            k += 1
        monkeypatch.setenv("RNNVIZ_STORE", str(path))
        at = open_page("overview")
        at.session_state["selected_runs"] = [w.run_id]
        at.run()
        assert not at.exception, at.exception
        said = " ".join(m.value for m in [*at.markdown, *at.caption])
        with Store(path) as store:
            step = int(store.runs()["step"].iloc[0])  # as far as the loop's records have been written
            recorded = store.scalars(w.run_id, ["accuracy"])["value"].to_numpy()
        assert f"`1 · my loop` training, step {step}" in said and "of 1" not in said, said
        assert f"my loop: training, step {step}" in said and "100" not in said  # the sidebar's line
        panels = {a["text"] for a in figures(at)[0]["layout"]["annotations"]}
        assert any("batch accuracy" in p for p in panels) and not any("no evaluation" in p for p in panels), panels
        drawn = [values(t["y"]) for t in figures(at)[0]["data"] if t.get("yaxis") == "y2" and "y" in t]
        drawn = [y[~np.isnan(y)] for y in drawn if np.isfinite(y).any()]
        assert drawn, [
            (t.get("yaxis"), t.get("name"), values(t["y"]) if "y" in t else None) for t in figures(at)[0]["data"]
        ]
        assert np.isclose(drawn[0].max(), recorded.max()) and len(recorded) == step, drawn  # all it recorded
    finally:
        w.close()


def flow_of(ratios: list[float], T: int = 28) -> np.ndarray:
    """Probes whose gradient at t = T is 1 and at t = 1 each of `ratios`."""
    flow = np.ones((len(ratios), T))
    flow[:, 0] = ratios
    return flow


def test_the_gradient_verdict_holds_still_while_probe_batches_scatter_and_moves_with_the_trend():
    """One probe batch to the next the ratio scatters by decades: the blog RNN read 5.3 × 10⁻⁴ ("most of it is
    lost") and a second later 0.014 ("a small part still flows back"). Under a trend below 0.01 whose probes
    cross it every third, the verdict stays "most of it is lost" and says it is a median; when the trend falls
    below 10⁻⁶ it says "vanished" within 3 probes, and a spike back does not turn it."""
    low, high = [5.3e-4, 3.1e-3, 8.0e-4, 2.2e-3, 9.0e-4, 4.0e-3, 1.5e-3], [1.4e-2, 1.2e-2, 1.6e-2]
    fading = [low[0], high[0], low[1], low[2], high[1], low[3], low[4], high[2], low[5], low[6]]
    gone = [1e-7, 2e-8, 3e-8, 4e-2, 1e-9, 5e-8, 2e-2, 1e-8]
    ratios = fading + gone
    latest = [findings.level(r) for r in ratios]
    assert sum(a != b for a, b in zip(latest, latest[1:])) >= 8  # the latest probe alone flips, again and again
    said = [findings.gradient_reading(flow_of(ratios[:k])) for k in range(1, len(ratios) + 1)]
    said_levels = [levels_said(s) for s in said]
    assert all(s == {findings.FADING} for s in said_levels[: len(fading)]), said[: len(fading)]
    turned = said_levels[len(fading) :]
    assert turned[:2] == [{findings.FADING}] * 2 and all(s == {findings.GONE} for s in turned[2:]), said
    for k, text in enumerate(said, 1):
        assert f"(median of the last {min(k, 5)} probes)" in text if k > 1 else "median" not in text, text
    # the recorded blog RNN that learned (seed 4): its verdict turns less often than its latest probe's level
    with outcome_store() as store:
        flow = outcome_run("rnn-learned", store).series("grad_h")[1]
    medians = [findings.level(findings.gradient_ratio(flow[:k])) for k in range(1, len(flow) + 1)]
    each = [findings.level(float(f[0] / f[-1])) for f in flow]
    assert sum(map(str.__ne__, medians, medians[1:])) < sum(map(str.__ne__, each, each[1:])), (medians, each)


# What the Why reading of a vanilla RNN ends with at each verdict level: what its factors conclude.
CONCLUSIONS = {
    findings.FLOWS: ("across the 28 steps.",),
    findings.GROWS: ("step after step.",),
    findings.FADING: ("stops the gradient.", "the weights stop it."),
}
CONCLUSIONS[findings.GONE] = CONCLUSIONS[findings.UNDERFLOWED] = CONCLUSIONS[findings.FADING]


def test_an_rnn_s_why_reading_ends_with_what_its_numbers_conclude_at_every_probe(recorded):
    """Scrubbed to step 2,500, the blog RNN's Why ended "and the chain of Jacobians spans the 28 steps." with no
    conclusion. Every recorded RNN, cut at each of its probes: its reading ends with its factors' conclusion for
    the verdict it states, a gradient that flows back included."""
    from rnnviz.dashboard.shown import ShownRun

    with Store(recorded) as store:
        table = store.runs().set_index("run_id", drop=False)
        probes = {m["run_id"]: store.series(m["run_id"], "grad_h")[0] for m in MANIFEST if m["cell"] == "rnn"}
    seen = set()
    for run_id, steps in probes.items():
        for step in [*steps, 2500]:
            run = ShownRun(str(recorded), table.loc[run_id], until=int(step))
            measured, said = findings.reach(run), findings.why_reading(run)
            seen.add(measured.level)
            assert levels_said(said) == {measured.level}, said
            assert said.endswith(CONCLUSIONS[measured.level]), (run_id, step, said)
    assert findings.FLOWS in seen and findings.FADING in seen and findings.UNDERFLOWED in seen, seen
