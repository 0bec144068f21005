"""Sweeps page: a sweep (a grid over settings, times seeds) as groups over seeds, and its map over two swept
settings; clicking a grid point picks its runs for the other pages."""

from __future__ import annotations

import json
import time
from typing import NamedTuple

import numpy as np
import pandas as pd
import streamlit as st

from rnnviz import data as datamod
from rnnviz import figures, findings, horizon, roles, runner, sweeps, views, words
from rnnviz.config import PRESETS, ConfigError, Limits, preset
from rnnviz.dashboard import horizon_view, live, reads, shown, state
from rnnviz.figures import CHART_CONFIG, MISSING
from rnnviz.store import Status, Store, StoreError

MAX_GROUPS = 8  # group curves drawn at once; more is a tangle
# The map's axes in words; the chunk view sets the sequence length, which is what the map is about.
AXIS_TITLES = {
    "lr": "learning rate",
    "chunk": "pixels per time step (T = 784 / chunk)",
    "sigma_w": "recurrent weight scale σ_w",
    "hidden_size": "hidden units",
}
SWEEP_START_S = 90  # Ray's start on a loaded 2-core machine took up to ~40 s
# The gradient ratio's colours, in decades: red where nothing reaches t = 1, green where it all does.
RATIO_RANGE = (-12.0, 0.0)
MAPS = (
    ("test_accuracy", "Final test accuracy, mean over seeds", "accuracy"),
    ("grad_h_ratio", "Gradient reaching t = 1: ||dL/dh_1|| / ||dL/dh_T||", "log10 ratio"),
)


@st.cache_data(ttl=reads.REFRESH_S, show_spinner=False)
def sweeps_table(path: str) -> pd.DataFrame:
    with Store(path) as store:
        return store.sweeps()


@st.cache_data(ttl=reads.REFRESH_S, show_spinner=False)
def summary(path: str, sweep_id: int) -> pd.DataFrame:
    with Store(path) as store:
        return sweeps.summary(store, sweep_id)


def pick_runs(ids: list[int]) -> None:
    st.session_state[state.SELECT_NEXT] = ids


def point_text(row: pd.Series, name: str) -> str:
    value = row[f"{name}_mean"]
    if value is None or value != value:
        return MISSING
    shown = words.percent(value) if name == "test_accuracy" else words.ratio(value)
    return f"{shown} ({row['finished']}/{len(row['runs'])})"


def axis_title(name: str) -> str:
    return AXIS_TITLES.get(name, words.setting(name))


def _typed(values: list, text) -> object:
    """A category of the map (shown as text) back to the grid's value."""
    return next((v for v in values if str(v) == str(text)), None)


def map_values(cells: dict, xs: list, ys: list, name: str) -> tuple[np.ndarray, list[list[str]]]:
    """One map's colours (NaN where a grid point has no value yet) and the text on each of its cells."""
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
    return z, text


def the_map(table: pd.DataFrame, grid: dict, x: str, y: str, fixed: dict) -> None:
    """Test accuracy and gradient ratio over two swept settings, the others held at `fixed`; a click on a grid
    point picks its runs."""
    rows = table
    for name, value in fixed.items():
        rows = rows[rows[name] == value]
    xs, ys = grid[x], grid[y]
    cells = {(r[x], r[y]): r for _, r in rows.iterrows()}
    style = shown.style()
    for col, (name, title, scale) in zip(st.columns(2), MAPS):
        z, text = map_values(cells, xs, ys, name)
        zrange = (0.0, 1.0) if name == "test_accuracy" else RATIO_RANGE
        titles = (axis_title(x), axis_title(y))
        fig = figures.sweep_map(x, xs, y, ys, z, text, title, scale, f"map-{name}", style, zrange, titles)
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


def axes_ui(grid: dict, sweep_id: int) -> tuple[str, str, dict]:
    """The map's two settings (across and down) and the value each other swept setting is held at."""
    names = list(grid)
    c1, c2, *rest = st.columns(2 + len(names) - 2)
    x = c1.selectbox("Across", names, index=names.index("lr") if "lr" in names else 0, key=f"sw-x-{sweep_id}",
                     format_func=axis_title)  # fmt: skip
    y = c2.selectbox("Down", [n for n in names if n != x], key=f"sw-y-{sweep_id}", format_func=axis_title)
    others = [n for n in names if n not in (x, y)]
    fixed = {n: col.selectbox(f"{words.setting(n)} at", grid[n], key=f"sw-{n}-{sweep_id}")
             for n, col in zip(others, rest)}  # fmt: skip
    return x, y, fixed


