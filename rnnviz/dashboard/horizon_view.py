"""The memory horizon in the dashboard: the button that starts the quick horizon on Ray (`rnnviz horizon
--quick` in the background), and the horizon of a sweep drawn, in words and beside the published figures; a
click on a point picks its runs for the other pages."""

from __future__ import annotations

import socket

import pandas as pd
import streamlit as st

from rnnviz import horizon, runner, words
from rnnviz.config import ConfigError, cores
from rnnviz.dashboard import reads, shown, state
from rnnviz.figures import CHART_CONFIG, MISSING
from rnnviz.published import ADDING, PIXEL_BUDGET, PIXEL_MNIST
from rnnviz.store import Status, Store, StoreError

QUICK = horizon.QUICK


@st.cache_data(ttl=reads.REFRESH_S, show_spinner=False)
def latest(path: str) -> int | None:
    with Store(path) as store:
        return horizon.latest(store)


def quick_seconds(path: str) -> tuple[float, str] | None:
    """How long the quick horizon takes on this machine, measured as the page's other estimates are: the wall
    time of the one recorded here (from its start on Ray to its end), else its runs at the speed earlier runs like each
    trained at here, Ray training one a core at once; None where neither was measured. The page said "about 5
    minutes" in words of its own where bench/README.md had measured 3 min 36 s."""
    spec = QUICK.sweep_spec()
    with Store(path) as store:
        done = horizon.recorded(store, spec)
        row = store.sweep(done) if done is not None else None
    if row is not None and row["ended"] and row["host"] == socket.gethostname():
        return float(row["ended"] - row["created"]), "the quick horizon recorded in this store took"
    configs = spec.configs()
    speeds = [runner.steps_per_second(reads.runs_table(path), cfg) for cfg in configs]
    if any(speed is None for speed in speeds):
        return None
    trained = sum(cfg.steps / speed for cfg, speed in zip(configs, speeds) if speed)
    return trained / min(cores(), len(configs)), "going by the speed of runs like its own here, it takes"


def launch(path: str) -> None:
    """The one click: the quick horizon as a sweep on Ray, in a process of its own that outlives the page."""
    cells = " and ".join(horizon.VARIANTS[v][0] for v in QUICK.variants)
    lengths = ", ".join(map(str, QUICK.lengths))
    measured = quick_seconds(path)
    took = (
        f"{measured[1]} **{words.about(measured[0])}** on this machine"
        if measured
        else "nothing like it has been timed on this machine yet (bench/README.md records its time on 2 cores)"
    )
    st.caption(
        f"{cells} on the adding problem at T = {lengths}: {QUICK.seeds} seeds each, {QUICK.steps} steps of "
        f"{QUICK.hidden_size} units, {len(QUICK.variants) * len(QUICK.lengths) * QUICK.seeds} runs on Ray; "
        f"{took}. Recorded beforehand with `rnnviz horizon --quick`, it is drawn here at once."
    )
    if st.button(
        "How long can it remember?",
        icon=":material/timer:",  # secondary: the blog pair is the page's one primary action
        disabled=reads.store_readonly(path),
        key="horizon-start",
    ):
        try:
            with Store(path) as store:
                if horizon.recorded(store, QUICK.sweep_spec()) is not None:
                    st.info("This store already holds the quick horizon: it is drawn below.")
                    return
                log = runner.start_sweep(["--quick"], store, command="horizon")
        except (ConfigError, StoreError) as exc:
            st.error(f"Not started: {exc}")
            return
        latest.clear()
        st.success(f"Starting the quick horizon on Ray; it is drawn below as its runs finish (its log: `{log}`).")


def pick(ids: list[int]) -> None:
    st.session_state[state.SELECT_NEXT] = ids


