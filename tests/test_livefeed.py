"""Live charts feed themselves: the server answers a chart's poll with its figure, or 204 when nothing changed."""

from __future__ import annotations

import base64
import json
import re
import shutil
import sqlite3
import threading
import time

import numpy as np
import pytest
from starlette.requests import Request

from rnnviz.dashboard import live
from rnnviz.dashboard.livechart import feed as livefeed
from rnnviz.dashboard.livechart.feed import Feeds, version_tag

from .test_app import figures, open_page


def component_args(at, kind: str = "livechart") -> list[dict]:
    """The arguments of the page's live charts (or of its lines of text that fetch themselves: livetext)."""
    instances = at.get("component_instance")
    return [json.loads(c.proto.json_args) for c in instances if c.proto.component_name.endswith(kind)]


def counting_source(versions: list, builds: list):
    """A source whose version is the last of `versions`; each build is recorded."""

    def source(window=None):
        version = versions[-1]
        return version, len(versions), lambda: builds.append(version) or json.dumps({"version": version})

    return source


def test_a_feed_sends_the_figure_then_nothing_until_the_version_changes():
    feeds, versions, builds = Feeds(fresh_s=0), [(1, "running")], []
    feeds.register("t", "recipe", counting_source(versions, builds))
    status, body, tag, _ = feeds.poll("t", "")
    assert (status, json.loads(body)) == (200, {"version": [1, "running"]})
    assert tag == version_tag(("recipe", (1, "running")))
    assert feeds.poll("t", tag)[0] == 204
    versions.append((2, "running"))
    status, body, tag2, _ = feeds.poll("t", tag)
    assert status == 200 and json.loads(body)["version"] == [2, "running"] and tag2 != tag
    assert builds == [(1, "running"), (2, "running")]


def test_tabs_showing_the_same_recipe_share_one_build_per_version():
    feeds, versions, builds = Feeds(fresh_s=0), [(5, "running")], []
    for tab in range(3):
        feeds.register(f"tab{tab}", "same recipe", counting_source(versions, builds))
    bodies = {feeds.poll(f"tab{tab}", "")[1] for tab in range(3)}
    assert len(bodies) == 1 and builds == [(5, "running")]


def test_tabs_polling_within_half_a_second_share_a_figure_while_steps_commit(monkeypatch):
    feeds, versions, builds = Feeds(fresh_s=0.5), [(5, "running")], []
    clock = [100.0]
    monkeypatch.setattr(livefeed.time, "monotonic", lambda: clock[0])
    for tab in range(3):
        feeds.register(f"tab{tab}", "same recipe", counting_source(versions, builds))
    for tab in range(3):  # a step commits between each tab's poll
        versions.append((6 + tab, "running"))
        clock[0] += 0.1
        assert feeds.poll(f"tab{tab}", "")[0] == 200
    assert builds == [(6, "running")]
    clock[0] += 0.5
    status, body, _, _ = feeds.poll("tab0", version_tag(("same recipe", (6, "running"))))
    assert status == 200 and json.loads(body)["version"] == [8, "running"] and len(builds) == 2


def test_feeds_are_bounded_and_dropped_when_no_tab_polls_them(monkeypatch):
    feeds = Feeds(limit=3, idle_s=60)
    for k in range(5):
        feeds.register(f"t{k}", k, counting_source([(k,)], []))
    assert list(feeds.feeds) == ["t2", "t3", "t4"]
    assert feeds.poll("t0", "")[0] == 404
    clock = time.monotonic() + 61
    monkeypatch.setattr(livefeed.time, "monotonic", lambda: clock)
    feeds.register("new", "n", counting_source([(0,)], []))
    assert list(feeds.feeds) == ["new"]


def request(token: str, version: str = "", query: str = "") -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "path": livefeed.PREFIX + token,
        "path_params": {"token": token},
        "query_string": f"v={version}{query}".encode(),
        "headers": [],
    }
    return Request(scope)


def test_the_endpoint_answers_unknown_tokens_and_broken_stores_without_a_traceback(caplog):
    feeds = Feeds(fresh_s=0)
    assert feeds.endpoint(request("nobody")).status_code == 404

    def broken(window):
        raise sqlite3.DatabaseError("file is not a database")

    feeds.register("broken", "b", broken)
    response = feeds.endpoint(request("broken"))
    assert response.status_code == 503 and response.headers["cache-control"] == "no-store"
    assert "file is not a database" in caplog.text and "Traceback" not in caplog.text
    feeds.register("ok", "o", counting_source([(1,)], []))
    response = feeds.endpoint(request("ok"))
    assert response.status_code == 200 and response.headers["x-version"] == version_tag(("o", (1,)))
    assert feeds.endpoint(request("ok", version_tag(("o", (1,))))).status_code == 204


@pytest.fixture
def live_store(trained_store, tmp_path, monkeypatch):
    """The trained runs, with the LSTM shown as training on another machine (so nothing reaps it)."""
    path = tmp_path / "live.sqlite"
    shutil.copy(trained_store, path)
    with sqlite3.connect(path) as c:
        c.execute("UPDATE runs SET status = 'running', host = 'another-machine' WHERE name = 'test-lstm'")
    monkeypatch.setenv("RNNVIZ_STORE", str(path))
    monkeypatch.setattr(livefeed.FEEDS, "serving", True)
    return path