def map_section(table: pd.DataFrame, grid: dict, sweep_id: int) -> None:
    names = list(grid)
    if len(names) >= 2:
        the_map(table, grid, *axes_ui(grid, sweep_id))
        st.caption(
            "In brackets: the grid point's seeds finished, of its seeds. A gradient ratio of 0 underflowed "
            "(float32). Click a grid point to pick its runs in the sidebar, then open any other page to see them."
        )
    elif names:
        st.caption(f"A map needs two swept settings; this sweep varies the {words.setting(names[0])} only.")


def groups_ui(table: pd.DataFrame, named: list[str], sweep_id: int) -> list[int]:
    """The grid points whose curves are drawn: the ids of their runs."""
    labels = [", ".join(f"{words.setting(n)} {r[n]}" for n in named) or "every run" for _, r in table.iterrows()]
    chosen = st.multiselect(
        "Grid points drawn", labels, default=labels[:MAX_GROUPS], key=f"sw-groups-{sweep_id}",
        help="Each is one group: the mean over its seeds, with their band (min to max; the interquartile "
        "range from 5 seeds)",
    )  # fmt: skip
    return [i for label, r in zip(labels, table["runs"]) if label in chosen for i in r]


def group_charts(path: str, ids: list[int], sweep_id: int) -> None:
    group_runs = shown.runs_now(path, ids, shown.shown_step())
    if not group_runs:
        return
    c1, c2 = st.columns(2)
    style = shown.style()
    with c1:
        held_out = findings.evaluated(group_runs[0])
        live.live_chart(f"sw-acc-{sweep_id}", views.group_metric, group_runs, name=held_out, style=style)
    with c2:
        live.live_chart(f"sw-sat-{sweep_id}", views.group_metric, group_runs, name="saturated", style=style)


def points_table(table: pd.DataFrame, named: list[str]) -> None:
    """Every grid point: its seeds done, accuracy (mean, min, max), saturation, gradient ratio and reading."""
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


def body(path: str, sweep_id: int, running: bool) -> None:
    """One sweep: what it is, its map, its groups' curves and every grid point."""
    try:
        row = sweeps_table(path).set_index("sweep_id").loc[sweep_id]
        table = summary(path, sweep_id)
    except (KeyError, StoreError) as exc:
        st.error(f"This sweep cannot be read: {exc}")
        return
    if running and row["status"] != Status.RUNNING:
        st.rerun(scope="app")  # the sweep ended: draw it once more, without polling
    spec = json.loads(row["spec"])
    grid = spec["grid"]
    if horizon.is_horizon(sweeps.SweepSpec.from_json(row["spec"])):
        horizon_view.draw(path, sweep_id)
    total = sum(len(r) for r in table["runs"])
    where = f"Ray at `{row['ray_address']}`" if row["ray_address"] else "Ray"
    st.markdown(
        f"**{row['name']}**: {row['status']}, {int(row['finished'] or 0)} of {total} runs finished, "
        f"{spec['seeds']} seed{'s' * (spec['seeds'] > 1)} per grid point, on {where}."
    )
    map_section(table, grid, sweep_id)
    runs = reads.runs_table(path)
    mine = runs[runs["sweep_id"] == sweep_id].sort_values("run_id")
    if mine.empty:
        return
    named = ["variant", *grid] if "variant" in table else list(grid)  # a sweep of variants (cells) names them first
    group_charts(path, groups_ui(table, named, sweep_id), sweep_id)
    st.subheader("Every grid point")
    points_table(table, named)
    st.button("Pick every run of this sweep in the sidebar", on_click=pick_runs, args=(mine["run_id"].tolist(),))


class LaunchChoice(NamedTuple):
    """What the form asks for: a preset, its steps, the seeds per grid point and up to two grids."""

    preset: str
    steps: int
    seeds: int
    grid: list[str]


def launch_ui(path: str) -> LaunchChoice | None:
    """The form that starts a sweep: what was asked for once its button is pressed, else None."""
    # Enter in a field submitted the form: three Enters started three sweeps on Ray. Only the button starts one.
    with st.expander("Start a sweep", expanded=False), st.form("new-sweep", enter_to_submit=False):
        c1, c2, c3 = st.columns([2, 1, 1])
        name = c1.selectbox("Preset", list(PRESETS), index=list(PRESETS).index("quick-rnn"))
        seeds = c2.number_input("Seeds per grid point", 1, 50, 3)
        steps = c3.number_input("Steps per run", 1, 200_000, int(PRESETS["quick-rnn"]["steps"]), step=100)
        g1, g2 = st.columns(2)
        first = g1.text_input("Grid", "lr=0.001,0.01", help="A setting and its values, e.g. lr=0.001,0.003,0.01")
        second = g2.text_input("Second grid (optional)", "chunk=28,14", help="e.g. chunk=28,14,7 or sigma_w=0.5,1,2")
        go = st.form_submit_button("Start the sweep on Ray", type="primary", disabled=reads.store_readonly(path))
    if not go:
        return None
    return LaunchChoice(name, int(steps), int(seeds), [g.strip() for g in (first, second) if g.strip()])


