"""Live pages: a page body that reruns while its runs train or a replay plays, and charts that feed
themselves from the server (livechart/) between the page's reruns."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from .. import roles, runner, sweeps, views
from ..config import ConfigError, Limits
from ..figures import CHART_CONFIG
from ..store import Status, Store, StoreError
from . import livechart, state
from .livechart import script
from .livechart.feed import FEEDS, PREFIX
from .reads import REFRESH_S, runs_table, store_readonly
from .shown import ShownRun, runs_now, selected_runs, shown_step
from .shown import style as shown_style

# While the server feeds live charts (livechart/feed.py) they update themselves each second; the rest of a
# page (status lines, readings, tables) reruns this often, which costs a tab a rerun every 5 s, not every 1 s.
FED_REFRESH_S = 5.0


def live(
    render: Callable[[list[ShownRun]], None],
    empty_hint: str = "",
    pick: Callable[[], list[ShownRun]] = selected_runs,
) -> None:
    """Render with the picked runs (those selected in the sidebar), re-rendering every second while any of
    them trains or a replay plays."""
    runs = pick()
    if not runs:
        st.info(empty_hint or "No run selected. Start one on the **Train** page, or pick runs in the sidebar.")
        return
    polling = any(r.active for r in runs) and state.live_updates()
    # during a replay the body is drawn by runs of the whole tab, which the sidebar asks for at each new frame
    # of the replay's clock (sidebar.py's pace): on a timer of its own it said another step than the sidebar
    every = None if state.replay() is not None else (FED_REFRESH_S if feeding() else REFRESH_S) if polling else None

    @st.fragment(run_every=every)
    def body() -> None:
        replay = state.replay()
        if replay is not None:
            replay.for_page()  # every run is cut at this step (the sidebar wrote it, and the bar above the page)
        fresh = pick()
        st.session_state[state.CHARTS] = Charts()
        render(fresh)
        charts = st.session_state.pop(state.CHARTS)
        if replay is not None and replay.waiting and charts.drawn == charts.shown:
            replay.start()  # every chart of the page is on screen (or it has none to wait for): step 0 shows
        if polling and [r.row["status"] for r in fresh] != [r.row["status"] for r in runs]:
            st.rerun(scope="app")  # a run started or ended: the sidebar follows, and the page stops polling at the end

    body()


def status_lines(runs: list[ShownRun], line: Callable[[ShownRun], str]) -> None:
    """One line for each run, kept current while one trains and the page shows its latest step: the page
    around it reruns every 5 s while its charts feed themselves, and a step number that old contradicted the
    chart beside it. Fed, the lines fetch themselves as the charts do (live_text); else they are a fragment
    rerun every second."""
    path, ids = runs[0].path, [r.id for r in runs]
    following = any(r.active for r in runs) and state.live_updates() and all(r.until is None for r in runs)
    if following and feeding():
        live_text("status-lines", line, runs)
        return

    @st.fragment(run_every=REFRESH_S if following else None)
    def lines() -> None:
        st.markdown("  \n".join(line(r) for r in (runs_now(path, ids) if following else runs)))

    lines()


# Text as st.markdown and st.caption set it, and as the large fonts set both (dashboard/sidebar.py).
TEXT, CAPTION, LARGE = (16, "rgb(49, 51, 63)"), (14, "rgba(49, 51, 63, 0.6)"), 22


def live_text(key: str, line: Callable[[ShownRun], str], runs: list[ShownRun], caption: bool = False) -> None:
    """A line of text for each of the runs that has one (`line` gives "" for none; `code` spans are kept), which
    fetches itself from the server every second, as a live chart does: a room of 50 tabs rerunning a fragment
    each second for these lines cost the server more than its charts (bench/bench_room.py). Every tab showing
    the same lines shares one build of them a second.

    Every such text of a tab (the sidebar's lines, the page's status lines) is one feed, `key` its part: each
    answer holds every part, written from one read of the runs, and the frame that fetched it hands it to the
    others (livechart/frontend/index.html). Fetched each on its own, the sidebar said 70.4% (step 3,520) beside
    the page's "step 3,493 of 5,000"."""
    path = runs[0].path
    size, color = CAPTION if caption else TEXT
    size = LARGE if shown_style().font_size > views.DEFAULT.font_size else size
    group = st.session_state.get(state.TEXT_FEED)
    if group is None or group["path"] != path:
        group = st.session_state[state.TEXT_FEED] = {"path": path, "token": secrets.token_urlsafe(16), "parts": {}}
    clock = time.monotonic()
    parts = group["parts"]
    parts[key] = TextPart(line, tuple(r.id for r in runs), size, color, clock)
    for old in [k for k, part in parts.items() if clock - part.written > PART_IDLE_S]:
        del parts[old]  # a part of a page this tab has left (its page reran every few seconds while it showed it)
    texts = sorted(parts.items())
    ids = tuple(dict.fromkeys(i for _, part in texts for i in part.ids))

    def source(window: tuple[int, int] | None) -> tuple[tuple, int, Callable[[], str]]:
        now = runs_now(path, ids)
        by_id = {r.id: r for r in now}

        def build() -> str:
            return json.dumps(
                {"texts": {k: part.spec([by_id[i] for i in part.ids if i in by_id]) for k, part in texts}}
            )

        return tuple(r.version for r in now), progress_of(now), build

    recipe = ("texts", path, tuple((k, *part.recipe) for k, part in texts))
    FEEDS.register(group["token"], recipe, source)
    version, progress, spec = FEEDS.figure(recipe, source)
    livechart.text(spec, key, PREFIX + group["token"], version, progress)


