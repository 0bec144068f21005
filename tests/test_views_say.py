"""What the flagship views say, read from the figures against the numbers, on the recorded run of every outcome
(tests/outcomes.py): the gradient heatmap paints a decay of 2 decades as a clearly different colour (whole run,
scrubbed, replayed, in a report), the saturation histogram writes its own share, and a run wears its role's
colour everywhere."""

from __future__ import annotations

import re

import numpy as np
import pytest

from rnnviz import figures, views
from rnnviz.api import runs as runs_table
from rnnviz.dashboard.shown import Replay
from rnnviz.report import report_figures

from .outcomes import BY_OUTCOME, OUTCOMES, outcome_run, outcome_store, writable_copy
from .test_app import figures as page_figures
from .test_app import open_page, values

DECAY = 2.0  # decades between t = 1 and t = T that a viewer must see...
APART = 0.25  # ...as colours at least this far apart on the scale


@pytest.fixture(scope="module")
def runs():
    store = outcome_store()
    return {o: outcome_run(o, store) for o in OUTCOMES}


def decay_problems(fig: dict, runs: list) -> tuple[list[str], int]:
    """Probes of a gradient heatmap (a figure's JSON) where the record has t = 1 at least DECAY decades below
    t = T but the figure puts them less than APART of its colour scale apart; and how many such probes it drew."""
    axis = fig["layout"]["coloraxis"]
    lo, hi = axis["cmin"], axis["cmax"]
    by_label = {r.label: r for r in runs}
    problems, checked = [], 0
    for trace in fig["data"]:
        run = by_label.get(trace.get("name", ""))
        if trace["type"] != "heatmap" or run is None:
            continue
        steps, grads = run.series("grad_h")
        x, z = values(trace["x"]), values(trace["z"]).reshape(grads.shape[1], -1)  # z: (T, probes)
        position = (z - lo) / (hi - lo)
        for j, step in enumerate(x):
            k = int(np.searchsorted(steps, step))
            assert steps[k] == step, (run.label, step)
            first, last = float(grads[k, 0]), float(grads[k, -1])
            decades = np.inf if first == 0 else np.log10(last / first)
            if decades >= DECAY:
                checked += 1
                if abs(position[-1, j] - position[0, j]) < APART:
                    problems.append(f"{run.label} step {step}: {decades:.1f} decades drawn "
                                    f"{abs(position[-1, j] - position[0, j]):.2f} of the scale apart")  # fmt: skip
    return problems, checked


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_the_heatmap_paints_a_decay_of_two_decades_a_quarter_of_its_scale_apart(runs, outcome):
    run = runs[outcome]
    problems, checked = decay_problems(views.gradient_flow([run]).to_plotly_json(), [run])
    assert not problems, problems
    if outcome.startswith("rnn"):  # every tanh RNN outcome decays by 2 decades or more at some probes
        assert checked >= 3, checked


def test_the_report_heatmap_of_every_outcome_together_shows_each_decay(runs):
    shown = list(runs.values())
    fig = dict(report_figures(shown))["Gradient reaching each time step"].to_plotly_json()
    problems, checked = decay_problems(fig, shown)
    assert not problems and checked >= 10, (problems, checked)
    bar = fig["layout"]["coloraxis"]["colorbar"]
    assert bar["ticktext"][:2] == [
        "0 (underflowed)",
        f"below 10<sup>{int(fig['layout']['coloraxis']['cmax']) - 6}</sup>",
    ]


