"""Views draw what a talk needs read right: one colour per run, scales that keep their meaning, empties that say so."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

from rnnviz import digits, figures, findings, views
from rnnviz.api import Run, open_run
from rnnviz.config import RunConfig, remedies
from rnnviz.report import report_figures
from rnnviz.store import Store
from rnnviz.trainer import train

from .conftest import quick
from .test_app import figures as shown
from .test_app import open_page


@pytest.fixture(scope="module")
def pair(trained_store):
    """The RNN (run 1) and the LSTM (run 2) of the trained store."""
    return [open_run(trained_store, 1), open_run(trained_store, 2)]


def run_colours(fig) -> dict[int, set[str]]:
    """Each run's colours in a figure, by the run id its trace names or its panel title start with."""
    found: dict[int, set[str]] = {}
    for trace in fig.data:
        name = trace.name or ""
        if " · " in name and trace.type in ("scatter", "bar"):
            colour = trace.line.color if trace.type == "scatter" and trace.mode != "markers" else trace.marker.color
            found.setdefault(int(name.split(" · ")[0]), set()).add(colour)
    return found


def test_a_run_has_one_colour_on_every_figure_whatever_its_place(pair):
    rnn, lstm = pair
    figs = [
        views.overview(pair),
        views.overview([lstm]),
        views.gradient_curve([lstm, rnn]),
        views.global_norm(lstm),
        views.saturation_histogram([lstm, rnn]),
        views.saturation_over_training(pair),
        views.saturation_per_time_step([lstm]),
        views.preactivations(pair),
        views.saturation_animation(lstm),
        views.metric([lstm, rnn], "test_accuracy"),
        *(fig for _, fig in report_figures(pair)),
    ]
    seen: dict[int, set[str]] = {}
    for fig in figs:
        for run_id, colours in run_colours(fig).items():
            seen.setdefault(run_id, set()).update(colours)
    assert seen == {1: {views.run_colour(rnn)}, 2: {views.run_colour(lstm)}}
    # each a shade of its role's colour: the tanh RNN's red, the LSTM's blue
    shades = {cell: {figures.shade(base, a) for a in figures.SHADES} for cell, base in figures.ROLES.items()}
    assert views.run_colour(rnn) in shades["rnn"] and views.run_colour(lstm) in shades["lstm"]


def test_the_ten_digit_classes_have_ten_looks_a_projector_keeps_apart():
    T = 28
    probs = np.full((T, 10), 0.1)
    insp = digits.Inspection(
        image=np.zeros((28, 28), np.uint8),
        label=8,
        positions=np.arange(784).reshape(T, 28),
        h=np.zeros((T, 4)),
        probs=probs,
        grad_x=np.ones(T),
    )
    traces = digits.probabilities_figure(insp, 5).data
    assert len({t.line.color for t in traces}) == 10 and len({t.marker.symbol for t in traces}) == 10
    # a qualitative palette: every two classes at least 30 CIELAB units apart (a sequential scale put
    # neighbouring digits 10 apart), and on a washed-out projector (half-way to white) still 15 apart
    colours = [t.line.color for t in traces]
    nearest = min(cielab_distance(a, b) for i, a in enumerate(colours) for b in colours[i + 1 :])
    washed = [figures.shade(c, 0.5) for c in colours]
    faded = min(cielab_distance(a, b) for i, a in enumerate(washed) for b in washed[i + 1 :])
    assert nearest >= 30 and faded >= 15, (nearest, faded)


def cielab_distance(a: str, b: str) -> float:
    """How far apart two #rrggbb colours look (CIE76 delta E: about 2 is just noticeable, 20 another colour)."""

    def lab(colour: str) -> np.ndarray:
        rgb = np.array([int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
        rgb = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
        xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ rgb
        f = np.cbrt(np.maximum(xyz / np.array([0.95047, 1.0, 1.08883]), 0.008856**1.5))
        return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])

    return float(np.linalg.norm(lab(a) - lab(b)))