PART_IDLE_S = 30.0  # a tab's text part not written for this long is dropped from its feed


@dataclass(frozen=True)
class TextPart:
    """One part of a tab's live text: its line for each run, of these runs, in this size and colour, and when the
    page last wrote it."""

    line: Callable[[ShownRun], str]
    ids: tuple[int, ...]
    size: int
    color: str
    written: float

    @property
    def recipe(self) -> tuple:
        return (self.line.__module__, self.line.__qualname__, self.ids, self.size, self.color)

    def spec(self, runs: list[ShownRun]) -> dict:
        return {
            "lines": [pieces(text) for text in map(self.line, runs) if text],
            "size": self.size,
            "color": self.color,
        }


def readings(runs: list[ShownRun], reading: Callable[[ShownRun, list[ShownRun]], str | None]) -> list[str | None]:
    """`reading(r, runs)` for each of the runs, written once a second for every tab that shows them: a reading
    reads the runs' records, and a room of 50 tabs each rereading them every 5 s spent a fifth of the server's
    CPU on it (bench/bench_room.py). A second is less than the page's own 5 s between reruns."""
    key = (reading.__module__, reading.__qualname__, runs[0].path, tuple(r.id for r in runs))
    return _readings(key, tuple((r.until, r.version) for r in runs), runs, reading)


@st.cache_resource(ttl=REFRESH_S, max_entries=64, show_spinner=False)
def _readings(key: tuple, shown: tuple, _runs: list[ShownRun], _reading: Callable) -> list[str | None]:
    """Keyed by the reading, the store, the run ids, the steps shown and the runs' versions (not by the runs'
    objects): a reading is of the records its page drew, so a chart drawn from the same runs agrees with it."""
    return [_reading(r, _runs) for r in _runs]


def pieces(text: str) -> list[tuple[str, str]]:
    """A line of markdown as livetext sets it: its `code` spans and the plain text between them."""
    return [("code" if k % 2 else "text", part) for k, part in enumerate(text.split("`")) if part]


@dataclass
class Charts:
    """The charts a run of a page's body draws, and how many of them have said they are on screen."""

    shown: int = 0
    drawn: int = 0


def _show(
    spec: str, key: str, feed: str | None = None, version: str | None = None, progress=None, polled=False
) -> None:
    """Draw a chart; while a replay waits for the page's charts, the chart says once it has drawn, and the
    replay's clock starts once every one has: started by the first, it stood at steps 183-405 by the time the
    last of a loaded machine's charts showed."""
    replay = state.replay()
    ready = replay.token if replay is not None and replay.waiting else None
    charts = st.session_state.get(state.CHARTS) or Charts()
    plotly = script.url() if script.SCRIPT.serving and not st.get_option("server.baseUrlPath") else None
    shown = livechart.show(spec, key, CHART_CONFIG, feed, version, progress, ready=ready, live=polled, plotly=plotly)
    charts.shown += 1
    charts.drawn += ready is not None and shown == ready