def test_a_live_pages_chart_is_fed_the_figure_the_page_drew_until_a_step_commits(live_store):
    at = open_page("overview")
    assert not at.exception, at.exception
    args = component_args(at)
    assert args and args[0]["feed"].startswith(livefeed.PREFIX)
    token = args[0]["feed"].removeprefix(livefeed.PREFIX)
    assert livefeed.FEEDS.poll(token, args[0]["version"])[0] == 204  # nothing committed since the page drew
    status, body, _, _ = livefeed.FEEDS.poll(token, "")
    assert status == 200 and json.loads(body)["data"] == figures(at)[0]["data"]
    with sqlite3.connect(live_store) as c:
        c.execute("UPDATE runs SET step = step + 1 WHERE name = 'test-lstm'")
    time.sleep(1.1)  # the runs table is cached for a second
    assert livefeed.FEEDS.poll(token, args[0]["version"])[0] == 200


def test_every_tabs_page_and_poll_share_one_build_of_a_chart(live_store, monkeypatch):
    """A room's pages rerun every few seconds each: their live charts are the feed's figure, built once for
    every tab, not once per tab and rerun (a figure costs ~30-40 ms; bench/bench_room.py)."""
    feeds, builds = Feeds(), []
    feeds.serving = True
    monkeypatch.setattr(live, "FEEDS", feeds)
    real = Feeds.figure

    def counted(self, key, source, window=None, shown=""):
        def counting(w):
            version, progress, build = source(w)
            return version, progress, lambda: builds.append(key) or build()

        return real(self, key, counting, window, shown)

    monkeypatch.setattr(Feeds, "figure", counted)
    tabs = [open_page("overview") for _ in range(3)]
    for at in tabs:  # rerun, as a live page does: the sidebar's text now knows the page's part of the tab's text
        at.run()
    # a tab's live charts, and its lines of text that fetch themselves (the status lines, the sidebar's): one feed
    charts = [component_args(at) for at in tabs]
    args = [component_args(at) + component_args(at, "livetext") for at in tabs]
    assert len(args[0]) >= 3 and all(a["feed"] for a in args[0])
    assert len({a["feed"] for a in component_args(tabs[0], "livetext")}) == 1
    recipes = len(charts[0]) + 1
    assert len(builds) == len(set(builds)) == recipes + 1  # one build each for three tabs (and the sidebar's
    # text once before the first page had written its part)
    assert [a["spec"] for a in args[0]] == [a["spec"] for a in args[1]] == [a["spec"] for a in args[2]]
    assert {a["feed"] for a in args[0]}.isdisjoint(a["feed"] for a in args[1])  # each tab its own token
    for a in args[2]:
        assert feeds.poll(a["feed"].removeprefix(livefeed.PREFIX), a["version"])[0] == 204
    assert len(builds) == recipes + 1
    with sqlite3.connect(live_store) as c:
        c.execute("UPDATE runs SET step = step + 1 WHERE name = 'test-lstm'")
    time.sleep(1.1)  # the runs table is cached for a second
    tabs[0].run()
    assert len(builds) == 2 * recipes + 1  # a step committed: built again, once
    assert component_args(tabs[0])[0]["version"] != args[0][0]["version"]


def test_without_the_feed_route_charts_are_not_fed_and_finished_runs_are_fed_only_for_a_zoom(
    trained_store, monkeypatch
):
    monkeypatch.setenv("RNNVIZ_STORE", str(trained_store))
    at = open_page("overview")
    assert all(a["feed"] is None for a in component_args(at))
    monkeypatch.setattr(livefeed.FEEDS, "serving", True)
    at = open_page("overview")  # both runs finished: a feed for a zoom, nothing to poll for
    args = component_args(at)
    assert args and all(a["feed"] and a["live"] is False for a in args)


def test_a_zoomed_chart_is_fed_every_step_of_its_window(live_store):
    at = open_page("overview")
    args = component_args(at)[0]
    token = args["feed"].removeprefix(livefeed.PREFIX)
    whole = json.loads(livefeed.FEEDS.poll(token, "")[1])
    status, body, tag, _ = livefeed.FEEDS.poll(token, args["version"], (10, 20))
    assert status == 200 and tag != args["version"]
    loss = [t for t in json.loads(body)["data"] if t.get("yaxis", "y") == "y"]
    assert loss and all(sorted(decoded(t["x"])) == list(range(10, 21)) for t in loss)  # every step, only those
    assert livefeed.FEEDS.poll(token, tag, (10, 20))[0] == 204
    assert json.loads(livefeed.FEEDS.poll(token, "")[1])["data"] == whole["data"]  # unzoomed: the whole run
    response = livefeed.FEEDS.endpoint(request(token, tag, "&x0=10&x1=20.4"))
    assert response.status_code == 204 and response.headers["x-window"] == "10,20"
    assert livefeed.window_of("5", "x") is None and livefeed.window_of("-3", "4") == (0, 4)


