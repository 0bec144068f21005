"""Remedies page: one click launches the collapsing RNN and one run per fix, same seed and data order, and
shows them side by side as they train."""

from __future__ import annotations

import json
from typing import NamedTuple

import numpy as np
import pandas as pd
import streamlit as st

from rnnviz import data as datamod
from rnnviz import findings, roles, runner, views, words
from rnnviz.config import REMEDIES, ConfigError, Limits, remedies
from rnnviz.dashboard import live, reads, shown, state
from rnnviz.figures import MISSING
from rnnviz.findings import gradient_ratio
from rnnviz.store import Status, Store, StoreError

WHAT = {name: what for name, _, what in REMEDIES}


class LaunchChoice(NamedTuple):
    """What the form asks for: the clipping run's threshold, every run's steps and the seed they share."""

    clip: float
    steps: int
    seed: int


def launch_ui(path: str) -> LaunchChoice | None:
    """The form that launches the remedies set: what was asked for once its button is pressed, else None."""
    with st.form("remedies", enter_to_submit=False):  # Enter in a field started the whole set
        c1, c2, c3, c4 = st.columns([1, 1, 1, 2], vertical_alignment="bottom")
        clip = c1.number_input(
            "Clip threshold", 0.01, 100.0, 1.0, step=0.5, help="The global gradient-norm threshold of the clipping run"
        )
        steps = c2.number_input("Steps", 100, 200_000, 5000, step=500, help="Training steps of every run in the set")
        seed = c3.number_input("Seed", 0, 2**31, 0, help="Weights and data order; the same for every run")
        go = c4.form_submit_button(
            f"Launch the remedies set ({len(REMEDIES)} runs)",
            type="primary",
            width="stretch",
            disabled=reads.store_readonly(path),
        )
    return LaunchChoice(float(clip), int(steps), int(seed)) if go else None


def capacity_note(limits: Limits) -> None:
    """Plain words (the setting and the command behind them in the tooltip), about controls a talk does not show."""
    st.caption(
        f"At most {limits.active_runs} runs train at once on this machine, sharing its cores; the others wait "
        "their turn and start as runs finish. For a talk, record the set beforehand, so that nothing waits in "
        "front of the room.",
        help=f"The cap on runs at once is ${Limits.env_name('active_runs')}. `python -m rnnviz demo` records the "
        "whole set ahead of a talk (docs/talks.md).",
    )


def launch(path: str, choice: LaunchChoice, limits: Limits) -> None:
    """Launch the set and pick its runs in the sidebar; say which runs it reused (on the rerun this starts)."""
    try:
        if datamod.locate("mnist") is None:
            raise ConfigError("dataset", "MNIST is not on this machine: download it on the Train page first")
        with Store(path) as store:
            known = set(store.runs()["run_id"].astype(int))
            # runs of these very settings (the blog pair trained on the Train page) are reused, not trained again
            # under new ids: the RNN and the LSTM keep their ids, so their colours, on every page
            configs = remedies(choice.clip, steps=choice.steps, seed=choice.seed)
            ids = runner.launch(configs, store, limits, reuse=True)
    except (ConfigError, StoreError) as exc:
        st.error(f"Not started: {exc}")
        return
    st.session_state[state.SELECT_NEXT] = ids
    if reused := [i for i in ids if i in known]:
        st.session_state[state.REMEDIES_REUSED] = reused
    reads.runs_table.clear()
    st.rerun()


def reused_note(path: str) -> None:
    """Once, after a launch: the runs of the set that were there already."""
    if reused := st.session_state.pop(state.REMEDIES_REUSED, None):
        names = reads.runs_table(path).set_index("run_id")["name"]
        st.info(
            f"Runs of these very settings are already here (trained or training), so part of the set as they are: "
            f"{', '.join(f'**{i} · {names.get(i, i)}**' for i in reused)}.",
            icon=":material/recycling:",
        )


def latest_remedies(path: str) -> list[shown.ShownRun]:
    """The newest run of each remedy, as the step scrubber or a replay shows it; of the blog pair (which other
    pages train too), the newest with the seed and steps of the newest remedy run, the set's own."""
    runs = reads.runs_table(path)
    runs = runs[runs["name"].isin(list(WHAT))]
    settings = runs["config"].map(lambda c: (json.loads(c).get("seed"), json.loads(c).get("steps")))
    own = runs["name"].str.startswith("remedies-")
    if own.any():
        anchor = settings[runs.loc[own, "run_id"].idxmax()]
        runs = runs[~runs["name"].isin(["blog-rnn", "blog-lstm"]) | (settings == anchor)]
    # a run stopped halfway, or one that failed, stands for its remedy only where no other run of it does: a
    # stopped blog pair at 38.8% read as the blog's RNN beside the set (a fresh-eyes walk)
    whole = ~runs["status"].isin([Status.STOPPED, Status.FAILED, Status.INTERRUPTED])  # diverging is a result
    newest = runs[whole].groupby("name")["run_id"].max().combine_first(runs.groupby("name")["run_id"].max())
    by_id = runs.set_index("run_id", drop=False)
    until = shown.shown_step()
    return [shown.ShownRun(path, by_id.loc[newest[name]], until) for name in WHAT if name in newest]


def last_value(run: shown.ShownRun, name: str) -> float:
    """A scalar's latest value, NaN (a dash) before its first record."""
    values = run.scalar(name)[1]
    return float(values[-1]) if len(values) else np.nan


