"""The live chart's axes: ranges held while runs grow (figures.held_range), so that most live updates redraw
only the lines, and the chart component (rnnviz/dashboard/livechart/frontend/) keeping a user's zoom through
them."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from rnnviz import figures
from rnnviz.dashboard import livechart

from .browser import CHROMIUM, chromium


def axis_ranges(fig) -> dict[str, list[float] | None]:
    layout = fig.to_plotly_json()["layout"]
    return {k: v.get("range") for k, v in layout.items() if k[1:5] == "axis"}


def overview_at(step: int):
    """The Overview's figure for two runs that have reached `step`: loss, accuracy every 100 steps, saturation."""
    x = np.arange(1, step + 1)
    acc = np.arange(100, step + 1, 100)
    red, blue = figures.run_color("rnn"), figures.run_color("lstm")
    loss = [("rnn", x, 2.3 * np.exp(-x / 3000) + 0.1, red), ("lstm", x, 2.4 * np.exp(-x / 500), blue)]
    accuracy = [("rnn", acc, 0.1 + 0.0 * acc, red), ("lstm", acc, 0.98 - 0.8 * np.exp(-acc / 400), blue)]
    saturated = [("rnn", x, 1 - np.exp(-x / 800), red), ("lstm", x, 0.004 * (1 - np.exp(-x / 800)), blue)]
    panels = [
        figures.Panel("training loss", loss),
        figures.Panel("test accuracy", accuracy, True),
        figures.Panel("saturated |h|", saturated),
    ]
    return figures.stacked_panels(panels, "overview", "overview")


def test_a_live_runs_axes_hold_still_between_most_updates():
    """Two runs at 90 steps a second for 10 minutes, one update a second: every point stays inside the axes,
    and the axes move on (a full redraw) on at most 1 update in 20."""
    shown, moves = None, 0
    for second in range(600):
        fig = overview_at(100 + 90 * second)
        ranges = axis_ranges(fig)
        assert all(r is not None for r in ranges.values()), ranges
        for trace in fig.data:
            axis = "yaxis" + trace.yaxis[1:]
            lo, hi = ranges[axis]
            y = np.asarray(trace.y, dtype=float)
            assert lo <= np.nanmin(y) and np.nanmax(y) <= hi, (axis, lo, hi)
            assert ranges["xaxis"][0] <= min(trace.x) and max(trace.x) <= ranges["xaxis"][1]
        moves += shown is not None and ranges != shown
        shown = ranges
    assert moves <= 30, moves
    assert ranges["xaxis"] == [0.0, 60_000.0]  # 54,100 steps: the next round number above
    assert ranges["yaxis2"] == pytest.approx([-0.02, 1.02])  # accuracy: 0 to 1, room for the markers


def test_held_ranges_skip_gaps_and_cover_what_can_be_drawn():
    nan, inf = float("nan"), float("inf")
    assert figures.held_range([np.array([nan, inf, -inf])]) is None  # nothing to draw: Plotly's autorange
    assert figures.held_range([]) is None
    assert figures.held_range([np.array([0.2, nan, 2.31])], pad=0.0) == [0.0, 2.5]
    assert figures.held_range([np.array([-0.7, 0.3])], pad=0.0) == [-0.8, 0.3]
    assert figures.held_range([np.array([0.0, 0.0])], pad=0.0) == [0.0, 1.0]
    # log axes hold whole decades, from the smallest positive value (0 cannot be drawn there)
    assert figures.held_range([np.array([0.0, 3e-7, 0.02])], log=True) == [-7.0, -1.0]
    assert figures.held_range([np.array([1.0, 1.0])], log=True) == [0.0, 1.0]
    for value in (0.97, 1.0, 1.01, 7.5, 90.0, 4999.5, 12_345.0, 3e-5):
        top = figures.round_up(value)
        assert value <= top <= 1.25 * value, (value, top)
    # time-step axes do not grow, so they span exactly the data
    fig = figures.lines([("a", np.arange(1, 29), np.ones(28), "red")], "t", "y", "k", growing_x=False)
    assert axis_ranges(fig)["xaxis"] == [1.0, 28.0]


needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"), reason="Debian's chromium is not installed"
)

READ = """() => { const c = document.getElementById('chart');
    return {x: c._fullLayout.xaxis.range, y: c._fullLayout.yaxis.range, points: c._fullData[0].x.length,
            updates: Number(c.dataset.updates || 0), linesOnly: Number(c.dataset.linesOnly || 0),
            replots: window.replots, transitions: window.transitions}; }"""