def test_the_heatmaps_colour_scale_spans_six_decades_below_its_top_and_holds_when_given():
    steps = np.array([1, 10, 20])
    flow = np.array([[3e-5, 0.2], [2e-9, 0.3], [0.0, 0.4]])  # t = 1 underflows to 0 at step 20
    fig = figures.gradient_heatmaps([("1 · rnn", steps, flow)], "k")
    # the top the whole decade above 0.4, the floor 6 below it, and two bands under the floor
    assert (fig.layout.coloraxis.cmin, fig.layout.coloraxis.cmax) == (-7, 0)
    below, underflowed = -6.25, -6.75  # 2e-9 is below the floor, 0 underflowed: each in its own band
    assert np.asarray(fig.data[0].z)[0] == pytest.approx([np.log10(3e-5), below, underflowed])
    bar = fig.layout.coloraxis.colorbar
    assert list(bar.tickvals[:2]) == [underflowed, below]
    assert list(bar.ticktext[:2]) == ["0 (underflowed)", "below 10<sup>-6</sup>"]
    early = figures.gradient_heatmaps([("1 · rnn", steps[:1], flow[:1])], "k")
    assert (early.layout.coloraxis.cmin, early.layout.coloraxis.cmax) == (-7, 0)
    held = figures.gradient_heatmaps([("1 · rnn", steps[:1], flow[:1])], "k", zrange=(-5, 1))
    assert (held.layout.coloraxis.cmin, held.layout.coloraxis.cmax) == (-6, 1)


def test_a_replay_shows_the_gradient_on_the_whole_runs_colour_scale(trained_store, monkeypatch):
    monkeypatch.setenv("RNNVIZ_STORE", str(trained_store))
    at = open_page("gradient_flow")
    floor, top = figures.gradient_decades([open_run(trained_store, i).gradient_flow()[1] for i in (1, 2)])
    scale = [floor - 1, top]  # the floor, and the two bands under it
    for step in (1, 15, 30):  # the first probe, one between, the end
        at.slider(key="scrub").set_value(step).run()
        coloraxis = shown(at)[0]["layout"]["coloraxis"]
        assert [coloraxis["cmin"], coloraxis["cmax"]] == scale, step


@pytest.fixture
def before_evaluation(tmp_path):
    """A run 40 steps in, before its first evaluation, and one queued that has recorded nothing."""
    with Store(tmp_path / "early.sqlite") as store:
        early = store.create_run(RunConfig(name="early", eval_every=100))
        store.mark_running(early, os.getpid())
        scalars = [(s, name, 2.3 - s / 100) for s in range(1, 41) for name in ("loss", "saturated")]
        store.append(early, 40, scalars, [], {})
        queued = store.create_run(RunConfig(name="queued"))
        yield Run(store, early), Run(store, queued)


def notes(fig) -> dict[str, str]:
    """The notes in the middle of a figure's plots, by the y axis they sit on (not the panels' titles)."""
    annotations = fig.to_plotly_json()["layout"].get("annotations", [])
    return {a["yref"].removesuffix(" domain"): a["text"] for a in annotations if a.get("y") == 0.5}


def test_a_chart_with_nothing_yet_shows_meaningful_axes_and_says_why(before_evaluation):
    early, queued = before_evaluation
    overview = views.overview([early]).to_plotly_json()["layout"]
    assert overview["yaxis2"]["range"] == [0, 1]  # test accuracy, not Plotly's -1 to 4
    assert notes(views.overview([early])) == {"y2": "no evaluation yet"}
    accuracy = views.metric([early], "test_accuracy")
    assert list(accuracy.layout.yaxis.range) == [0, 1] and list(accuracy.layout.xaxis.range) == [0, 100]
    assert notes(accuracy) == {"y": "no evaluation yet"}
    nothing = views.overview([queued]).to_plotly_json()["layout"]
    assert nothing["xaxis"]["range"] == [0, 100] and nothing["yaxis3"]["range"] == [0, 1]
    assert set(notes(views.overview([queued])).values()) == {"no data yet", "no evaluation yet"}
    curve = views.gradient_curve([queued, early])
    assert list(curve.layout.xaxis.range) == [1, 28] and notes(curve) == {"y": "no probe yet"}
    assert list(curve.layout.yaxis.range) == [-1, 0]  # 0.1 to 1 on its log axis
    heat = views.gradient_flow([queued]).layout
    assert notes(views.gradient_flow([queued])) == {"y": "no probe yet"} and list(heat.yaxis.range) == [1, 28]
    assert list(heat.xaxis.range) == [0, 100] and heat.xaxis.title.text == "training step"
    assert notes(views.global_norm(queued)) == {"y": "no data yet"}
    assert not notes(views.metric([early], "loss"))  # a chart with data has no note


