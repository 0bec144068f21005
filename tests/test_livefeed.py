"""Live charts feed themselves: the server answers a chart's poll with its figure, or 204 when nothing changed."""

from __future__ import annotations

import base64
import json
import shutil
import sqlite3
import time

import numpy as np
import pytest
from starlette.requests import Request

from rnnviz.dashboard.livechart import feed as livefeed
from rnnviz.dashboard.livechart.feed import Feeds, version_tag

from .test_app import figures, open_page


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
    args = [json.loads(c.proto.json_args) for c in at.get("component_instance")]
    assert args and args[0]["feed"].startswith(livefeed.PREFIX)
    token = args[0]["feed"].removeprefix(livefeed.PREFIX)
    assert livefeed.FEEDS.poll(token, args[0]["version"])[0] == 204  # nothing committed since the page drew
    status, body, _, _ = livefeed.FEEDS.poll(token, "")
    assert status == 200 and json.loads(body)["data"] == figures(at)[0]["data"]
    with sqlite3.connect(live_store) as c:
        c.execute("UPDATE runs SET step = step + 1 WHERE name = 'test-lstm'")
    time.sleep(1.1)  # the runs table is cached for a second
    assert livefeed.FEEDS.poll(token, args[0]["version"])[0] == 200


def test_without_the_feed_route_charts_are_not_fed_and_finished_runs_are_fed_only_for_a_zoom(
    trained_store, monkeypatch
):
    monkeypatch.setenv("RNNVIZ_STORE", str(trained_store))
    at = open_page("overview")
    assert all(json.loads(c.proto.json_args)["feed"] is None for c in at.get("component_instance"))
    monkeypatch.setattr(livefeed.FEEDS, "serving", True)
    at = open_page("overview")  # both runs finished: a feed for a zoom, nothing to poll for
    args = [json.loads(c.proto.json_args) for c in at.get("component_instance")]
    assert args and all(a["feed"] and a["live"] is False for a in args)


def test_a_zoomed_chart_is_fed_every_step_of_its_window(live_store):
    at = open_page("overview")
    args = json.loads(at.get("component_instance")[0].proto.json_args)
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
