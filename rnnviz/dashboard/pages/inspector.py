"""Digit inspector page: one test digit read by a run's model at its latest checkpoint, step by step."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from rnnviz import checkpoints, digits
from rnnviz import data as datamod
from rnnviz.cells import GATE_NAMES
from rnnviz.config import GATES, TANH_GATES, RunConfig
from rnnviz.dashboard import live, reads, shown, state
from rnnviz.dashboard import runs as runs_table
from rnnviz.data import DataError
from rnnviz.figures import Style
from rnnviz.models import SeqClassifier
from rnnviz.store import UNFINISHED, Store, StoreError


def checkpoint_mtime(path: str, run_id: int) -> float:
    """Part of every cache key below: a run that saves a newer checkpoint is read again."""
    ckpt = checkpoints.path_for(path, run_id)
    return ckpt.stat().st_mtime if ckpt.exists() else 0.0


# Every cache is keyed by the store's path too: run ids are numbers within one store.
@st.cache_resource(max_entries=4, show_spinner="Loading the checkpoint...")
def model_of(path: str, run_id: int, mtime: float) -> tuple[SeqClassifier, int]:
    with Store(path) as store:
        return digits.checkpointed_model(store, run_id)


@st.cache_resource(max_entries=4, show_spinner="Reading the test digits...")
def digits_of(path: str, run_id: int) -> digits.TestDigits:
    return digits.test_digits(reads.config(path, run_id))


@st.cache_data(max_entries=8, show_spinner="Finding the digits this model gets wrong...")
def mistakes(path: str, run_id: int, mtime: float) -> np.ndarray:
    test = digits_of(path, run_id)
    predicted = digits.predictions(model_of(path, run_id, mtime)[0], test.sequences)
    return np.flatnonzero(predicted != test.labels[: len(predicted)])


@st.cache_data(max_entries=32, show_spinner=False)
def inspection(path: str, run_id: int, mtime: float, index: int) -> digits.Inspection:
    return digits.inspect(model_of(path, run_id, mtime)[0], digits_of(path, run_id), index)


def readable(path: str, runs: pd.DataFrame) -> list[int]:
    """The runs with a checkpoint to read, newest first: a queued run, or one before its first checkpoint, has
    no model to show."""
    return [int(r) for r in runs["run_id"] if checkpoint_mtime(path, int(r)) > 0]


def run_ui(col, runs: pd.DataFrame, ids: list[int]) -> int:
    """The run whose model reads the digit, of those with a checkpoint (`ids`): the first picked in the sidebar
    that has one, else the newest, unless chosen here."""
    if st.session_state.get("insp-run") not in ids:
        picked = [r for r in state.selected() if r in ids]
        st.session_state["insp-run"] = picked[0] if picked else ids[0]
    return runs_table.picker(
        col,
        runs,
        ids,
        "insp-run",
        help="Runs with a checkpoint to read; a run saves its first after `checkpoint_every` steps.",
    )


def nothing_to_read(runs: pd.DataFrame) -> None:
    """What to do when no run has a checkpoint yet."""
    training = runs["status"].isin(UNFINISHED).any()
    st.warning(
        "No run has a checkpoint to read yet: the inspector reads a run's model at its latest checkpoint, which "
        "rnnviz saves every `checkpoint_every` steps and at the end (runs recorded with rnnviz.watch have none). "
        + (
            "A run is queued or training: its first checkpoint shows here once it is saved (reopen this page then)."
            if training
            else "Train a run on the **Train** page, then open this page again."
        ),
        icon=":material/hourglass_empty:",
    )


def pick_random(n: int) -> None:
    st.session_state["insp-digit"] = int(np.random.default_rng().integers(n))


def pick_wrong(path: str, run_id: int, mtime: float) -> None:
    wrong = mistakes(path, run_id, mtime)
    if len(wrong) == 0:
        st.session_state["insp-note"] = "This model gets every one of the digits searched right."
        return
    after = wrong[wrong > st.session_state["insp-digit"]]
    st.session_state["insp-digit"] = int(after[0] if len(after) else wrong[0])


def digit_ui(cols: list, path: str, run_id: int, mtime: float, n: int) -> int:
    """The test digit read, of `n`: typed, drawn at random, or the next one the model gets wrong."""
    st.session_state.setdefault("insp-digit", 0)
    st.session_state["insp-digit"] = min(st.session_state["insp-digit"], n - 1)
    c2, c3, c4 = cols
    c2.number_input("Test digit", 0, n - 1, step=1, key="insp-digit", help=f"0 to {n - 1}")
    c3.button("Random", icon=":material/casino:", on_click=pick_random, args=(n,), width="stretch")
    c4.button(
        "One it gets wrong",
        on_click=pick_wrong,
        args=(path, run_id, mtime),
        width="stretch",
        help=f"The next of the first {min(n, digits.PREDICT_LIMIT)} test digits that this model misclassifies",
    )
    if note := st.session_state.pop("insp-note", None):
        st.info(note)
    return int(st.session_state["insp-digit"])


def verdict_ui(label: str, insp: digits.Inspection, index: int, ckpt_step: int) -> int:
    """What the model answers for the digit, and the time step to show: the one chosen on the slider."""
    verdict = "right" if insp.prediction == insp.label else "wrong"
    st.markdown(
        f"Run **{label}** at its checkpoint of step **{ckpt_step:,}**. Digit #{index} is a **{insp.label}**; the "
        f"model answers **{digits.answer(insp.probs[-1])}**: {verdict}."
    )
    if (at := shown.shown_step()) is not None and at < ckpt_step:  # the other pages are cut at it: say why not this
        st.caption(
            f"The step scrubber's step {at:,} does not move this page: it reads the weights the run saved at its "
            f"last checkpoint, step {ckpt_step:,}."
        )
    return st.slider("Time step t", 1, insp.T, value=insp.T, key=f"insp-t-{insp.T}", help="The step being read")


def sequences_note(cfg: RunConfig) -> None:
    with st.expander("How a batch of images becomes T tensors of shape (B, I)", icon=":material/view_week:"):
        view = "permuted" if cfg.permute else "chunks" if cfg.view == "chunks" else cfg.view
        st.caption(
            f"This run reads the digits as **{view}** (T = {cfg.seq_len}, I = {cfg.input_size}), in batches of "
            f"{cfg.batch_size}. Each line is made by the code that builds every run's sequences, so it says what "
            "that code does."
        )
        st.code(datamod.illustration(cfg.batch_size, cfg.chunk, cfg.seed), language=None, wrap_lines=True)


def state_panels(insp: digits.Inspection, cfg: RunConfig, t: int, style: Style) -> None:
    """The hidden state of every unit over time, and each gate and the cell state for a gated cell."""
    bound = (-1.0, 1.0) if cfg.nonlinearity == "tanh" else None
    live.chart(digits.units_heatmap(insp.h, t, "Hidden state h_t of every unit", "insp-h", style, bound), "insp-h")
    gates = GATES[cfg.cell]
    if not gates:
        return
    cols = st.columns(2)
    panels = [(g, f"Gate {g} ({GATE_NAMES[g]})") for g in gates]
    if insp.cell is not None:
        panels.append(("c", "Cell state c_t"))
    for k, (name, title) in enumerate(panels):
        values = insp.cell if name == "c" else insp.gates[name]
        assert values is not None
        zrange, scale = ((0.0, 1.0), "Viridis") if name not in (*TANH_GATES, "c") else (None, "RdBu")
        with cols[k % 2]:
            live.chart(digits.units_heatmap(values, t, title, f"insp-{name}", style, zrange, scale), f"insp-{name}")


def main() -> None:
    st.title("Digit inspector")
    st.caption(
        "One test digit as the model reads it, at the run's latest checkpoint. Move the time step to watch the "
        "rows arrive: what the hidden units hold, what the model would answer if the digit ended there, and "
        "which rows the final answer still depends on."
    )
    path = reads.store_path()
    runs = reads.runs_table(path)
    if runs.empty:
        st.info("No runs yet. Train one on the **Train** page; the inspector reads its checkpoints.")
        return
    ids = readable(path, runs)
    if not ids:
        nothing_to_read(runs)
        return
    # the last button's label whole at 1,400 px beside the sidebar ("One it gets wr…" at [3, 2, 1, 1])
    c1, *controls = st.columns([3, 2, 1, 1.5], vertical_alignment="bottom")
    run_id = run_ui(c1, runs, ids)
    mtime = checkpoint_mtime(path, run_id)
    try:
        _, ckpt_step = model_of(path, run_id, mtime)
        test = digits_of(path, run_id)
    except (DataError, StoreError) as exc:
        st.warning(str(exc), icon=":material/warning:")
        return
    index = digit_ui(controls, path, run_id, mtime, len(test.labels))
    insp = inspection(path, run_id, mtime, index)
    t = verdict_ui(shown.run_label(runs, run_id), insp, index, ckpt_step)
    style = shown.style()
    c1, c2 = st.columns(2)
    with c1:
        live.chart(digits.reading_figure(insp, t, style=style), "insp-chart-digit")
    with c2:
        live.chart(digits.sensitivity_figure(insp, style=style), "insp-chart-sens")
    cfg = reads.config(path, run_id)
    sequences_note(cfg)
    live.chart(digits.probabilities_figure(insp, t, style=style), "insp-probs")
    state_panels(insp, cfg, t, style)


if __name__ == "__main__":
    main()