def test_a_line_that_reaches_0_on_a_log_axis_is_marked_at_the_floor_and_named():
    x = np.arange(1, 9)
    y = np.array([1e-3, 1e-5, 2e-7, 0.0, 0.0, 0.0, 0.0, 0.0])  # the ratio underflowed to exactly 0
    fig = figures.lines([("1 · rnn", x, y, "#d62728")], "ratio", "ratio", "k", log_y=True)
    floor = 10.0 ** fig.layout.yaxis.range[0]
    line, zeros = fig.data
    np.testing.assert_allclose(line.y, [1e-3, 1e-5, 2e-7, floor, floor, floor, floor, floor], rtol=1e-6)
    assert zeros.mode == "markers" and list(zeros.x) == [4, 5, 6, 7, 8] and set(zeros.y) == {floor}
    assert zeros.marker.color == "#d62728" and zeros.name == "1 · rnn: reached 0 (drawn at the floor)"
    assert len(figures.lines([("1 · rnn", x, y + 1e-9, "red")], "r", "r", "k", log_y=True).data) == 1
    vanished = figures.lines([("1 · rnn", x, 0 * y, "red")], "r", "r", "k", log_y=True)  # 0 from the start
    assert not notes(vanished) and len(vanished.data[1].x) == len(x)


def test_a_line_beyond_float32s_range_is_drawn_whole():
    t = np.arange(1, 29)
    bound = 32.0 ** (28 - t)  # the Pascanu bound of a trained blog RNN: 32^27 = 4e40 at t = 1
    tiny = 10.0 ** -(t + 20.0)  # down to 1e-48
    fig = figures.lines([("bound", t, bound, "red"), ("tiny", t, tiny, "blue")], "b", "b", "k", log_y=True)
    np.testing.assert_allclose(fig.data[0].y, bound, rtol=1e-12)  # float32 made the first 2 points missing
    np.testing.assert_allclose(fig.data[1].y, tiny, rtol=1e-12)
    flow = np.linspace(0.1, 1, 28)
    assert figures.lines([("1 · rnn", t, flow, "red")], "r", "r", "k").data[0].y.dtype == np.float32  # still


def test_log_axes_label_decades_only(pair):
    rnn, lstm = pair
    figs = [views.global_norm(rnn), views.param_norms(lstm), views.gradient_curve(pair), views.metric(pair, "loss")]
    for fig in figs:
        layout = fig.to_plotly_json()["layout"]
        logs = [a for name, a in layout.items() if name.startswith("yaxis") and a.get("type") == "log"]
        assert logs and all(a["minorloglabels"] == "none" for a in logs), layout["title"]["text"]


@pytest.mark.parametrize("large", [False, True])
def test_axis_titles_stand_clear_of_tick_labels_however_wide(pair, large):
    """Plotly places an axis title at a distance set by its font alone, over long labels such as 10^-24 or
    a presenter's 22 px digits; a standoff from the labels (and margins that grow to fit) keeps it clear."""
    style = figures.Style.for_talks(large)
    figs = [
        views.gradient_flow(pair, style),
        views.gradient_curve(pair, style=style),
        views.global_norm(pair[0], style),
        views.gate_scatter(pair[1], style=style),
        views.gate_histograms(pair[1], "f", style),
    ]
    for fig in figs:
        layout = fig.to_plotly_json()["layout"]
        titled = [a for name, a in layout.items() if name[1:5] == "axis" and a.get("title", {}).get("text")]
        assert titled, layout["title"]["text"]
        for a in titled:
            assert a["automargin"] and a["title"]["standoff"] >= 10, (layout["title"]["text"], a["title"])


@pytest.mark.parametrize("large", [False, True])
def test_the_overview_fits_a_1440x900_screen_with_each_panel_titled_above_it(pair, large):
    fig = views.overview(pair, figures.Style.for_talks(large))
    assert fig.layout.height <= 600  # under the page's title and the runs' status lines
    titles = [a.text for a in fig.layout.annotations if a.yanchor == "bottom"]
    assert titles == ["training loss", "validation accuracy", "saturated |h|"]
    assert not any(fig.layout[f"yaxis{k}"].title.text for k in ("", "2", "3"))  # turned on its side: too long


