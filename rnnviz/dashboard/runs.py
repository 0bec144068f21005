"""The runs table of the Train page, with its Stop, Resume and Delete for the presenter (viewers of a shared
dashboard see the table alone; rnnviz.roles refuses their actions anyway)."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from rnnviz import runner, words
from rnnviz.config import ConfigError
from rnnviz.dashboard import reads, shown, state
from rnnviz.figures import MISSING
from rnnviz.store import ACTIVE, RESUMABLE, UNFINISHED, Status, Store, StoreError


@st.dialog("Delete run?")
def confirm_delete(path: str, run_id: int, label: str) -> None:
    st.write(f"Delete run **{label}** and everything it recorded? This cannot be undone.")
    if st.button("Delete", type="primary"):
        try:
            with Store(path) as store:
                store.delete_run(run_id)
        except StoreError as exc:
            st.error(str(exc))
            return
        reads.runs_table.clear()
        st.rerun()


def act(path: str, action: str, run_id: int) -> None:
    """Stop or resume a run, and say so under the buttons until the next action (`said`); a store that refuses
    the write says why instead of raising."""
    try:
        with Store(path) as store:
            (runner.stop if action == "stop" else runner.resume)(store, run_id)
    except (StoreError, ConfigError) as exc:
        st.session_state.pop(state.RUN_ACTION, None)
        st.error(str(exc))
        return
    st.session_state[state.RUN_ACTION] = {"run": run_id, "action": action, "at": time.time()}
    reads.runs_table.clear()
    if action == "resume":  # the table polls from now on, while the new trainer starts (section's `resuming`)
        st.rerun()


RESUME_WAIT_S = 120.0  # how long the table polls for a resumed run's trainer to pick it up


def resuming(runs: pd.DataFrame) -> bool:
    """Whether a resume asked here is waiting for its trainer: the run still reads as stopped (or failed) in
    the store for the seconds a trainer takes to start, and a table that polled only for training runs froze
    there, saying "stopped", with Resume lit, while the run trained to its end."""
    asked = st.session_state.get(state.RUN_ACTION)
    if not asked or asked["action"] != "resume" or time.time() - asked.get("at", 0.0) > RESUME_WAIT_S:
        return False
    status = runs.set_index("run_id")["status"].get(asked["run"])
    return status in RESUMABLE


def said(runs: pd.DataFrame) -> str | None:
    """What became of the last stop or resume asked here, in words, as the run's status now stands: a toast
    alone was gone by the rerun the run's end set off, so stopping a run showed no message."""
    asked = st.session_state.get(state.RUN_ACTION)
    table = runs.set_index("run_id")
    if not asked or asked["run"] not in table.index:
        return None
    row = table.loc[asked["run"]]
    name, status = f"**{asked['run']} · {row['name']}**", row["status"]
    at = f"step {int(row['step']):,} of {int(row['total_steps']):,}"
    if asked["action"] == "resume":
        if resuming(runs):
            return f"Resuming {name} from its last checkpoint, {at}: its trainer is starting."
        if status in UNFINISHED:
            return f"Resuming {name} from its last checkpoint: {shown.status_text(status)}, {at}."
        return f"{name} was resumed and is {status} at {at}."
    if status in UNFINISHED:
        return f"Asked {name} to stop: it finishes its step, saves its records and ends, in a few seconds."
    if status == Status.STOPPED:
        return (
            f"Stopped {name} at {at}; everything it recorded is kept, and **Resume** continues it from its "
            "last checkpoint."
        )
    return f"{name} {status} before it could stop, at {at}."


NOT_MEASURED = "not measured yet"  # a share a training run has not been probed for yet


def saturated_cell(path: str, row: pd.Series) -> str:
    """A run's saturated share in the runs table: the latest probe's, with that probe's step while the run trains
    (a share of step 1's probe beside a run at step 87 read as the run's own, 0.0% while its h saturated); "not
    measured yet" before its first probe, never a 0 it did not measure."""
    share, training = row["saturated_fraction"], row["status"] in UNFINISHED
    if pd.isna(share):
        return NOT_MEASURED if training else MISSING
    if not training:
        return words.percent(share)
    steps = reads.series(path, int(row["run_id"]), "sat_t", (int(row["step"]), str(row["status"])))[0]
    return f"{words.percent(share)} (step {int(steps[-1]):,})" if len(steps) else words.percent(share)


