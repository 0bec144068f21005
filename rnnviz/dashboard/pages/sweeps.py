"""Sweeps page: a set of runs (a grid over settings, times seeds) as groups over seeds, and its map over two
swept settings; clicking a grid point picks its runs for the other pages."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import streamlit as st

from rnnviz import data as datamod
from rnnviz import figures, findings, horizon, roles, runner, sets, views, words
from rnnviz.config import PRESETS, ConfigError, Limits, preset
from rnnviz.dashboard import horizon_view, live, reads, shown, state
from rnnviz.figures import CHART_CONFIG, MISSING
from rnnviz.store import Status, Store, StoreError

st.title("Sweeps")
st.caption(
    "A set of runs is a grid over settings, each point run with several seeds, on Ray. One run is an "
    "anecdote: here each grid point is the mean over its seeds, with how many seeds agree."
)
path = reads.store_path()
MAX_GROUPS = 8  # group curves drawn at once; more is a tangle
# The map's axes in words; the chunk view sets the sequence length, which is what the map is about.
AXIS_TITLES = {
    "lr": "learning rate",
    "chunk": "pixels per time step (T = 784 / chunk)",
    "sigma_w": "recurrent weight scale σ_w",
    "hidden_size": "hidden units",
}
SET_START_S = 90  # Ray's start on a loaded 2-core machine took up to ~40 s
# The gradient ratio's colours, in decades: red where nothing reaches t = 1, green where it all does.
RATIO_RANGE = (-12.0, 0.0)


@st.cache_data(ttl=reads.REFRESH_S, show_spinner=False)
def sweeps_table(path: str) -> pd.DataFrame:
    with Store(path) as store:
        return store.sweeps()


@st.cache_data(ttl=reads.REFRESH_S, show_spinner=False)
def summary(path: str, sweep_id: int) -> pd.DataFrame:
    with Store(path) as store:
        return sets.summary(store, sweep_id)


def pick_runs(ids: list[int]) -> None:
    st.session_state[state.SELECT_NEXT] = ids


def point_text(row: pd.Series, name: str) -> str:
    value = row[f"{name}_mean"]
    if value is None or value != value:
        return MISSING
    shown = words.percent(value) if name == "test_accuracy" else words.ratio(value)
    return f"{shown} ({row['finished']}/{len(row['runs'])})"


def the_map(table: pd.DataFrame, grid: dict, x: str, y: str, fixed: dict) -> None:
    """Test accuracy and gradient ratio over two swept settings, the others held at `fixed`."""
    rows = table
    for name, value in fixed.items():
        rows = rows[rows[name] == value]
    xs, ys = grid[x], grid[y]
    cells = {(r[x], r[y]): r for _, r in rows.iterrows()}
    style = shown.style()
    c1, c2 = st.columns(2)
    for col, name, title, scale in (
        (c1, "test_accuracy", "Final test accuracy, mean over seeds", "accuracy"),
        (c2, "grad_h_ratio", "Gradient reaching t = 1: ||dL/dh_1|| / ||dL/dh_T||", "log10 ratio"),
    ):
        z = np.full((len(ys), len(xs)), np.nan)
        text = [[MISSING] * len(xs) for _ in ys]
        for i, yv in enumerate(ys):
            for j, xv in enumerate(xs):
                row = cells.get((xv, yv))
                if row is None:
                    continue
                value = row[f"{name}_mean"]
                if value is not None and value == value:
                    z[i, j] = value if name == "test_accuracy" else np.log10(max(value, 1e-45))
                text[i][j] = point_text(row, name)
        zrange = (0.0, 1.0) if name == "test_accuracy" else RATIO_RANGE
        titles = (axis_title(x), axis_title(y))
        fig = figures.set_map(x, xs, y, ys, z, text, title, scale, f"map-{name}", style, zrange, titles)
        with col:
            event = st.plotly_chart(
                fig, key=f"map-{name}", on_select="rerun", selection_mode="points", config=CHART_CONFIG
            )
        points = event.get("selection", {}).get("points", []) if event else []
        clicked = (points[0]["x"], points[0]["y"]) if points else None
        # the selection stays in the chart's state over reruns: act on a new click only
        if clicked and st.session_state.get(f"map-done-{name}") != clicked:
            st.session_state[f"map-done-{name}"] = clicked
            picked = cells.get((_typed(grid[x], clicked[0]), _typed(grid[y], clicked[1])))
            if picked is not None:
                pick_runs(list(picked["runs"]))
                st.rerun()


def axis_title(name: str) -> str:
    return AXIS_TITLES.get(name, words.setting(name))


def _typed(values: list, text) -> object:
    """A category of the map (shown as text) back to the grid's value."""
    return next((v for v in values if str(v) == str(text)), None)