@pytest.mark.parametrize("large", [False, True])
def test_the_saturation_animation_labels_a_few_steps_and_plays_in_its_runs_colour(pair, large):
    lstm = pair[1]
    fig = views.saturation_animation(lstm, style=figures.Style.for_talks(large))
    slider, menu = fig.layout.sliders[0], fig.layout.updatemenus[0]
    assert {s.label for s in slider.steps} == {""} and slider.ticklen == slider.minorticklen == 0  # no smear
    assert [a.text for a in fig.layout.annotations] == ["1", "10", "20", "30"]  # the probes; at most 5 of 120
    # each frame's title: the step and the share beyond the run's threshold it draws
    titled = re.compile(r"2 · test-lstm: step (\d+)<br>([\d.]+)% of \|h\| > 0.99")
    assert not slider.currentvalue.visible and titled.fullmatch(fig.layout.title.text)[1] == "30"
    for frame in fig.frames:
        step, share = titled.fullmatch(frame.layout.title.text).groups()
        bars = frame.data[0]
        assert step == frame.name and float(share) == pytest.approx(
            100 * np.asarray(bars.y)[np.abs(np.asarray(bars.x)) > 0.99].sum(), abs=0.05
        )
    assert menu.pad.t > slider.pad.t and [b.label for b in menu.buttons] == ["Play", "Pause"]  # under the slider
    assert {frame.data[0].marker.color for frame in fig.frames} == {views.run_colour(lstm)}


def test_a_long_animation_labels_five_steps_where_the_slider_puts_them():
    steps = np.arange(1, 5001, 10)
    counts = np.ones((len(steps), 8))
    fig = figures.histogram_animation("h", steps, counts, np.linspace(-1, 1, 9), "1 · rnn", "k", colour="red")
    assert len(fig.frames) == 120 and len(fig.layout.sliders[0].steps) == 120
    labels = fig.layout.annotations
    assert [a.text for a in labels] == ["1", "1,261", "2,521", "3,731", "4,991"]  # of the 120 frames shown
    assert [(a.x, a.xshift) for a in (labels[0], labels[-1])] == [(0, 10), (1, -10)]


def test_the_gate_scatter_narrows_its_plot_to_stay_square_rather_than_stretch_its_fractions(pair):
    layout = views.gate_scatter(pair[1]).layout
    assert layout.xaxis.constrain == layout.yaxis.constrain == "domain" and layout.yaxis.scaleanchor == "x"
    assert list(layout.xaxis.range) == list(layout.yaxis.range) == [-0.02, 1.02]


def test_metrics_are_titled_in_words_not_by_their_recorded_names(pair):
    accuracy = views.metric(pair, "test_accuracy")
    assert (accuracy.layout.title.text, accuracy.layout.yaxis.title.text) == ("Test accuracy", "accuracy")
    saturated = views.metric(pair, "saturated")
    assert saturated.layout.title.text == "Saturated units (fraction of |h| > 0.99)"
    weights = views.metric(pair, "grad_norm/rnn.weight_hh_l0").layout.title.text
    assert weights == "Gradient norm of W_hh (recurrent weights)"
    for name in pair[0].scalar_names():
        title = views.metric(pair, name).layout.title.text
        assert title[0].isupper() and ("_" not in name or name not in title), (name, title)


def test_tables_show_a_dash_for_a_missing_value(tmp_path, monkeypatch):
    path = tmp_path / "set.sqlite"
    with Store(path) as store:
        for cfg in [c for c in remedies(clip=0.5, **quick(steps=10)) if c.name in ("blog-rnn", "remedies-clip")]:
            assert train(cfg, store).status == "finished"
        store.create_run(RunConfig(name="queued"))  # no accuracy, no saturation yet
    monkeypatch.setenv("RNNVIZ_STORE", str(path))
    train_page = open_page("train")
    assert {t.proto.placeholder for t in train_page.dataframe} == {figures.MISSING}  # not 'None', in every table
    page = open_page("remedies")
    assert page.dataframe[0].proto.placeholder == figures.MISSING
    table = page.dataframe[0].value
    assert table["gradient at t=1"].isna().sum() == 0 and table["test"].notna().all()
    titles = [fig["layout"]["title"]["text"] for fig in shown(page)[:2]]
    assert titles == ["Validation accuracy", "Saturated units (fraction of |h| > 0.99)"]