def start(path: str, choice: LaunchChoice) -> None:
    """Run the sweep asked for with `rnnviz sweep` in the background (the same command a terminal would run),
    after refusing a bad one here, and remember it so that the page looks for it."""
    try:
        spec = sweeps.SweepSpec(preset(choice.preset, steps=choice.steps), sweeps.parse_grid(choice.grid), choice.seeds)
        spec.validate(Limits.from_env())
        if datamod.locate("mnist") is None:
            raise ConfigError("dataset", "MNIST is not on this machine: download it on the Train page first")
        flags = ["--preset", choice.preset, "--steps", str(choice.steps), "--seeds", str(choice.seeds)]
        with Store(path) as store:
            newest = int(store.sweeps()["sweep_id"].max()) if len(store.sweeps()) else 0
            log = runner.start_sweep([*flags, *(f for g in choice.grid for f in ("--grid", g))], store)
    except (ConfigError, StoreError) as exc:
        st.error(f"Not started: {exc}")
        return
    st.session_state[state.SWEEP_STARTED] = {"after": newest, "runs": len(spec.configs()), "log": str(log),
                                             "at": time.monotonic()}  # fmt: skip


def starting(path: str) -> None:
    """While a sweep started here has not reached the store (Ray takes seconds to start), say so and look for it
    every second; once it is there, pick it, so that the page follows its runs live."""
    started = st.session_state.get(state.SWEEP_STARTED)
    if not started:
        return

    @st.fragment(run_every=reads.REFRESH_S)
    def look() -> None:
        with Store(path) as store:
            ids = store.sweeps()["sweep_id"]
        new = [int(i) for i in ids if int(i) > started["after"]]
        if new:
            st.session_state.pop(state.SWEEP_STARTED)
            st.session_state["sweep-picked"] = min(new)
            sweeps_table.clear()
            st.rerun(scope="app")
        waited = time.monotonic() - started["at"]
        if waited > SWEEP_START_S:
            st.warning(
                f"The sweep has not reached the store after {waited:.0f} s; its log says why: `{started['log']}`",
                icon=":material/hourglass_empty:",
            )
        else:
            st.info(f"Starting {started['runs']} runs on Ray; the sweep appears here in a few seconds.",
                    icon=":material/hourglass_top:")  # fmt: skip

    look()


def sweep_ui(listed: pd.DataFrame) -> int:
    """The sweep shown, of those in the store (newest first)."""
    names = listed.set_index("sweep_id")["name"]
    return st.selectbox(
        "Sweep", listed["sweep_id"].tolist(), format_func=lambda i: f"{i} · {names.loc[i]}", key="sweep-picked"
    )


def main() -> None:
    st.title("Sweeps")
    st.caption(
        "A sweep is a grid over settings, each point run with several seeds, on Ray. One run is an anecdote: "
        "here each grid point is the mean over its seeds, with how many seeds agree."
    )
    path = reads.store_path()
    launching = not shown.presenting() and roles.presenter()  # viewers of a shared dashboard start no sweep
    if launching:
        if choice := launch_ui(path):
            start(path, choice)
        starting(path)
    try:
        listed = sweeps_table(path)
    except StoreError as exc:
        st.error(str(exc))
        return
    if listed.empty:
        st.info(
            "No sweep recorded yet. Start one above, or from a terminal, for example\n\n"
            "`rnnviz sweep --preset quick-rnn --grid lr=0.001,0.01 --grid chunk=28,14 --seeds 3`\n\n"
            "It appears here while it trains."
            if launching
            else "No sweep recorded yet: one the presenter starts appears here while it trains."
        )
        return
    sweep_id = sweep_ui(listed)
    running = bool(listed.set_index("sweep_id").loc[sweep_id, "status"] == Status.RUNNING)

    @st.fragment(run_every=live.FED_REFRESH_S if running and state.live_updates() else None)
    def refreshing() -> None:
        body(path, sweep_id, running)

    refreshing()


if __name__ == "__main__":
    main()