def percent(value: float | None) -> float:
    """A fraction in percent; NaN (a dash) for one not measured yet (None in a run still training)."""
    return np.nan if value is None else 100 * float(value)


def table(runs: list[shown.ShownRun]) -> pd.DataFrame:
    rows = []
    for r in runs:
        what, share = WHAT[str(r.row["name"])], views.clipped_share(r)
        if r.cfg.clip:  # its threshold, and how often it fired: one run clips, so no column of dashes for it
            what = f"{what} at {r.cfg.clip:g}" + (f" ({words.percent(share)} of steps)" if share is not None else "")
        ratio = gradient_ratio(r.series("grad_h")[1])
        rows.append(
            {
                "run": r.label,
                "what changes": what,
                "status": shown.status_of(r),
                "step": int(r.row["step"]),
                # percentages, one decimal each: Streamlit's "percent" wrote 97% beside 96.05%
                "validation": percent(last_value(r, findings.evaluated(r))),
                "test": percent(r.row["test_accuracy"]),
                "|h| > 0.99": percent(findings.saturated(r)),
                # as text, in the readings' format: a ratio that underflowed to 0 says so ("0.0e+0" before)
                "gradient at t=1": None if ratio is None else words.ratio(ratio),
            }
        )
    return pd.DataFrame(rows)


def text_width(texts: pd.Series) -> int:
    """Pixels a table column needs for its longest text (the table's 14 px font, ~6.2 px a character, and
    its cell padding): Streamlit sizes a column by a sample of its cells and cut longer names."""
    return int(6.2 * max((len(str(t)) for t in texts), default=10)) + 24


def interactive(rows: pd.DataFrame) -> None:
    """The table as a dataframe: short headers, so that it fits the page beside the sidebar at 1440 px with a
    run waiting for a slot; the full names in the headers' tooltips."""
    one_decimal = "%.1f%%"
    st.dataframe(
        rows,
        hide_index=True,
        placeholder=MISSING,
        column_config={
            # the names whole, and pinned: where the table is wider than the page, the other columns scroll
            "run": st.column_config.TextColumn(pinned=True, width=text_width(rows["run"])),
            "what changes": st.column_config.TextColumn(width=text_width(rows["what changes"])),
            "validation": st.column_config.NumberColumn(
                format=one_decimal, help="Validation accuracy: the latest evaluation during training"
            ),
            "test": st.column_config.NumberColumn(format=one_decimal, help="Test accuracy, at the end of the run"),
            "|h| > 0.99": st.column_config.NumberColumn(
                format=one_decimal, help="Hidden activations saturated (|h| > 0.99) at the latest probe"
            ),
            "gradient at t=1": st.column_config.TextColumn(
                help="The share of the last step's gradient that reaches the first step (||dL/dh_1|| / ||dL/dh_T||) "
                "(the median of the last 5 probes, as every reading takes it): 0.41 is 41%; 2.0 × 10⁻⁴ is two "
                "ten-thousandths"
            ),
        },
    )


def presented(rows: pd.DataFrame) -> pd.DataFrame:
    """The table as text for a static table: the same figures, a dash for one not measured yet."""
    out = rows.set_index("run")
    for name in ("validation", "test", "|h| > 0.99"):
        out[name] = out[name].map(lambda v: MISSING if np.isnan(v) else f"{v:.1f}%")
    out["gradient at t=1"] = out["gradient at t=1"].fillna(MISSING)
    return out


def render(path: str, runs: list[shown.ShownRun]) -> None:
    style = shown.style()
    live.resume_waiting(path, reads.runs_table(path))
    if sorted(r.id for r in runs) != sorted(state.selected()):
        st.button(
            "Pick these runs in the sidebar",
            on_click=lambda: st.session_state.update({state.SELECT_NEXT: [r.id for r in runs]}),
            help="So that the other pages, the step scrubber and replay show the remedies set",
        )
    rows = table(runs)
    if shown.presenting():  # a table the room can read, at the page's large font (presenter mode hides dataframes)
        st.table(presented(rows))
    else:
        interactive(rows)
    c1, c2 = st.columns(2)
    with c1:
        held_out = findings.evaluated(runs[0])
        live.live_chart("rem-acc", views.metric, runs, name=held_out, style=style, key="rem-acc")
    with c2:
        live.live_chart("rem-sat", views.metric, runs, name="saturated", style=style, key="rem-sat")
    live.live_chart("rem-flow", views.gradient_curve, runs, style=style, key="rem-flow")


def main() -> None:
    st.title("Remedies")
    st.caption(
        "The blog's tanh RNN (Adam at a learning rate of 0.01) saturated, with its gradient at t = 1 decades below "
        "t = T, in 10 of 10 seeds measured; its accuracy collapsed to chance in 4 of 10 (which seeds depends on the "
        "machine's floating point). Each run below changes one thing and keeps the seed, so every run sees the same "
        "batches in the same order."
    )
    path = reads.store_path()
    choice = launch_ui(path) if roles.presenter() else None  # viewers of a shared dashboard launch nothing
    limits = Limits.from_env()
    if not shown.presenting() and roles.presenter():
        capacity_note(limits)
    if choice is not None:
        launch(path, choice, limits)
    reused_note(path)
    live.live(
        lambda runs: render(path, runs),
        "No remedies set recorded yet: launch one above.",
        pick=lambda: latest_remedies(path),
    )


if __name__ == "__main__":
    main()