def test_the_heatmap_keeps_its_colours_and_shows_each_decay_scrubbed_and_replayed(runs, tmp_path, monkeypatch):
    """The page, scrubbed to steps before, at and after the underflow and during a replay: the whole runs' colour
    scale every time, and every decay of 2 decades a quarter of it apart."""
    monkeypatch.setenv("RNNVIZ_STORE", str(writable_copy(tmp_path)))
    shown = list(runs.values())
    at = open_page("gradient_flow")
    at.session_state["selected_runs"] = [r.id for r in shown]
    at.run()
    whole = page_figures(at)[0]
    scale = (whole["layout"]["coloraxis"]["cmin"], whole["layout"]["coloraxis"]["cmax"])
    assert decay_problems(whole, shown)[0] == []
    underflow = BY_OUTCOME["rnn-collapsed-underflow"]["first_underflow_step"]
    checked = 0
    for step in (300, underflow - 1, underflow, 5000):
        at.slider(key="scrub").set_value(step).run()
        fig = page_figures(at)[0]
        assert (fig["layout"]["coloraxis"]["cmin"], fig["layout"]["coloraxis"]["cmax"]) == scale, step
        problems, n = decay_problems(fig, shown)
        assert not problems, (step, problems)
        checked += n
    at.slider(key="scrub").set_value(5000).run()
    at.selectbox(key="replay_seconds").set_value(10)
    next(b for b in at.button if b.label == "Replay").click().run()
    replay = at.session_state["replay"]
    replay.created -= Replay.WAIT_S  # no browser here to say the charts are drawn: it starts anyway
    at.run()
    replay.started -= 6  # 60% of the replay played
    at.run()
    fig = page_figures(at)[0]
    assert (fig["layout"]["coloraxis"]["cmin"], fig["layout"]["coloraxis"]["cmax"]) == scale
    problems, n = decay_problems(fig, shown)
    assert not problems and checked + n >= 20, (problems, checked + n)