@pytest.mark.parametrize("run_id", [1, 2])  # the RNN and the LSTM: both add b_ih and b_hh in one sum
def test_parameters_are_named_in_words_and_equal_bias_gradients_both_show(pair, run_id):
    fig = views.param_norms(pair[run_id - 1])
    names = [t.name for t in fig.data]
    assert not [n for n in names if re.search(r"weight_|bias_|_l0|head\.", n)], names
    assert {"W_hh (recurrent weights)", "W_ih (input weights)", "W_out (output weights)"} <= set(names)
    twin = next(t for t in fig.data if t.name.startswith("b_hh"))
    solid = next(t for t in fig.data if t.name.startswith("b_ih"))
    np.testing.assert_allclose(twin.y, solid.y, rtol=1e-5)  # the same gradient, so one line hides the other
    assert twin.name.endswith("(same as b_ih)") and twin.line.dash == "dash" and solid.line.dash in (None, "solid")
    assert names.index(twin.name) > names.index(solid.name)  # the dashed one on top


def test_different_bias_gradients_are_not_called_the_same(tmp_path):
    with Store(tmp_path / "gru.sqlite") as store:  # the GRU's b_hn is multiplied by its reset gate
        run_id = train(RunConfig(**{**quick(steps=10), "cell": "gru", "name": "gru"}), store).run_id
        fig = views.param_norms(Run(store, run_id))
    assert not [t.name for t in fig.data if "same as" in t.name] and {t.line.dash for t in fig.data} == {None}


def test_the_why_chart_draws_the_recorded_chain_under_its_bound(pair):
    rnn, lstm = pair
    drawn = {t.name: np.asarray(t.y, dtype=float) for t in views.why_chain(rnn).data if t.mode == "lines"}
    bound, jacobian = drawn[views.BOUND], drawn["||dh_T/dh_t||₂"]
    np.testing.assert_allclose(jacobian, rnn.series("jacobian_norm")[1][-1], rtol=1e-6)
    assert np.all(jacobian <= bound * (1 + 1e-5)) and np.all(drawn["||dL/dh_t|| / ||dL/dh_T||"] <= bound * (1 + 1e-5))
    assert jacobian[-1] == bound[-1] == 1
    gated = {t.name for t in views.why_chain(lstm).data}
    assert "||d(h_T, c_T)/d(h_t, c_t)||₂" in gated and not any(n.startswith("bound") for n in gated)  # RNN only
    heat = views.tanh_slope(rnn).data[0]
    np.testing.assert_allclose(np.asarray(heat.z, dtype=float), rnn.series("tanh_slope")[1].T, rtol=1e-6)
    paths = {t.name for t in views.gate_paths(pair).data}
    assert paths == {"1 · test-rnn: ||dh_T/dh_t||₂ (step 30)", "2 · test-lstm: mean ∏ f (step 30)"}


def test_runs_recorded_before_the_why_probes_show_empty_why_charts_with_a_note(trained_store, tmp_path):
    old = tmp_path / "old.sqlite"
    with Store(trained_store) as store:
        store.conn.execute("VACUUM INTO ?", (str(old),))
    why_arrays = ("jacobian_norm", "tanh_slope", "tanh_slope_g", "step_gain", "step_bound", "forget_path")
    with Store(old) as store:
        store.conn.execute(f"DELETE FROM arrays WHERE name IN ({','.join('?' * len(why_arrays))})", why_arrays)
        scalars = ("tanh_slope_mean", "jacobian_norm_t1", "forget_path_t1")
        for table in ("scalars", "scalar_levels"):
            ids = "SELECT id FROM scalar_names WHERE name IN (?, ?, ?)"
            store.conn.execute(f"DELETE FROM {table} WHERE name_id IN ({ids})", scalars)
        store.conn.commit()
        rnn, lstm = Run(store, 1), Run(store, 2)
        for fig in (views.why_chain(rnn), views.tanh_slope(lstm), views.gate_paths([rnn, lstm])):
            assert list(notes(fig).values()) == [views.NOT_RECORDED], fig.layout.title.text
        assert findings.why_reading(rnn) is None and findings.why_reading(lstm) is None
        assert report_figures([rnn, lstm])  # and the report still builds