def draw(path: str, sweep_id: int) -> None:
    """A horizon sweep: its chart, each cell's horizon in words, the published results beside, and its table."""
    try:
        with Store(path) as store:
            row = store.sweep(sweep_id)
            outcome = horizon.summary(store, sweep_id)
            fig = horizon.chart(store, sweep_id, shown.style())
    except (KeyError, StoreError) as exc:
        st.error(f"This horizon cannot be read: {exc}")
        return
    runs = sum(len(c["beat"]) for c in outcome["cells"]) * outcome["seeds"]
    st.markdown(
        f"**{row['name']}** (sweep {sweep_id}): {row['status']}; {outcome['task']}, {outcome['steps']} steps of "
        f"{outcome['hidden_size']} units, {outcome['seeds']} seeds, {runs} runs. A cell beats the task at a "
        "length in a seed when its test MSE is below half the baseline (or, for a digit, its accuracy above "
        f"twice chance); its horizon is the longest length up to which {outcome['k']} of {outcome['seeds']} "
        "seeds beat it at every length tried."
    )
    c1, c2 = st.columns([3, 2])
    with c1:
        event = st.plotly_chart(
            fig, key=f"horizon-{sweep_id}", on_select="rerun", selection_mode="points", config=CHART_CONFIG
        )
        points = event.get("selection", {}).get("points", []) if event else []
        ids = [int(i) for i in str(points[0].get("customdata") or "").split(",") if i] if points else []
        # the selection stays in the chart's state over reruns: act on a new click only
        if ids and st.session_state.get(f"horizon-done-{sweep_id}") != ids:
            st.session_state[f"horizon-done-{sweep_id}"] = ids
            pick(ids)
            st.rerun()
        st.caption(
            "Click a point to pick its runs in the sidebar; the Gradient flow page then shows how "
            "||dL/dh_t|| decays over the whole sequence."
        )
    with c2:
        for line in outcome["findings"]:
            st.markdown(f"- {line}")
    if outcome["task"] == "adding":  # the page's width, its text wrapped: in the half beside the chart it was cut
        st.markdown("**Published** (their budgets differ from ours)")  # at "sourc…" and "Arjov…" (a fresh-eyes walk)
        st.table(published_adding().set_index("model"))
    st.dataframe(cells_table(outcome), hide_index=True, placeholder=MISSING)


def published_adding() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model": [r.model for r in ADDING],
            "beat the baseline at T": [", ".join(map(str, r.beat)) or "none" for r in ADDING],
            "not at T": [", ".join(map(str, r.not_beat)) or "none" for r in ADDING],
            "source": [f"{r.source}; {r.budget}" for r in ADDING],
        }
    )


def published_pixels() -> None:
    """The pixel and permuted-pixel MNIST table, with the budget it was reached with."""
    st.dataframe(
        pd.DataFrame(
            {
                "model": [r.model for r in PIXEL_MNIST],
                "pixel MNIST (%)": [r.pixel for r in PIXEL_MNIST],
                "permuted (%)": [r.permuted for r in PIXEL_MNIST],
                "source": [r.source for r in PIXEL_MNIST],
            }
        ),
        hide_index=True,
        placeholder=MISSING,
    )
    st.caption(f"Published test accuracies; {PIXEL_BUDGET}.")


def cells_table(outcome: dict) -> pd.DataFrame:
    """Cell x length: seeds that beat the task, and the mean score, as the CLI prints them."""
    rows = []
    for c in outcome["cells"]:
        reach = c["horizon"]
        said = MISSING if reach is None else "none" if reach == horizon.NOWHERE else reach
        row = {"cell": c["label"], "horizon": said}
        for t, beat in c["beat"].items():
            mean = c["mean"].get(t)
            row[f"{t}"] = f"{beat} ({MISSING if mean is None else f'{mean:.3g}'})"
        rows.append(row)
    return pd.DataFrame(rows).astype(str)


def section(path: str) -> None:
    """The Train page's section: the button, the newest horizon of the store (live while it trains), and the
    pixel tasks' published table."""
    launch(path)
    with st.expander("Pixel and permuted-pixel MNIST (784 steps): the published table", icon=":material/grid_on:"):
        st.markdown(
            "The longest memory task with digits: one pixel a step. Run them with the presets `pixel-rnn`, "
            "`pixel-lstm` and `pmnist-lstm` (All settings, below), or `rnnviz train --preset pixel-lstm`."
        )
        published_pixels()
    sweep_id = latest(path)
    if sweep_id is None:
        return
    try:
        with Store(path) as store:
            running = store.sweep(sweep_id)["status"] == Status.RUNNING
    except StoreError:
        return

    @st.fragment(run_every=2.0 if running and state.live_updates() else None)
    def body() -> None:
        draw(path, sweep_id)

    body()