SHARE = re.compile(r"([\d.]+)% of \|h\| > ([\d.]+)")


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_the_histogram_writes_the_saturated_share_it_draws(runs, outcome):
    """At the latest probe and one halfway: the share written equals the histogram's own within 0.5 points, and
    the bins that hold it are drawn wide enough to see."""
    run = runs[outcome]
    steps = run.histograms("h_all")[0]
    latest = None
    for at in (None, int(steps[len(steps) // 2])):
        fig = views.saturation_histogram([run], at=at)
        written = [SHARE.search(a.text) for a in fig.layout.annotations if SHARE.search(a.text or "")]
        assert len(written) == 1, [a.text for a in fig.layout.annotations]
        share, threshold = float(written[0][1]), float(written[0][2])
        bars = fig.data[0]
        x, y = np.asarray(bars.x), np.asarray(bars.y)
        beyond = np.abs(x) > threshold
        assert share == pytest.approx(100 * y[beyond].sum(), abs=0.5), (outcome, at)
        assert threshold == run.cfg.saturation
        # the mass beyond the threshold is drawn at least TAIL_PX wide, whatever its bins' width
        width = np.broadcast_to(np.asarray(bars.marker.line.width, float), x.shape)
        assert (width[beyond] >= figures.TAIL_PX).all() and (width[~beyond] == 0).all()
        latest = share if latest is None else latest
    if outcome == "rnn-collapsed-underflow":  # the number the issue measured on this run, at its end
        assert latest == pytest.approx(95.7, abs=0.05)


def trace_colours(fig: dict) -> dict[str, set[str]]:
    """The colours of a figure's (JSON) lines, bars and bands, by the name of the run or group they draw."""
    found: dict[str, set[str]] = {}
    for t in fig["data"]:
        if (
            t.get("type") not in ("scatter", "bar")
            or not t.get("name")
            or t.get("showlegend") is False
            and t.get("fill")
        ):
            continue
        mode = t.get("mode", "")
        colour = (t.get("line") or {}).get("color") if "lines" in mode else (t.get("marker") or {}).get("color")
        if colour is not None:
            found.setdefault(t["name"], set()).add(colour)
    return found


def role_of(colour: str) -> str | None:
    """The role whose shade a colour is (figures.SHADES of figures.ROLES), or None."""
    return next((cell for cell, base in figures.ROLES.items() for a in figures.SHADES
                 if figures.shade(base, a) == colour), None)  # fmt: skip


def test_each_outcome_wears_its_roles_colour_and_seeds_are_shades_of_it(runs):
    colours = {o: views.run_colour(r) for o, r in runs.items()}
    assert {o: role_of(c) for o, c in colours.items()} == {o: r.cfg.cell for o, r in runs.items()}
    rnns = [c for o, c in colours.items() if o.startswith("rnn")]
    assert len(set(rnns)) == len(rnns)  # four seeds of the tanh RNN: four shades of its red
    assert colours["rnn-collapsed-underflow"] == figures.ROLES["rnn"]  # seed 0 of blog-rnn: the role's own


def test_a_fresh_remedies_set_keeps_each_roles_colour_on_every_page_and_beside_the_published(
    remedies_store, tmp_path, monkeypatch
):
    """The case that broke: the remedies set launched in a fresh store (the LSTM is run 7, whose id colour was
    pink) and the blog overlay beside the runs (its bands coloured by their order: blog-rnn green)."""
    monkeypatch.setenv("RNNVIZ_STORE", str(tmp_path / "set.sqlite"))
    tmp_path.joinpath("set.sqlite").write_bytes(remedies_store.read_bytes())
    want = {"blog-rnn": figures.ROLES["rnn"], "blog-lstm": figures.ROLES["lstm"], "remedies-gru": figures.ROLES["gru"]}
    seen: dict[str, set[str]] = {}
    at = open_page("remedies")
    at.session_state["selected_runs"] = list(range(1, 8))
    at.run()
    pages = page_figures(at)
    at.switch_page("rnnviz/dashboard/pages/overview.py").run()
    at.toggle(key="ov-published").set_value(True).run()
    pages += page_figures(at)
    chips = " ".join(h.proto.body for h in at.get("html") if "data-tag" in h.proto.body)
    assert not at.exception
    for fig in pages:
        for name, colours in trace_colours(fig).items():
            run = re.match(r"\d+ · ([\w-]+)", name) or re.match(r"([\w-]+): \d+ seed", name)
            if run:
                seen.setdefault(run[1], set()).update(colours)
            elif name.startswith("published:"):  # the post's points in the colour of the role they belong to
                assert colours == {figures.ROLES[name.rsplit(", ", 1)[1].lower()]}, name
    names = {str(r["run_id"]): str(r["name"]) for _, r in runs_table(remedies_store).iterrows()}
    for run_id, colour in re.findall(r'aria-label\^="(\d+) · "\] \{ background: (#[0-9a-f]+)', chips):
        seen[names[run_id]].add(colour)  # the sidebar's chip of each run
    assert len(re.findall("aria-label", chips)) == 7
    assert all(len(c) == 1 for c in seen.values()), seen  # one colour per run, on both pages and its chip
    assert {n: c.pop() for n, c in seen.items() if n in want} == want
    rnn_variants = {n: next(iter(c)) for n, c in seen.items() if n.startswith("remedies-") and n != "remedies-gru"}
    assert {role_of(c) for c in rnn_variants.values()} == {"rnn"} and len(set(rnn_variants.values())) == 4


def test_the_unit_scatter_names_each_runs_probe_step_where_they_differ():
    # a finished run probed at 5,000 beside a watched loop probed at 600: a title with one step told the room
    # the wrong step for one of them
    store = outcome_store()
    runs = [outcome_run("lstm", store), outcome_run("watched", store)]
    fig = views.saturation.unit_saturation(runs).to_plotly_json()
    names = [t["name"] for t in fig["data"] if t.get("name")]
    assert any("probe at step 5,000" in n for n in names) and any("probe at step 600" in n for n in names), names
    assert "probe at step" not in fig["layout"]["title"]["text"]
    alone = views.saturation.unit_saturation(runs[:1]).to_plotly_json()
    assert alone["layout"]["title"]["text"].endswith("probe at step 5,000")