def chart(fig: go.Figure, key: str) -> None:
    """A chart that changes only when the page reruns."""
    _show(fig.to_json(), key)


def feeding() -> bool:
    """Whether live charts can feed themselves: the server mounts the feed route at the site's root, so not
    under a base URL path."""
    return FEEDS.serving and not st.get_option("server.baseUrlPath")


def live_chart(
    key: str, view: Callable[..., go.Figure], runs: list[ShownRun], /, one: bool = False, fed: bool = True, **options
) -> None:
    """The figure `view(runs, **options)` (`view(runs[0], ...)` with `one`), which, while any of the runs
    trains and the page shows the latest step, refreshes itself from the server every second; not `fed`, it
    is the page's figure, redrawn with the page (a chart its page's text describes keeps to that text). Where the page
    shows the latest step, a zoom into the chart fetches the figure of the steps it shows, its scalars at the
    resolution that needs (every step, zoomed in far enough), also for a finished run.

    Fed, the page's figure is the feed's: every tab's page reruns and chart polls share one build of a recipe
    a second (Feeds.figure), where each rerun of each tab built its own."""
    if not fed or not feeding() or shown_step() is not None:
        _show(view(runs[0] if one else runs, **options).to_json(), key)
        return
    path, ids = runs[0].path, tuple(r.id for r in runs)

    def source(window: tuple[int, int] | None) -> tuple[tuple, int, Callable[[], str]]:
        samples = bool(getattr(options.get("style"), "samples", False))  # the window counts samples seen
        now = runs_now(path, ids, window=window if view in views.OVER_STEPS else None, samples=samples)

        def build() -> str:
            return view(now[0] if one else now, **options).to_json()

        return tuple(r.version for r in now), progress_of(now), build

    # One token per chart and recipe: a chart whose runs or options change gets a new feed, which tells its
    # frame to draw the page's figure instead of leaving the updates to the feed.
    recipe = (view.__module__, view.__qualname__, path, ids, one, tuple(sorted(options.items())))
    token = st.session_state.setdefault(state.FEED_TOKENS, {}).setdefault((key, recipe), secrets.token_urlsafe(16))
    FEEDS.register(token, recipe, source)
    version, progress, spec = FEEDS.figure(recipe, source)
    polled = state.live_updates() and any(r.active for r in runs)
    _show(spec, key, PREFIX + token, version, progress, polled)


def group_switch(runs: list[ShownRun], key: str) -> bool:
    """Where picked runs differ only in their seed, a switch to draw them as groups (a mean over seeds with
    their band); when on, each group's reading of how many seeds agree. Returns whether it is on."""
    groups = sweeps.seed_groups(runs)
    on = bool(groups) and st.toggle(
        "Group seeds: mean and band",
        key=key,
        help="Runs alike in every setting but the seed are one group: its mean over seeds, with their band "
        "(min to max; the interquartile range from 5 seeds)",
    )
    if on:
        for label, members in groups:
            st.markdown(f"`{label}`: {sweeps.agreement([sweeps.final_accuracy(r.row) for r in members])}")
    return on


def progress_of(runs: list[ShownRun]) -> int:
    """How far a set of runs has got, a number that grows with every committed step and when a run ends: a
    live chart draws a figure only if it is ahead of the one it shows (livechart/frontend/index.html)."""
    return sum(2 * int(r.row["step"]) + (not r.active) for r in runs)


def resume_waiting(path: str, runs: pd.DataFrame) -> None:
    """Start runs of a launched set that still wait although slots are free: normally the trainer that
    ends starts the next, but a trainer killed outright starts nothing."""
    # a sweep's runs (sweep_id) wait for Ray, not for a free slot here; a viewer's page starts none (the
    # presenter's pages do, and the trainers themselves)
    waiting = ((runs["status"] == Status.WAITING) & runs["sweep_id"].isna()).any()
    if waiting and not store_readonly(path) and roles.presenter():
        try:
            with Store(path) as store:
                started = runner.start_waiting(store, Limits.from_env())
        except (StoreError, ConfigError) as exc:
            st.sidebar.warning(f"Runs are waiting to start, but: {exc}")
            return
        if started:
            runs_table.clear()