def body(sweep_id: int) -> None:
    try:
        row = sweeps_table(path).set_index("sweep_id").loc[sweep_id]
        table = summary(path, sweep_id)
    except (KeyError, StoreError) as exc:
        st.error(f"This set cannot be read: {exc}")
        return
    if running and row["status"] != Status.RUNNING:
        st.rerun(scope="app")  # the set ended: draw it once more, without polling
    spec = json.loads(row["spec"])
    grid = spec["grid"]
    if horizon.is_horizon(sets.SetSpec.from_json(row["spec"])):
        horizon_view.draw(path, sweep_id)
    total = sum(len(r) for r in table["runs"])
    where = f"Ray at `{row['ray_address']}`" if row["ray_address"] else "Ray"
    st.markdown(
        f"**{row['name']}**: {row['status']}, {int(row['finished'] or 0)} of {total} runs finished, "
        f"{spec['seeds']} seed{'s' * (spec['seeds'] > 1)} per grid point, on {where}."
    )
    names = list(grid)
    if len(names) >= 2:
        c1, c2, *rest = st.columns(2 + len(names) - 2)
        x = c1.selectbox("Across", names, index=names.index("lr") if "lr" in names else 0, key=f"sw-x-{sweep_id}",
                         format_func=axis_title)  # fmt: skip
        y = c2.selectbox("Down", [n for n in names if n != x], key=f"sw-y-{sweep_id}", format_func=axis_title)
        others = [n for n in names if n not in (x, y)]
        fixed = {n: col.selectbox(f"{words.setting(n)} at", grid[n], key=f"sw-{n}-{sweep_id}")
                 for n, col in zip(others, rest)}  # fmt: skip
        the_map(table, grid, x, y, fixed)
        st.caption(
            "In brackets: the grid point's seeds finished, of its seeds. A gradient ratio of 0 underflowed "
            "(float32). Click a grid point to pick its runs in the sidebar, then open any other page to see them."
        )
    elif names:
        st.caption(f"A map needs two swept settings; this set sweeps the {words.setting(names[0])} only.")
    runs = reads.runs_table(path)
    mine = runs[runs["sweep_id"] == sweep_id].sort_values("run_id")
    if mine.empty:
        return
    named = ["variant", *names] if "variant" in table else names  # a set of variants (cells) names them first
    labels = [", ".join(f"{words.setting(n)} {r[n]}" for n in named) or "every run" for _, r in table.iterrows()]
    chosen = st.multiselect(
        "Grid points drawn", labels, default=labels[:MAX_GROUPS], key=f"sw-groups-{sweep_id}",
        help="Each is one group: the mean over its seeds, with their band (min to max; the interquartile "
        "range from 5 seeds)",
    )  # fmt: skip
    ids = [i for label, r in zip(labels, table["runs"]) if label in chosen for i in r]
    group_runs = shown.runs_now(path, ids, shown.shown_step())
    if group_runs:
        c1, c2 = st.columns(2)
        style = shown.style()
        with c1:
            held_out = findings.evaluated(group_runs[0])
            live.live_chart(f"sw-acc-{sweep_id}", views.group_metric, group_runs, name=held_out, style=style)
        with c2:
            live.live_chart(f"sw-sat-{sweep_id}", views.group_metric, group_runs, name="saturated", style=style)
    st.subheader("Every grid point")
    shown_table = pd.DataFrame(
        {
            **{words.setting(n): table[n] for n in named},
            "seeds done": [f"{f} of {len(r)}" for f, r in zip(table["finished"], table["runs"])],
            "test accuracy (mean)": 100 * table["test_accuracy_mean"].astype(float),
            "min": 100 * table["test_accuracy_min"].astype(float),
            "max": 100 * table["test_accuracy_max"].astype(float),
            "saturated (mean)": 100 * table["saturated_fraction_mean"].astype(float),
            "gradient t=1 / t=T (mean)": [
                None if v is None or v != v else words.ratio(v) for v in table["grad_h_ratio_mean"]
            ],  # fmt: skip
            "seeds agree": [text.split(" (")[0] for text in table["reading"]],
            "runs": [", ".join(map(str, r)) for r in table["runs"]],
        }
    )
    st.dataframe(
        shown_table,
        hide_index=True,
        placeholder=MISSING,
        column_config={  # percentages with one decimal, as on every page (Streamlit's "percent" wrote 97%)
            "test accuracy (mean)": st.column_config.NumberColumn(format="%.1f%%"),
            "min": st.column_config.NumberColumn(format="%.1f%%"),
            "max": st.column_config.NumberColumn(format="%.1f%%"),
            "saturated (mean)": st.column_config.NumberColumn(format="%.1f%%"),
            "gradient t=1 / t=T (mean)": st.column_config.TextColumn(
                help="The share of the last step's gradient that reaches the first step (||dL/dh_1|| / ||dL/dh_T||), "
                "mean over seeds"
            ),
        },
    )
    st.button("Pick every run of this set in the sidebar", on_click=pick_runs, args=(mine["run_id"].tolist(),))


