"""The dashboard's sidebar: the run picker, the step scrubber and replay, presenter mode, and the URL
that carries them (so a link reopens the same view)."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from .. import roles, share, words
from ..store import Status, StoreError
from ..views import colour_of
from . import state
from .live import FED_REFRESH_S, feeding, live_text, resume_waiting
from .reads import REFRESH_S, config, runs_table, store_path
from .shown import Replay, ShownRun, presenting, runs_now, status_text

REPLAY_SECONDS = (10, 20, 30, 60, 120, 300)
PACE_S = 0.2  # during a replay, how often a tab checks for the clock's next frame (Replay.FRAME_S); it draws nothing


# What a link may ask for: a replay of 1 s to an hour (a shorter one had no step to show, a longer one never
# visibly moves), and steps and run ids below this (a larger number is no step or run any store holds).
REPLAY_RANGE = (1.0, 3600.0)
LARGEST = 10**12


def _number(q, name: str, kind: type, notes: list[str]) -> float | None:
    """A link's parameter as a number of `kind` (int or float) within range, or None with a note saying why it
    was ignored (the text cut short in a code span, so markup in it shows as the text it is)."""
    text = q.get(name, "")
    if not text:
        return None
    shown = "`" + f"{name}={text[:40]}".replace("`", "'") + "`"
    try:
        value = kind(text)
    except (ValueError, OverflowError):
        notes.append(f"{shown} is not a {'whole ' if kind is int else ''}number")
        return None
    low, high = REPLAY_RANGE if name == "replay" else (0, LARGEST)
    if not low <= value <= high:  # NaN too
        notes.append(f"{shown} is outside {low:,.0f} to {high:,.0f}")
        return None
    return value


def link_values(q) -> tuple[list[int], int | None, float | None, list[str]]:
    """A link's runs, step and replay (None where it gives none), and a note for each that is not what it
    should be (docs/bad-inputs.md lists them)."""
    notes: list[str] = []
    parts = [part.strip() for part in q.get("runs", "").split(",") if part.strip()]
    wanted = [_number({"runs": part}, "runs", int, notes) for part in parts]
    step = _number(q, "step", int, notes)
    replay = _number(q, "replay", float, notes)
    return [int(r) for r in wanted if r is not None], None if step is None else int(step), replay, notes


def _from_url(ids: list[int]) -> None:
    """Once per browser session: the runs, step, presenter mode, samples axis and replay a link carries. A link
    with a parameter that is not what it should be is ignored, with a note that says which and why; parameters
    it does not know are left alone."""
    if st.session_state.get(state.URL_READ):
        return
    st.session_state[state.URL_READ] = True
    q = st.query_params
    wanted, step, replay, notes = link_values(q)
    if notes:  # a broken link: the latest runs, rather than a view the link did not mean
        st.toast("The link's " + "; ".join(notes) + ": showing the latest runs instead.", icon=":material/link_off:")
        return
    if wanted:  # a run deleted since the link was made is left out (the page says when none is left)
        st.session_state[state.SELECTED] = [r for r in wanted if r in ids]
    if step is not None:
        st.session_state[state.PINNED] = step
    st.session_state[state.PRESENT] = q.get("present") == "1"
    st.session_state[state.SAMPLES] = q.get("samples") == "1"
    if replay is not None:
        st.session_state[state.REPLAY_FROM_URL] = replay


def _to_url() -> dict[str, str]:
    """The view as query parameters (the page is the URL's path), so a link reopens it."""
    params = {"runs": ",".join(map(str, state.selected()))}
    if state.pinned() is not None:
        params["step"] = str(st.session_state[state.PINNED])
    if presenting():
        params["present"] = "1"
    if st.session_state.get(state.SAMPLES):
        params["samples"] = "1"
    for key in ("runs", "step", "present", "samples"):  # other parameters (?preset= of the Train page) stay
        if params.get(key):
            st.query_params[key] = params[key]
        elif key in st.query_params:
            del st.query_params[key]
    return params


# How long a late message may carry back a step the sidebar gave the scrubber itself: the browser sends the
# sidebar's 1 s refreshes on its own timer, each with the scrubber where the browser last drew it, and one sent
# before the step the server had just set reached it read as the person scrubbing back (a replay stopped after
# ~4 s; on a loaded machine a page's rerun takes seconds, so the echo window is a time, not a count).
SCRUB_ECHO_S = 30.0


def _scrubbed(last: int) -> None:
    value = st.session_state[state.SCRUB]
    if value in [v for _, v in st.session_state.get(state.SCRUB_SET, [])]:
        return  # a refresh carrying a step the sidebar set itself, not a move: the replay or live view goes on
    st.session_state[state.SCRUB_SET] = []
    st.session_state[state.PINNED] = None if value >= last else value
    st.session_state.pop(state.REPLAY, None)
    st.session_state[state.STEP_MOVED] = True


def _toggle_replay(last: int) -> None:
    if state.replay() is not None:
        st.session_state.pop(state.REPLAY)
    else:
        st.session_state[state.REPLAY] = Replay(last, float(st.session_state.get(state.REPLAY_SECONDS, 30)))
        st.session_state[state.PINNED] = None
    st.session_state[state.STEP_MOVED] = True


def _status_of(run: ShownRun) -> str:
    """A picked run's line in the sidebar: its state in a few words, a training run's with its progress (its
    step, where its length is not known: a loop watched without `total_steps`), a finished run's with the test
    accuracy it ended at. A run that a replay or the scrubber shows at an earlier step (`until`), at that step and
    no more (scrubbed, it said "finished, 10.7% test accuracy" beside charts that stop at step 1,500)."""
    row = run.row
    if run.until is not None:
        doing = "replaying" if state.replay() is not None else "scrubbed back"
        return f"{run.label}: {doing}, {words.progress(run.until, words.total_steps(row, run.cfg))}"
    if row["status"] == Status.FINISHED and not pd.isna(row["test_accuracy"]):  # none for the adding task
        return f"{run.label}: {status_text(row['status'])}, {words.percent(row['test_accuracy'])} test accuracy"
    if row["status"] != Status.RUNNING:
        return f"{run.label}: {status_text(row['status'])}"
    if words.total_steps(row, run.cfg) is None:
        return f"{run.label}: {status_text(row['status'])}, {words.progress(row['step'], None)}"
    return f"{run.label}: {status_text(row['status'])}, {words.percent(row['progress'])}"


def _replay_rate(steps: int, seconds: float) -> str:
    rate = steps / seconds
    if rate >= 1.5:
        return f"{steps:,} steps in {seconds:g} s, {rate:,.0f} steps a second"
    return f"{steps:,} steps in {seconds:g} s, a step every {seconds / max(steps, 1):.1f} s"


def _step_controls(last: int, live: bool = False, at: int | None = None) -> None:
    """The step scrubber and replay, for the picked runs' `last` step, `at` the replay's step read in this run.
    While a picked run trains (`live`) and the scrubber is at its right end, the charts follow the latest step;
    its own number would trail them by up to the second between the sidebar's refreshes, so it says "latest"
    instead of a number of its own."""
    if last <= 0:
        return
    pinned = state.pinned()
    if live and pinned is None and state.replay() is None:
        # Not a style-only st.html: Streamlit puts those in the page's event container by position, and one
        # written by this fragment replaced the page's own (the run colours and the picker's height).
        st.html(
            "<style>[data-testid=stSidebar] :is([data-testid=stSliderThumbValue], [data-testid=stSliderTickBarMax])"
            " { visibility: hidden; }</style><span></span>"
        )
        st.caption("Following the latest step, live: the charts show each run's newest records.")
    replay = state.replay()
    if replay is not None:  # the step is written once, in the bar above the page, not beside it again
        st.html("<style>[data-testid=stSidebar] [data-testid=stSliderThumbValue] { visibility: hidden; }</style><span>")
        st.caption("Replaying: the step shown is written above the charts.")
    # during a replay the scrubber stands at the replay's step, as every chart does (the page shows the step read here)
    at = at if replay is not None else pinned
    value = min(at, last) if at is not None else last
    st.session_state[state.SCRUB] = value
    now = time.monotonic()
    recent = [(t, v) for t, v in st.session_state.get(state.SCRUB_SET, []) if now - t < SCRUB_ECHO_S]
    st.session_state[state.SCRUB_SET] = [*recent, (now, value)]
    st.slider(
        "Step shown",
        0,
        last,
        key=state.SCRUB,
        on_change=_scrubbed,
        args=(last,),
        help="Moves every chart on every page to this training step. At the right end, charts follow the latest step.",
    )
    c1, c2 = st.columns(2, vertical_alignment="bottom")
    st.session_state.setdefault(state.REPLAY_SECONDS, 30)
    lengths = sorted({*REPLAY_SECONDS, st.session_state[state.REPLAY_SECONDS]})  # a link's own length too
    seconds = c1.selectbox(
        "Replay in",
        lengths,
        format_func=lambda s: f"{s:g} s",
        key=state.REPLAY_SECONDS,
        help="Play the picked runs from step 0 as if they were training, at this speed; every page follows.",
    )
    replaying = state.replay() is not None
    c2.button(
        "Stop" if replaying else "Replay",
        icon=":material/stop:" if replaying else ":material/replay:",
        on_click=_toggle_replay,
        args=(last,),
        width="stretch",
    )
    # following the latest step, the scrubber is reread at the page's pace: a count of steps would trail
    following = live and pinned is None and not replaying
    if replay is not None:  # the one playing, which a link may have started at its own length
        st.caption("Replaying " + _replay_rate(replay.last, replay.seconds))
    elif following:
        st.caption(f"Replays every step so far in {seconds} s")
    else:
        st.caption("Replays " + _replay_rate(last, seconds))


def _progress_and_step_controls(path: str) -> None:
    """What the picked runs do now and the step controls, kept current while any of them trains: one short
    line for each picked run (how it ended, once it has), and a scrubber that reaches their latest step.

    The lines are reread every second, as the charts are (fed, they fetch themselves: live.live_text). The
    scrubber's end trailed a run by 5 s of its steps at the page's own pace (every 5 s while its charts feed
    themselves), 640 steps of a fast machine's RNN: it is reread every second wherever it shows a number.
    Following the latest step it shows none ("Following the latest step"), and is reread at the page's pace:
    a room of 50 tabs rerunning it every second cost the server a third of a core (bench/bench_room.py).
    During a replay the whole tab is drawn from one reading of its clock in one run of the app (`pace`): the
    lines and the page's body, fragments on timers of their own, said step 368 beside the page's 453."""
    picked = list(st.session_state[state.SELECTED])
    first = runs_now(path, picked)
    polling = any(r.active for r in first) and state.live_updates()
    before = [r.row["status"] for r in first]
    st.session_state[state.SIDEBAR_STATUS] = {r.id: r.row["status"] for r in first}  # runs.section follows them
    fed = polling and feeding()
    if state.replay() is not None:
        every: float | None = None  # redrawn by the runs of the whole tab that `pace` asks for
    elif polling and (not fed or state.pinned() is not None):
        every = REFRESH_S
    else:
        every = FED_REFRESH_S if fed else None

    @st.fragment(run_every=every)
    def controls() -> None:
        replay = state.replay()
        at = replay.tick() if replay is not None else None  # read once: the lines, the scrubber and the page say it
        if replay is not None and replay.done:  # played to its end, on any page: each shows the whole runs again
            st.session_state.pop(state.REPLAY)
            st.session_state[state.STEP_MOVED] = True  # and the URL and the pace below catch up
            replay = at = None
        now = runs_now(path, picked)
        until = at if replay is not None else state.pinned()
        shown = now if until is None else runs_now(path, picked, until=until)
        if fed and until is None:
            live_text("sidebar-status", _status_of, shown, caption=True)
        elif lines := [_status_of(r) for r in shown]:
            st.caption("  \n".join(lines))
        live = any(r.active for r in now)
        _step_controls(max((int(r.row["step"]) for r in now), default=0), live=live, at=at)
        if st.session_state.pop(state.STEP_MOVED, False) or (polling and [r.row["status"] for r in now] != before):
            # the step moved (every chart follows it), or a picked run started or ended: the page draws them
            # once more (without polling, once every one has ended)
            st.rerun(scope="app")

    app_run = [True]  # this function's first call is in a run of the whole app; the fragment's reruns are not

    @st.fragment(run_every=PACE_S)
    def pace() -> None:
        """While a replay plays: a run of the whole tab as soon as the clock's next frame begins."""
        replay, in_app_run = state.replay(), app_run[0]
        app_run[0] = False
        if replay is not None and replay.moved and not in_app_run:
            st.rerun(scope="app")

    with st.sidebar:
        controls()
        if state.replay() is not None:  # a fragment not called in a run of the app stops its timer
            pace()
    if (replay := state.replay()) is not None:  # above the page, with the lines (the body's, after its reads, lagged)
        step = replay.step()
        st.progress(step / max(replay.last, 1), text=f"Replay: step {step:,} of {replay.last:,}")


def ink(background: str) -> str:
    """Text legible on a background colour: white on a dark one, near-black on a light shade."""
    r, g, b = (int(background[k : k + 2], 16) for k in (1, 3, 5))
    return "white" if 0.299 * r + 0.587 * g + 0.114 * b < 150 else "#111111"


def _runs_ui(runs: pd.DataFrame) -> list[int]:
    """The run picker: the runs every page shows. Those a page has just started, else the link's or the
    picker's own, else on a shared dashboard the newest blog pair (a talk's), else the newest two; runs no
    longer in the store are dropped."""
    ids = runs["run_id"].tolist()
    if state.SELECT_NEXT in st.session_state:  # set by the Train and Remedies pages after starting runs
        st.session_state[state.SELECTED] = st.session_state.pop(state.SELECT_NEXT)
        st.session_state[state.PINNED] = None
    elif state.SELECTED not in st.session_state:
        pair = share.blog_pair(runs) if roles.sharing() else None
        st.session_state[state.SELECTED] = pair or ids[:2][::-1]
    st.session_state[state.SELECTED] = [r for r in st.session_state[state.SELECTED] if r in ids]
    names = runs.set_index("run_id")["name"]
    return st.sidebar.multiselect(
        "Runs shown",
        ids,
        key=state.SELECTED,
        format_func=lambda r: f"{r} · {names[r]}",  # no status here: it would be as old as the page's last rerun
        help="The runs every page plots. Finished runs of earlier sessions are here too.",
    )


def _switches_ui() -> None:
    """Live updates, samples on the x axis and large fonts: each kept in the session state under its key."""
    st.sidebar.toggle(
        "Live updates",
        value=True,
        key=state.LIVE,
        help="Redraw the charts every second while a picked run trains. Pause to keep a chart still.",
    )
    st.sidebar.toggle(
        "Count samples seen",
        key=state.SAMPLES,
        help="Charts over training count the samples seen (step x batch size), as the blog posts count "
        "their iterations, instead of training steps. The data drawn stays the same.",
    )
    st.sidebar.toggle("Large fonts (for talks)", key=state.LARGE_FONTS)


def _page_style(path: str, names: pd.Series, picked: list[int]) -> None:
    """Each picked run's chip in its charts' colour (the theme's own colour is neutral, so no run claims it),
    the chips whole, no fading while a fragment reruns, and the large fonts or presenter mode asked for."""
    colours = {r: colour_of(config(path, r), str(names[r])) for r in picked}
    chips = "".join(
        f'[data-testid=stSidebar] [data-tag][aria-label^="{r} · "] {{ background: {c}; color: {ink(c)}; }}'
        for r, c in colours.items()
    )
    # Streamlit fades every element while a fragment reruns; once a second that repaints every chart.
    st.html(
        f"<style>{chips}"
        "[data-stale] { opacity: 1 !important; transition: none !important; }"
        "[data-testid=stStatusWidget] { display: none; }"
        # The picker grows to show every picked run: its own height cap hid chips below a scroll edge.
        "[data-testid=stSidebar] div:has(> [data-testid=stMultiSelectTagsContainer]) { max-height: none; }"
        # A chip as wide as the picker and as high as its name needs: Streamlit cut names at one line with an
        # ellipsis ("4 · remedies-orthog…"), and names of a sweep differ only at their end. A name breaks only
        # between its words or after a hyphen ("remedies-" / "orthogonal"), never inside a word, unless one
        # word alone is wider than the picker; its whole name is also the chip's hover text (Streamlit's title).
        "[data-testid=stSidebar] [data-tag] { max-width: 100%; height: auto; min-height: 28px; }"
        "[data-testid=stSidebar] [data-tag] > span { white-space: normal; overflow-wrap: break-word; "
        "word-break: normal; text-overflow: clip; line-height: 1.25; padding: 3px 0; }"
        "</style>"
    )
    if st.session_state.get(state.LARGE_FONTS) or presenting():
        st.html(LARGE_CSS)
    if presenting():
        st.html(PRESENTER_CSS)


def sidebar() -> None:
    """The run picker shared by every page, the step scrubber and replay, the presenter switches."""
    path = store_path()
    try:
        runs = runs_table(path)
    except StoreError as exc:
        st.sidebar.error(str(exc))
        st.stop()  # no page can be drawn without the store
    resume_waiting(path, runs)
    _from_url(runs["run_id"].tolist())
    picked = _runs_ui(runs)
    chosen = runs[runs["run_id"].isin(picked)]
    last = int(chosen["step"].max()) if len(chosen) else 0
    if state.REPLAY_FROM_URL in st.session_state and last > 0:
        replay = st.session_state[state.REPLAY] = Replay(last, st.session_state.pop(state.REPLAY_FROM_URL))
        st.session_state[state.REPLAY_SECONDS] = replay.length  # the box says the length playing, not 30 s
    _progress_and_step_controls(path)
    _switches_ui()
    params = _to_url()
    link = "?" + urlencode({**params, "present": "1"})
    st.sidebar.markdown(
        f"[Presenter view]({link}): this page with large fonts and no controls; the link keeps the runs and the step."
    )
    st.sidebar.caption(f"Store: `{path}`")
    _page_style(path, runs.set_index("run_id")["name"], picked)


# Large fonts for a room. The picker's chips get its whole width, its two buttons a line below them: beside
# them, at this size, a chip had 130 px and broke "1 · blog-rnn" after "blog-".
LARGE_CSS = """<style>
html, .stMarkdown, p, label { font-size: 22px !important; }
[data-testid=stSidebar] [role=group]:has(> [data-testid=stMultiSelectTagsContainer]) { flex-wrap: wrap; }
[data-testid=stSidebar] [data-testid=stMultiSelectTagsContainer] { flex: 1 0 100%; }
[data-testid=stSidebar] [data-testid=stMultiSelectTagsContainer] ~ button { margin-left: auto; }
[data-testid=stSidebar] [data-testid=stMultiSelectTagsContainer] ~ button ~ button { margin-left: 0; }
</style>"""

# Presenter mode hides the sidebar, the header and every control; only titles, text and charts remain.
PRESENTER_CSS = """<style>
[data-testid=stSidebar], [data-testid=stSidebarCollapsedControl], [data-testid=stHeader],
[data-testid=stExpandSidebarButton], [data-testid=stToolbar], [data-testid=stSelectbox],
[data-testid=stRadio], [data-testid=stSlider], [data-testid=stMultiSelect], [data-testid=stButton],
[data-testid=stDownloadButton], [data-testid=stNumberInput], [data-testid=stDataFrame],
[data-testid=stForm] { display: none !important; }
.block-container { padding-top: 1rem !important; max-width: 100% !important; }
h1 { font-size: 3rem !important; }
</style>"""
