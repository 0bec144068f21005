"""Live charts fed over HTTP: while runs train, each chart on an open page fetches its own figure from the
server once a second, instead of the whole page re-running to redraw it.

Why: a Streamlit rerun costs a browser tab about 25 ms of CPU even for a page of one line, on top of
redrawing its charts. With three tabs watching two runs on a 2-core machine, that came out of training
(0.83x its speed unwatched). A feed costs a tab one small request and one chart update a second, and tabs
that show the same chart share a figure built in the last half second.

How: the page registers each live chart's recipe (a view, the run ids, the options) under a random token;
the chart's frame polls `/rnnviz-feed/<token>?v=<version shown>` and gets the figure's JSON, or 204 when
no run has committed since. A zoomed chart adds `&x0=&x1=`, the steps it shows, and gets its figure with
the scalars of that window at the resolution it needs: every step, once zoomed in far enough. The server
keeps recipes (never data), a bounded number of them. The route is
mounted by the ASGI entry point `rnnviz/dashboard/web/server.py`, which `rnnviz app` runs; without it (a plain
`streamlit run app.py`) there are no feeds and pages rerun every second instead.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

PREFIX = "/rnnviz-feed/"

log = logging.getLogger(__name__)

# The training steps (first, last) a zoomed chart shows, or None for all of them.
Window = tuple[int, int] | None
# What a feed's source returns for a window: the version of its runs now, how far they have got (a number that
# grows as they commit steps: the chart draws a figure only if it is ahead of the one shown), and how to build
# the figure's JSON for it, its scalars read at the resolution the window needs.
Source = Callable[[Window], tuple[Hashable, int, Callable[[], str]]]


def version_tag(version: Hashable, window: Window = None) -> str:
    """A short name for a figure's version (its recipe and its runs' steps and statuses) over a window of steps,
    the same in the page and the feed."""
    return format(hash(version if window is None else (version, window)) & 0xFFFFFFFFFFFF, "x")


def window_of(x0: str | None, x1: str | None) -> Window:
    """The window a chart asks for (?x0=&x1=, its zoomed x axis), or None for a request without a valid one."""
    try:
        first, last = int(float(x0 or "")), int(float(x1 or ""))
    except ValueError:
        return None
    return (max(first, 0), last) if last >= max(first, 0) else None


@dataclass
class Feed:
    key: Hashable  # the recipe: feeds with equal keys show the same figure, so they share its builds
    source: Source
    used: float  # time.monotonic() of its last registration or poll


class Feeds:
    """The feeds of one server process, by token. At most `limit` are kept, and one not polled for `idle_s`
    is dropped (its tab was closed); a page that reruns registers its feeds again."""

    def __init__(self, limit: int = 256, idle_s: float = 120.0, figures: int = 32, fresh_s: float = 0.5) -> None:
        self.lock = threading.Lock()
        self.feeds: OrderedDict[str, Feed] = OrderedDict()
        # (key, window) -> (when, version, progress, JSON)
        self.built: OrderedDict[Hashable, tuple[float, str, int, str]] = OrderedDict()
        self.building: set[Hashable] = set()  # (key, window) being built now: other requests get the last one
        self.limit, self.idle_s, self.figures, self.fresh_s = limit, idle_s, figures, fresh_s
        self.serving = False  # set when the route is mounted (`route()`)

    def register(self, token: str, key: Hashable, source: Source) -> None:
        with self.lock:
            self.feeds[token] = Feed(key, source, time.monotonic())
            self.feeds.move_to_end(token)
            self._expire()

    def _expire(self) -> None:
        now = time.monotonic()
        while self.feeds and (len(self.feeds) > self.limit or now - next(iter(self.feeds.values())).used > self.idle_s):
            self.feeds.popitem(last=False)

    def poll(self, token: str, shown: str, window: Window = None) -> tuple[int, str, str, int]:
        """(HTTP status, body, version, progress) for a chart that shows version `shown` over `window`: 200 with
        the figure, 204 if nothing changed, 404 for a token this server does not know (it restarted, or the tab
        was idle: the chart goes on polling, and the page's next rerun registers the token again)."""
        with self.lock:
            feed = self.feeds.get(token)
            if feed is None:
                return 404, "", "", 0
            feed.used = time.monotonic()
            self.feeds.move_to_end(token)
        tag, progress, body = self.figure(feed.key, feed.source, window, shown)
        return (204, "", tag, progress) if tag == shown else (200, body, tag, progress)

    def figure(self, key: Hashable, source: Source, window: Window = None, shown: str = "") -> tuple[str, int, str]:
        """(version, progress, JSON) of recipe `key`'s figure over `window`, for every tab and page rerun alike.

        A figure built for a recipe less than `fresh_s` ago is served as it is, without reading the runs: a run
        commits a step every few milliseconds, so tabs asking at different moments would otherwise each see a
        new version and build the same figure once each. While one request builds it, the others get the last
        one. A figure costs ~30-40 ms to build; a room of 50 tabs whose pages each built their own every 5 s
        spent 0.4 of a core on it (bench/bench_room.py). The JSON is left empty when the version is `shown`,
        which the asker already has."""
        now = time.monotonic()
        built = (key, window)
        with self.lock:
            last = self.built.get(built)
            if last is not None and (now - last[0] < self.fresh_s or built in self.building):
                return last[1], last[2], last[3]  # fresh, or being built again by another tab's request
            self.building.add(built)
        try:
            version, progress, build = source(window)
            tag = version_tag((key, version), window)
            if last is not None and last[1] == tag:
                body = last[3]
            elif tag == shown:
                return tag, progress, ""
            else:
                body = build()
            with self.lock:
                self.built[built] = (now, tag, progress, body)
                self.built.move_to_end(built)
                while len(self.built) > self.figures:
                    self.built.popitem(last=False)
        finally:
            with self.lock:
                self.building.discard(built)
        return tag, progress, body

    def endpoint(self, request: Request) -> Response:
        q = request.query_params
        window = window_of(q.get("x0"), q.get("x1"))
        try:
            status, body, tag, progress = self.poll(request.path_params["token"], q.get("v", ""), window)
        except Exception as exc:  # a store that vanished or broke: the page's next rerun shows why
            log.warning("live chart feed failed: %s", exc)
            return Response(status_code=503, headers={"Cache-Control": "no-store"})
        shown = "" if window is None else f"{window[0]},{window[1]}"  # the chart drops answers for an old zoom
        headers = {"Cache-Control": "no-store", "X-Version": tag, "X-Progress": str(progress), "X-Window": shown}
        return Response(body or None, status_code=status, media_type="application/json", headers=headers)

    def route(self) -> Route:
        self.serving = True
        return Route(PREFIX + "{token}", self.endpoint, methods=["GET"])


FEEDS = Feeds()  # one per server process: the route and the pages' scripts run in the same process
