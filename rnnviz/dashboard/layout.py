"""A page's layout of views (rnnviz/views/layouts.py) drawn as live charts: half-width slots side by side, a chart
per run where a slot says so, and a run that recorded none of what a view reads told so in one shared way."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from .. import views
from ..figures import Style
from ..views.layouts import Slot
from . import live, shown


def show(layout: Sequence[Slot], runs: list[shown.ShownRun], style: Style, fed: bool = True, **options: Any) -> None:
    """Draw each slot of a layout for the runs; `options` are the page's choices the slots take (which,
    threshold, zrange, name, key); not `fed`, its charts are redrawn with the page (live.live_chart)."""
    cols: Sequence[Any] | None = None
    k = 0
    told: set[str] = set()  # a run's line said once: two charts of a run before its first probe said it twice
    for slot in layout:
        if not slot.half:
            cols, k = None, 0
        for group in slot.groups(runs):
            if slot.half:
                if cols is None or k % 2 == 0:
                    cols = st.columns(2)
                with cols[k % 2]:
                    draw(slot, group, style, options, told, fed)
                k += 1
            else:
                draw(slot, group, style, options, told, fed)


def draw(
    slot: Slot,
    runs: list[shown.ShownRun],
    style: Style,
    options: dict[str, Any],
    told: set[str] | None = None,
    fed: bool = True,
) -> None:
    """One chart of a slot; a chart of one run that recorded none of the view's quantities is a line saying so,
    once in a layout (`told`: the lines said so far)."""
    view = slot.of
    chosen = {**view.defaults, **{k: options[k] for k in slot.options if k in options}}
    if view.one and (said := views.lacking(view, runs[0])):
        told = set() if told is None else told
        if said not in told:
            told.add(said)
            st.caption(said)
        return
    key = chosen.pop("key", None) or slot.key.format(id=runs[0].id, **chosen)
    if "key" in slot.options:
        chosen["key"] = key  # the view's own key, as the page names it
    live.live_chart(key, view.build, runs, one=view.one, fed=fed, style=style, **chosen)