def launch_form() -> None:
    """A set from the dashboard: a preset, up to two swept settings and seeds, run by `rnnviz sweep` in the
    background (the same command a terminal would run)."""
    # Enter in a field submitted the form: three Enters started three sets on Ray. Only the button starts one.
    with st.expander("Start a set of runs", expanded=False), st.form("new-set", enter_to_submit=False):
        c1, c2, c3 = st.columns([2, 1, 1])
        name = c1.selectbox("Preset", list(PRESETS), index=list(PRESETS).index("quick-rnn"))
        seeds = c2.number_input("Seeds per grid point", 1, 50, 3)
        steps = c3.number_input("Steps per run", 1, 200_000, int(PRESETS["quick-rnn"]["steps"]), step=100)
        g1, g2 = st.columns(2)
        first = g1.text_input("Grid", "lr=0.001,0.01", help="A setting and its values, e.g. lr=0.001,0.003,0.01")
        second = g2.text_input("Second grid (optional)", "chunk=28,14", help="e.g. chunk=28,14,7 or sigma_w=0.5,1,2")
        go = st.form_submit_button("Start the set on Ray", type="primary", disabled=reads.store_readonly(path))
    if not go:
        return
    grid = [g.strip() for g in (first, second) if g.strip()]
    try:
        spec = sets.SetSpec(preset(name, steps=int(steps)), sets.parse_grid(grid), int(seeds))
        spec.validate(Limits.from_env())
        if datamod.locate("mnist") is None:
            raise ConfigError("dataset", "MNIST is not on this machine: download it on the Train page first")
        flags = ["--preset", name, "--steps", str(int(steps)), "--seeds", str(int(seeds))]
        with Store(path) as store:
            newest = int(store.sweeps()["sweep_id"].max()) if len(store.sweeps()) else 0
            log = runner.start_set([*flags, *(f for g in grid for f in ("--grid", g))], store)
    except (ConfigError, StoreError) as exc:
        st.error(f"Not started: {exc}")
        return
    st.session_state[state.SET_STARTED] = {"after": newest, "runs": len(spec.configs()), "log": str(log),
                                           "at": time.monotonic()}  # fmt: skip


def starting() -> None:
    """While a set started here has not reached the store (Ray takes seconds to start), say so and look for it
    every second; once it is there, pick it, so that the page follows its runs live."""
    started = st.session_state.get(state.SET_STARTED)
    if not started:
        return

    @st.fragment(run_every=reads.REFRESH_S)
    def look() -> None:
        with Store(path) as store:
            ids = store.sweeps()["sweep_id"]
        new = [int(i) for i in ids if int(i) > started["after"]]
        if new:
            st.session_state.pop(state.SET_STARTED)
            st.session_state["sweep-picked"] = min(new)
            sweeps_table.clear()
            st.rerun(scope="app")
        waited = time.monotonic() - started["at"]
        if waited > SET_START_S:
            st.warning(
                f"The set has not reached the store after {waited:.0f} s; its log says why: `{started['log']}`",
                icon=":material/hourglass_empty:",
            )
        else:
            st.info(f"Starting {started['runs']} runs on Ray; the set appears here in a few seconds.",
                    icon=":material/hourglass_top:")  # fmt: skip

    look()


if not shown.presenting() and roles.presenter():  # viewers of a shared dashboard start no set
    launch_form()
    starting()
try:
    sweeps = sweeps_table(path)
except StoreError as exc:
    st.error(str(exc))
    st.stop()
if sweeps.empty:
    st.info(
        "No set of runs recorded yet. Start one above, or from a terminal, for example\n\n"
        "`rnnviz sweep --preset quick-rnn --grid lr=0.001,0.01 --grid chunk=28,14 --seeds 3`\n\n"
        "It appears here while it trains."
    )
    st.stop()
sweep_id = st.selectbox(
    "Set",
    sweeps["sweep_id"].tolist(),
    format_func=lambda i: f"{i} · {sweeps.set_index('sweep_id').loc[i, 'name']}",
    key="sweep-picked",
)
running = sweeps.set_index("sweep_id").loc[sweep_id, "status"] == Status.RUNNING


@st.fragment(run_every=live.FED_REFRESH_S if running and state.live_updates() else None)
def refreshing() -> None:
    body(sweep_id)


refreshing()
