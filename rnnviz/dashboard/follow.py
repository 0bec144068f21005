"""Follow the presenter: the presenter's view (page, runs, step, replay) published for the viewers of a
shared dashboard, and a viewer's switch that keeps their page on it.

Where the view lives: in one small object of the server process (`st.cache_resource`), not in the run
store. It is what a tab shows, not a record: nothing needs it after the server stops, the viewers'
sessions run in the same process and read it without any I/O, and writing it to SQLite at every
presenter rerun would put a second writer beside the trainers' (one writer at a time in WAL mode) for
nothing. A server restart forgets it, as it forgets the sessions that follow it.

How a follower changes page: its browser does it, not the server. The follower's check is a fragment that
reruns every POLL_S, and in Streamlit 1.67 the browser sends each of those reruns on its own timer, stamped
with the page the browser shows (and its widgets' values), even while a run is on its way (streamlit#15088
would hold them back; it was not merged). A page switched by the server (`st.switch_page` in the fragment)
left ticks in flight stamped with the old page; the server took each for a change back to the old page: it
ran with the old page's scrubber value (the step went back), dropped widget state (the switch went off),
and a rerun asked from that run went to the old page. Only the first change was followed. A switch the
browser makes itself (Streamlit's back/forward path, below) stops its timers before it asks for the new page,
so no tick from the old page comes after it.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from .. import roles
from . import state
from .shown import Replay

POLL_S = 0.5  # a follower checks the presenter's view this often: it shows a change within a second
FOLLOWING = "following"  # bool: the viewer's switch (session state key)
FOLLOW_NEXT = "follow_next"  # View: the presenter's view, applied at the start of the next page run


@dataclass(frozen=True)
class View:
    page: str  # the page's URL path ("" for the default page)
    runs: tuple[int, ...]
    pinned: int | None
    replay: Replay | None  # the presenter's own, read for its clock (the same process's monotonic time)


class Stage:
    """The presenter's latest view, one per server process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.view: View | None = None

    def publish(self, view: View) -> None:
        with self.lock:
            self.view = view

    def read(self) -> View | None:
        with self.lock:
            return self.view


@st.cache_resource
def stage() -> Stage:
    return Stage()


def publish(page: StreamlitPage) -> None:
    """The presenter's page run: its view, for those who follow (only on a shared dashboard, where viewers are)."""
    if roles.sharing() and roles.presenter():
        stage().publish(View(page.url_path, tuple(state.selected()), state.pinned(), state.replay()))


def _same_replay(a: Replay | None, b: Replay | None) -> bool:
    if a is None or b is None:
        return a is b
    return (a.last, a.seconds, a.created) == (b.last, b.seconds, b.created)


def _behind(view: View, current: str) -> bool:
    """Whether this session shows something else than the presenter's view."""
    return (
        view.page != current
        or list(view.runs) != state.selected()
        or view.pinned != state.pinned()
        or not _same_replay(view.replay, state.replay())
    )


def apply() -> None:
    """At the start of a page run, before the sidebar's widgets: the view a follower's check found behind (a
    widget's value can be set only before the widget is drawn in a run)."""
    view = st.session_state.pop(FOLLOW_NEXT, None)
    if view is None:
        return
    st.session_state[state.SELECTED] = list(view.runs)
    st.session_state[state.PINNED] = view.pinned
    if view.replay is None:
        st.session_state.pop(state.REPLAY, None)
    else:  # a copy on the presenter's clock, with its own token: this session's charts report to it
        st.session_state[state.REPLAY] = dataclasses.replace(view.replay, token=secrets.token_urlsafe(8))
        st.session_state[state.REPLAY_SECONDS] = view.replay.length  # the box says the length playing


def _go_to(current: str, view: View) -> None:
    """Have the browser open the presenter's page as its back and forward buttons do: Streamlit's own
    navigation stops the tab's timers, then asks for the page (its runs and step travel in FOLLOW_NEXT; the
    address carries them only so that it reads right at once). The page path is one of ours, and the query
    holds numbers only: nothing the presenter typed reaches the script."""
    query = urlencode({"runs": ",".join(map(str, view.runs)), **({} if view.pinned is None else {"step": view.pinned})})
    target = json.dumps(f"./{view.page}?{query}")
    here = json.dumps(f"/{current}")
    st.html(
        "<script>(() => {"
        f"if (!window.location.pathname.endsWith({here})) return;"  # the tab has moved since: leave it be
        f"window.history.pushState({{}}, '', {target});"
        "window.dispatchEvent(new PopStateEvent('popstate'));"
        "})();</script>",
        unsafe_allow_javascript=True,
    )


def follow(page: StreamlitPage, pages: Sequence[StreamlitPage]) -> None:
    """A viewer's switch in the sidebar; while on, every POLL_S the page is put where the presenter's is."""
    if not roles.sharing() or roles.presenter():
        return
    on = st.sidebar.toggle(
        "Follow the presenter",
        key=FOLLOWING,
        help="Your page shows the presenter's: the same page, runs, step and replay, within a second. "
        "Switch it off to look around on your own.",
    )
    if not on:
        return

    @st.fragment(run_every=POLL_S)
    def watch() -> None:
        view = stage().read()
        if view is None:
            st.caption("The presenter has not opened the dashboard yet.")
            return
        if not _behind(view, page.url_path):
            mine = state.replay()
            if mine is not None and view.replay is not None and view.replay.started != mine.started:
                # the presenter's clock, the same step as theirs: not started until theirs is (this tab's charts,
                # drawn sooner, had started it seconds ahead of the presenter's)
                mine.started = view.replay.started
            return
        st.session_state[FOLLOW_NEXT] = view
        if view.page == page.url_path:
            st.rerun(scope="app")
        if any(p.url_path == view.page for p in pages):  # a page of this dashboard: nothing else is put in a URL
            _go_to(page.url_path, view)

    with st.sidebar:
        watch()