def section(path: str, readonly: bool, actions: bool = True) -> None:
    """The runs table, refreshed while runs train; with `actions`, the picker of a run and its buttons."""
    runs = reads.runs_table(path)
    if runs.empty:
        st.info(
            "No runs yet. Click **Train RNN vs LSTM** above for the blog pair, or start any run in the settings."
            if actions
            else "No runs yet: they show here as soon as the presenter starts them."
        )
        return
    polling = runs["status"].isin(UNFINISHED).any() or resuming(runs)

    @st.fragment(run_every=reads.REFRESH_S if polling else None)
    def table() -> None:
        df = reads.runs_table(path)
        shares = {
            "test_accuracy": 100 * df["test_accuracy"].astype(float),  # as percentages
            "progress": 100 * df["progress"].astype(float),
            "saturated_fraction": [saturated_cell(path, row) for _, row in df.iterrows()],
        }
        st.dataframe(
            df.assign(status=df["status"].map(shown.status_text), **shares)[
                [
                    "run_id",
                    "name",
                    "cell",
                    "status",
                    "step",
                    "progress",
                    "test_accuracy",
                    "saturated_fraction",
                    "elapsed",
                    "error",
                ]
            ],
            hide_index=True,
            placeholder=MISSING,
            column_config={
                "run_id": st.column_config.NumberColumn("id", width="small"),
                # one decimal, as on every page and the sidebar's "training, 14.8%" (Streamlit's own formats wrote
                # 15.68% and 97%)
                "progress": st.column_config.ProgressColumn(
                    "progress", min_value=0.0, max_value=100.0, format="%.1f%%"
                ),
                "test_accuracy": st.column_config.NumberColumn("test accuracy", format="%.1f%%"),
                "saturated_fraction": st.column_config.TextColumn(
                    "saturated",
                    width="medium",  # "23.4% (step 1,000)" whole: the automatic width cut it at "(step 1("
                    help="The share of hidden activations beyond the run's threshold (|h| > 0.99 by default) at its "
                    "latest probe; while a run trains, that probe's step: the first, at step 1, is of the weights "
                    "before training",
                ),
                "elapsed": st.column_config.NumberColumn("elapsed (s)", format="%.0f"),
            },
        )
        now = df.set_index("run_id")["status"].to_dict()
        told = st.session_state.get(state.SIDEBAR_STATUS, {})
        if polling and (now != runs.set_index("run_id")["status"].to_dict() or any(
            now.get(i, s) != s for i, s in told.items()
        )):  # fmt: skip
            # a run started, ended or was stopped: the picker and buttons below follow, and the sidebar, which may
            # have read a resumed run as stopped an instant before this page read it training (it said "stopped"
            # beside a table saying "training" until the next rerun: a fresh-eyes walk)
            st.rerun(scope="app")

    table()
    if actions:
        actions_ui(path, readonly, runs)


def picker(col, runs: pd.DataFrame, ids: list[int], key: str, **options) -> int:
    """A run picked among `ids`, each named with its status, whose label follows the run's status. Keyed, the
    picker keeps its run when the run's label changes (unkeyed, its identity included every label, so a run's
    end made it a new widget on the first run); but Streamlit (1.67, streamlit#13788) then keeps showing the
    label it first drew, "(training)" beside a table saying "stopped": setting the value again sends the new
    label."""
    labels = st.session_state.setdefault(f"{key}-labels", {})
    picked = st.session_state.get(key)
    if picked in ids and labels.get(picked, shown.run_label(runs, picked)) != shown.run_label(runs, picked):
        st.session_state[key] = picked
    run_id = col.selectbox("Run", ids, format_func=lambda r: shown.run_label(runs, r), key=key, **options)
    labels[run_id] = shown.run_label(runs, run_id)
    return run_id


def actions_ui(path: str, readonly: bool, runs: pd.DataFrame) -> None:
    """The picker of a run, its Stop, Resume and Delete, and what became of the last stop or resume."""
    c1, c2, c4, c3, _ = st.columns([2, 1, 1, 1, 1], vertical_alignment="bottom")
    ids = runs["run_id"].tolist()
    if st.session_state.get(state.RUN_PICKED) not in ids:
        st.session_state.pop(state.RUN_PICKED, None)  # deleted: the newest run, as on a first visit
    run_id = picker(c1, runs, ids, state.RUN_PICKED)
    status = runs.set_index("run_id").loc[run_id, "status"]
    if c2.button("Stop", disabled=readonly or status not in UNFINISHED, width="stretch"):
        act(path, "stop", run_id)
        runs = reads.runs_table(path)
    if c4.button(
        "Resume",
        disabled=readonly or status not in RESUMABLE or resuming(runs),
        width="stretch",
        help="Continue a stopped, failed or interrupted run from its last checkpoint",
    ):
        act(path, "resume", run_id)
        runs = reads.runs_table(path)
    if message := said(runs):
        st.info(message, icon=":material/info:")
    if c3.button(
        "Delete…",
        disabled=readonly or status in ACTIVE,
        width="stretch",
        help="Stop a run before deleting it",
    ):
        confirm_delete(path, run_id, shown.run_label(runs, run_id))