def decoded(values) -> list[float]:
    """A trace's x as plotly.py writes it (a list, or a typed array in base64)."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return list(values)


def test_a_figure_being_built_is_not_built_again_by_the_tabs_asking_meanwhile(monkeypatch):
    """Tabs polling while one of their requests builds the figure get the last one, not a build each."""
    feeds, versions, builds = Feeds(fresh_s=0), [(1, "running")], []
    started, release = threading.Event(), threading.Event()
    feeds.register("t", "recipe", counting_source(versions, builds))
    first = feeds.poll("t", "")[2]
    versions.append((2, "running"))

    def slow(window=None):
        version, progress, build = counting_source(versions, builds)(window)
        started.set()
        release.wait(10)
        return version, progress, build

    feeds.feeds["t"].source = slow
    building = threading.Thread(target=feeds.poll, args=("t", ""))
    building.start()
    started.wait(10)
    assert [feeds.poll("t", "")[2] for _ in range(5)] == [first] * 5  # meanwhile: the last figure, not built again
    release.set()
    building.join(10)
    assert builds == [(1, "running"), (2, "running")]
    assert feeds.poll("t", "")[2] != first


def test_status_lines_fetch_themselves_and_say_what_the_page_said(live_store):
    """Fed, the Overview's status lines and the sidebar's are text that fetches itself as a chart does: the
    same words, `code` spans kept, every piece set as text (livetext writes text nodes: a run's name is
    whatever its owner typed)."""
    from rnnviz.dashboard.pages.overview import status_line
    from rnnviz.dashboard.shown import runs_now

    at = open_page("overview")
    args = component_args(at, "livetext")
    assert len(args) == 2 and all(a["live"] for a in args) and len({a["feed"] for a in args}) == 1
    # the page's part, written after the sidebar's: every part of the tab's text, from one read of the runs
    texts = json.loads(next(a for a in args if a["part"] == "status-lines")["spec"])["texts"]
    assert set(texts) == {a["part"] for a in args} == {"status-lines", "sidebar-status"}
    runs = runs_now(str(live_store), [1, 2])
    said = [[["code", r.label], ["text", status_line(r).split("`")[2]]] for r in runs]
    assert texts["status-lines"]["lines"] == said
    sidebar = texts["sidebar-status"]["lines"]
    assert sidebar[1] == [["text", f"{runs[1].label}: training, {100 * runs[1].row['progress']:.1f}%"]]
    assert sidebar[0][0][1].startswith(f"{runs[0].label}: finished")
    assert (texts["sidebar-status"]["size"], texts["status-lines"]["size"]) == (14, 16)
    assert live.pieces("`1 · <img src=x onerror=alert(1)>` a`b") == [
        ("code", "1 · <img src=x onerror=alert(1)>"),
        ("text", " a"),
        ("code", "b"),
    ]


def test_every_tab_shares_one_writing_of_the_readings_a_second(live_store):
    """A reading reads its runs' records: tabs showing the same runs within a second share one writing of it
    (live.readings); another step shown is another reading."""
    from rnnviz import findings
    from rnnviz.dashboard.shown import runs_now

    calls = []

    def reading(run, shown=()):
        calls.append(run.id)
        return findings.of(run, shown)

    path = str(live_store)
    tabs = [live.readings(runs_now(path, [1, 2]), reading) for _ in range(3)]
    assert tabs[0] == tabs[1] == tabs[2] and "accuracy" in tabs[0][0]
    assert calls == [1, 2]  # once per run, for the three tabs
    earlier = live.readings(runs_now(path, [1, 2], until=10), reading)
    assert calls == [1, 2, 1, 2] and earlier != tabs[0]


def test_a_why_chart_is_drawn_with_the_reading_that_quotes_its_probe_not_fed_ahead_of_it(live_store):
    """While a run trained, its Why chart, fed every second, ran a probe or two ahead of the reading above it
    (the page's, every 5 s): "its chart draws one probe, step 2,600" over a chart titled "(step 2,800)" (a
    fresh-eyes walk). The chart is the page's figure, drawn from the records the reading quotes."""
    at = open_page("gradient_flow")
    assert not at.exception, at.exception
    args = component_args(at)
    titles = [json.loads(a["spec"])["layout"]["title"]["text"] for a in args]
    why = [a for a, t in zip(args, titles, strict=True) if "test-lstm: Jacobians" in t]
    assert len(why) == 1 and why[0]["feed"] is None, [a["feed"] for a in why]
    title = json.loads(why[0]["spec"])["layout"]["title"]["text"]
    step = re.search(r"\(step ([\d,]+)\)", title).group(1)
    note = next(m.value for m in at.markdown if "test-lstm" in m.value and "Its chart draws one probe" in m.value)
    assert f"Its chart draws one probe, step {step}," in note, (title, note)
    heatmap = [
        a for a in args if "Gradient reaching each time step" in json.loads(a["spec"])["layout"]["title"]["text"]
    ]
    assert heatmap and all(a["feed"] for a in heatmap)  # the page's other charts still feed themselves