# What Plotly did, as its events tell: a full replot (axes, ticks, lines) or a transition of the lines alone.
COUNT_REDRAWS = """() => { const c = document.getElementById('chart'); window.replots = window.transitions = 0;
    c.on('plotly_afterplot', () => window.replots++); c.on('plotly_transitioned', () => window.transitions++); }"""


def line_chart(n: int) -> str:
    x = np.arange(1, n + 1)
    return figures.lines([("a", x, np.log1p(x), "red"), ("b", x, np.sqrt(x) / 10, "blue")], "t", "y", "k").to_json()


@needs_chromium
def test_the_chart_redraws_lines_only_keeps_a_zoom_and_double_click_follows_the_data_again():
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 900, "height": 700})
        page.goto((livechart.component_dir() / "index.html").as_uri())

        def render(n: int) -> dict:
            """Hand the chart a figure as Streamlit does, and wait until it is drawn."""
            before = page.evaluate(READ)["updates"] if page.locator(".main-svg").count() else 0
            args = {"spec": line_chart(n), "config": {"displaylogo": False}, "feed": None, "version": ""}
            page.evaluate("args => window.postMessage({type: 'streamlit:render', args}, '*')", args)
            deadline = time.monotonic() + 10
            while page.locator(".main-svg").count() == 0 or (now := page.evaluate(READ))["updates"] <= before:
                assert time.monotonic() < deadline, f"the chart did not draw {n} points"
                time.sleep(0.05)
            assert now["points"] == n
            return now

        first = render(100)
        assert first["x"] == [0, 100]
        page.evaluate(COUNT_REDRAWS)
        assert page.evaluate("() => document.getElementById('chart')._context.displaylogo") is False  # config used
        moved = render(101)  # 101 steps: the x axis moves on to 120, a full redraw
        assert moved["x"] == [0, 120] and (moved["linesOnly"], moved["replots"], moved["transitions"]) == (0, 1, 0)
        held = render(110)  # same axes: Plotly redraws only the lines
        assert held["x"] == [0, 120] and (held["linesOnly"], held["replots"], held["transitions"]) == (1, 1, 1)

        box = page.locator(".nsewdrag").first.bounding_box()
        x0, y0 = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3

        def zoom() -> dict:
            before = page.evaluate(READ)["x"]
            page.mouse.move(x0, y0)
            page.mouse.down()
            page.mouse.move(x0 + box["width"] * 0.2, y0 + box["height"] * 0.2, steps=8)
            page.mouse.up()
            zoomed = page.evaluate(READ)
            assert zoomed["x"][1] - zoomed["x"][0] < 0.4 * (before[1] - before[0]), zoomed
            return zoomed

        def back_to(x: list[float]) -> None:
            deadline = time.monotonic() + 10
            while page.evaluate(READ)["x"] != x:
                assert time.monotonic() < deadline, page.evaluate(READ)
                time.sleep(0.05)

        zoomed = zoom()
        for n in (111, 130, 160):  # the held range moves on to 150, then 200: the zoom stays
            now = render(n)
            assert (now["x"], now["y"]) == (zoomed["x"], zoomed["y"]), n
        page.mouse.dblclick(x0, y0)  # back to the chart's own ranges, for the latest data
        back_to([0, 200])
        assert render(230)["x"] == [0, 250]  # and they follow the data again

        zoom()
        render(260)
        page.mouse.move(x0, y0)  # the modebar shows on hover
        page.locator("[data-title='Reset axes']").click()  # the home button does the same
        back_to([0, 300])
        assert render(310)["x"] == [0, 400]


