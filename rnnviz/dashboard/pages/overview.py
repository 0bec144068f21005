"""Overview page: loss, validation accuracy and saturation of the selected runs, overlaid, with a plain reading;
the epoch curves of runs trained in epochs, and the blog posts' printed figures beside the runs of their presets."""

from __future__ import annotations

import streamlit as st

from rnnviz import findings, views, words
from rnnviz.dashboard import layout, live, shown, state
from rnnviz.published import published
from rnnviz.views import layouts

# Presenter mode hides the sidebar, so its caption does not send the room there; and it gives the chart the
# screen: the run lines go under it, and the chart grows to the fold (three panels of ~85 px were cramped).
PRESENTER_HEIGHT = 680  # px: the chart starts ~200 px down, under the title and caption, and ends above 900


def status_line(r: shown.ShownRun) -> str:
    status, at = shown.status_text(r.row["status"]), words.progress(r.row["step"], words.total_steps(r.row, r.cfg))
    if r.until is not None and state.replay() is not None:  # a replay: how the run ended is not given away
        return f"`{r.label}` replaying; showing {at}"
    if r.until is not None:  # the step scrubber shows an earlier step: nor is it given away ("finished")
        return f"`{r.label}` scrubbed back; showing {at}"
    return f"`{r.label}` {status}, {at}"


def render(runs: list[shown.ShownRun]) -> None:
    style = shown.style()
    if shown.presenting():
        layout.show(layouts.OVERVIEW, runs, style, height=PRESENTER_HEIGHT)
        live.status_lines(runs, status_line)
    else:
        live.status_lines(runs, status_line)
        overview_or_groups(runs, style)
    if layouts.in_epochs(runs):
        st.subheader("Epochs")
        layout.show(layouts.OVERVIEW_EPOCHS, runs, style)
    beside_published(runs, style)
    st.subheader("Reading")
    for text in live.readings(runs, findings.of):
        st.markdown(text)


def overview_or_groups(runs: list[shown.ShownRun], style) -> None:
    """The Overview's chart, or, with the switch on, each group of seeds as its mean with a band."""
    if live.group_switch(runs, "ov-grouped"):
        cols = st.columns(2)
        for k, name in enumerate((findings.evaluated(runs[0]), "saturated", "loss")):
            with cols[k % 2]:
                layout.draw(layouts.OVERVIEW_GROUPED, runs, style, {"name": name})
    else:  # large fonts beside the sidebar: the presenter's height, or the panels' ticks run into each other
        large = style.font_size > views.DEFAULT.font_size
        layout.show(layouts.OVERVIEW, runs, style, height=PRESENTER_HEIGHT if large else None)


def beside_published(runs: list[shown.ShownRun], style) -> None:
    """For runs of a blog experiment's preset, a switch to draw their curves (a mean over seeds with its band)
    with the figures the post printed marked on them."""
    posts = {r.id: published(str(r.row["name"])) for r in runs}
    of_posts = [r for r in runs if posts[r.id]]
    names = sorted({name for post in posts.values() if post for name in post.points})
    if not names or shown.presenting():
        return
    if st.toggle(
        "Beside the published figures",
        key="ov-published",
        help="The blog posts printed their batch loss and accuracy every 100 (or 10) steps; their figures are "
        "marked over these runs' curves, each group of seeds drawn as its mean with its band.",
    ):
        for name in names:
            layout.draw(layouts.PUBLISHED, of_posts, style, {"name": name})


def main() -> None:
    """The page: its title and what it shows, then its charts, kept live."""
    st.title("Overview")
    if shown.presenting():
        st.caption("Training loss, validation accuracy and saturation, updating live while the runs train.")
    else:
        st.caption(
            "Training loss and accuracy on the validation split (held out of the training images) of the runs "
            "picked in the sidebar, updating live while they train; the test split is evaluated once, at the end."
        )
    live.live(render)


if __name__ == "__main__":
    main()
