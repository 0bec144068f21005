"""The dashboard's session state: every key the pages, the sidebar and the live parts share, what each
holds, and typed reads of the ones read in many places. A widget given one of these keys writes it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

if TYPE_CHECKING:
    from .shown import Replay

SELECTED = "selected_runs"  # list[int]: the runs every page shows (the sidebar's picker)
SELECT_NEXT = "select_next"  # list[int]: runs just started, picked at the next rerun
PINNED = "pinned_step"  # int | None: the step the scrubber pins; None follows the latest
SCRUB = "scrub"  # int: the scrubber's value
SCRUB_SET = "scrub_set"  # list[(monotonic s, int)]: the steps the sidebar gave the scrubber itself lately
STEP_MOVED = "step_moved"  # bool: the scrubber or the replay changed in the sidebar; the page reruns
REPLAY = "replay"  # Replay | None: a replay playing
REPLAY_FROM_URL = "replay_from_url"  # float: a link's ?replay=SECONDS, started once the runs are known
REPLAY_SECONDS = "replay_seconds"  # int | float: the replay's length in the sidebar (a link's, or chosen)
PRESENT = "present"  # bool: presenter mode (large fonts, no controls)
LARGE_FONTS = "large_fonts"  # bool
SAMPLES = "samples_axis"  # bool: charts over training count samples seen (step x batch size), not steps
LIVE = "live"  # bool: live updates on
URL_READ = "url_read"  # bool: the link's parameters were read (once per browser session)
WATCHING = "watching"  # {"ids": [...], "where": str}: runs started from the Train page, for its prompt
FEED_TOKENS = "feed_tokens"  # {(chart key, recipe): token} of the live charts' feeds
TEXT_FEED = "text_feed"  # {"path", "token", "parts": {key: live.TextPart}}: the tab's one feed of live text
REMEDIES_REUSED = "remedies_reused"  # list[int]: runs the Remedies set just launched reused, said once
SWEEP_STARTED = "sweep_started"  # {"after": newest sweep id, "runs", "log", "at"}: a sweep started on the Sweeps page
CHARTS = "charts"  # live.Charts: the charts the page body drew in this run, and those on screen (a replay waits)
SIDEBAR_STATUS = "sidebar_status"  # {run id: status}: what the sidebar's lines said of the picked runs when drawn
RUN_PICKED = "run_picked"  # int: the run the Train page's runs table acts on (its Run picker)
RUN_ACTION = "run_action"  # {"run": int, "action": "stop" | "resume"}: what the picker's buttons last asked


def replay() -> Replay | None:
    return st.session_state.get(REPLAY)


def selected() -> list[int]:
    return st.session_state.get(SELECTED, [])


def pinned() -> int | None:
    return st.session_state.get(PINNED)


def live_updates() -> bool:
    return bool(st.session_state.get(LIVE, True))