@needs_chromium
def test_a_fed_chart_outlasts_failed_polls_follows_its_data_and_never_steps_back():
    """The chart's feed fails (no network, a 503, an unknown token after a restart), then answers again: the
    chart goes on polling and draws what is new. The held x axis follows the data through the browser's own
    resizes (which Plotly records as if the user had set the axes). A page figure behind the feed's is not
    drawn; one ahead of it is."""
    feed = "http://127.0.0.1:9/rnnviz-feed/token"
    answers = ["abort", "abort", 503, 404, 404]
    polls: list[str] = []

    def answer(route) -> None:
        polls.append(route.request.url)
        cors = {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "X-Version, X-Progress"}
        what = answers.pop(0) if answers else 200
        if what == "abort":
            route.abort()
        elif what != 200:
            route.fulfill(status=what, headers=cors, body="")
        else:
            headers = {**cors, "X-Version": "v300", "X-Progress": "300"}
            route.fulfill(status=200, headers=headers, body=line_chart(300), content_type="application/json")

    with chromium() as browser:
        page = browser.new_page(viewport={"width": 900, "height": 700})
        page.route(feed + "*", answer)
        page.goto((livechart.component_dir() / "index.html").as_uri())

        def render(n: int, progress: int) -> None:
            args = {"spec": line_chart(n), "config": {"responsive": True}, "feed": feed, "version": f"v{n}"}
            args["progress"] = progress
            page.evaluate("args => window.postMessage({type: 'streamlit:render', args}, '*')", args)

        def shown() -> dict:
            return page.evaluate(READ) if page.locator(".main-svg").count() else {"points": 0}

        render(100, 100)
        page.wait_for_function("() => document.getElementById('chart').dataset.updates === '1'")
        page.set_viewport_size({"width": 700, "height": 600})  # Plotly resizes the chart (responsive)
        deadline = time.monotonic() + 30
        while shown()["points"] != 300:  # after 2 network errors, a 503 and two 404s: the feed's figure
            assert time.monotonic() < deadline, (shown(), len(polls))
            time.sleep(0.1)
        assert len(polls) >= 6 and shown()["x"] == [0, 300]  # the axis followed the data past 100
        render(200, 200)  # the page's figure is behind the feed's: not drawn
        time.sleep(0.5)
        assert shown()["points"] == 300
        render(400, 400)  # ahead of it (the feed fell behind): drawn
        page.wait_for_function("() => document.getElementById('chart')._fullData[0].x.length === 400")
        assert shown()["x"] == [0, 400]


def window_chart(first: int, last: int) -> str:
    """Every step of a window, as the feed sends a zoomed chart."""
    x = np.arange(first, last + 1)
    return figures.lines([("a", x, np.log1p(x), "red")], "t", "y", "k").to_json()


@needs_chromium
def test_a_zoom_fetches_the_steps_it_shows_and_a_double_click_goes_back_to_the_whole_run():
    """A finished run's chart has a feed only for zooms: it is not polled for updates, a zoom asks it for the
    figure of the steps shown (drawn whatever its progress), the page's figure of the whole run does not replace
    it while zoomed, and a double-click draws the whole run again."""
    feed = "http://127.0.0.1:9/rnnviz-feed/zoom"
    asked: list[str] = []

    def answer(route) -> None:
        url = route.request.url
        asked.append(url)
        cors = {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "X-Version, X-Progress"}
        query = dict(p.split("=") for p in url.split("?", 1)[1].split("&"))
        if "x0" not in query:
            route.fulfill(status=204, headers=cors, body="")
            return
        first, last = int(query["x0"]), int(query["x1"])
        headers = {**cors, "X-Version": f"w{first}-{last}", "X-Progress": "0"}
        route.fulfill(status=200, headers=headers, body=window_chart(first, last), content_type="application/json")

    with chromium() as browser:
        page = browser.new_page(viewport={"width": 900, "height": 700})
        page.route(feed + "*", answer)
        page.goto((livechart.component_dir() / "index.html").as_uri())

        def render(n: int) -> None:
            args = {"spec": line_chart(n), "config": {}, "feed": feed, "live": False, "version": f"v{n}", "progress": 1}
            page.evaluate("args => window.postMessage({type: 'streamlit:render', args}, '*')", args)

        render(1000)
        page.wait_for_function("() => document.getElementById('chart').dataset.updates === '1'")
        time.sleep(1.5)
        assert asked == []  # a finished run's chart does not poll every second
        box = page.locator(".nsewdrag").first.bounding_box()
        x0, y = box["x"] + box["width"] * 0.40, box["y"] + box["height"] * 0.5
        page.mouse.move(x0, y)
        page.mouse.down()
        page.mouse.move(x0 + box["width"] * 0.05, y, steps=6)  # a horizontal drag zooms the x axis only
        page.mouse.up()
        page.wait_for_function("() => document.getElementById('chart').dataset.window !== ''")
        first, last = map(int, page.evaluate("() => document.getElementById('chart').dataset.window").split(","))
        assert 300 < first < last < 600 and last - first < 100
        page.wait_for_function(f"() => document.getElementById('chart')._fullData[0].x.length === {last - first + 1}")
        assert "x0=" in asked[-1] and page.evaluate(READ)["x"][0] >= first - 1  # the zoom holds
        render(1000)  # the page reruns: its figure of the whole run does not replace the zoomed one
        time.sleep(0.5)
        assert page.evaluate(READ)["points"] == last - first + 1
        page.mouse.dblclick(x0, y)
        page.wait_for_function(f"() => document.getElementById('chart')._fullData[0].x.length !== {last - first + 1}")
        back = page.evaluate(READ)
        assert back["x"] == [0, 1000] and back["points"] <= figures.MAX_POINTS + 1  # the whole run, in buckets
        assert page.evaluate("() => document.getElementById('chart').dataset.window") == ""
