"""Train page: choose a preset or settings, start background runs, watch and manage the runs table."""

from __future__ import annotations

import dataclasses

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from rnnviz import data as datamod
from rnnviz import runner, ui
from rnnviz.config import (
    CELLS,
    DATASETS,
    INITS,
    NONLINEARITIES,
    OPTIMIZERS,
    PRESET_HELP,
    PRESETS,
    VIEWS,
    ConfigError,
    Limits,
    RunConfig,
    named_for_changes,
    preset,
    rnn_vs_lstm,
)
from rnnviz.data import DataError
from rnnviz.store import UNFINISHED, Store, StoreError

path = ui.store_path()
readonly = ui.store_readonly(path)
st.title("Train")
st.caption(
    "Start a run in the background: it keeps training if you close the tab or restart the app. "
    "Every other page plots the runs picked in the sidebar, live."
)
if readonly:
    st.info(
        f"The run store `{path}` is read-only here (read-only media, or another user's file): every run in it "
        "can be browsed on the other pages, but none can be started, stopped or deleted. To train, set "
        "`$RNNVIZ_STORE` to a writable path, or copy the store somewhere writable.",
        icon=":material/lock:",
    )


@st.cache_data(ttl=10, show_spinner=False)
def located(name: str) -> str | None:
    found = datamod.locate(name)
    return str(found) if found else None


def data_status() -> None:
    mnist = located("mnist")
    if mnist:
        st.success(f"MNIST found in `{mnist}`.", icon=":material/check_circle:")
        return
    st.warning(
        "MNIST is not on this machine yet. Download it (11 MB, checked by MD5) into "
        f"`{datamod.cache_dir() / 'mnist'}`, or give a **Data directory** below that holds the four IDX files "
        "(or set `$RNNVIZ_DATA_DIR`).",
        icon=":material/warning:",
    )
    if st.button("Download MNIST"):
        with st.spinner("Downloading MNIST..."):
            try:
                datamod.download("mnist", progress=False)
            except DataError as exc:
                st.error(f"Download failed. {exc}")
                return
        located.clear()
        st.rerun()


data_status()

names = ["custom", *PRESETS]
# ?preset=NAME in the URL picks the preset, so a link can open the form ready for a demo.
wanted = st.query_params.get("preset", "blog-rnn")
choice = st.selectbox(
    "Preset",
    names,
    index=names.index(wanted if wanted in names else "blog-rnn"),
    format_func=lambda n: f"{n}: {PRESET_HELP[n]}" if n in PRESET_HELP else "custom settings",
)
base = preset(choice) if choice != "custom" else RunConfig()
helps = {f.name: f.metadata["help"] for f in dataclasses.fields(RunConfig)}


def key(field: str) -> str:
    return f"form-{choice}-{field}"


with st.form("train"):
    slots: dict[str, DeltaGenerator] = {}
    c1, c2, c3 = st.columns(3)

    def field(col, name: str, widget, *args, **kwargs):
        with col:
            value = widget(name.replace("_", " ").capitalize(), *args, key=key(name), help=helps[name], **kwargs)
            slots[name] = st.empty()
        return value

    v = {}
    v["cell"] = field(c1, "cell", st.selectbox, CELLS, index=CELLS.index(base.cell))
    v["nonlinearity"] = field(
        c1, "nonlinearity", st.selectbox, NONLINEARITIES, index=NONLINEARITIES.index(base.nonlinearity)
    )
    v["hidden_size"] = field(c1, "hidden_size", st.number_input, value=base.hidden_size, step=16)
    v["init"] = field(c1, "init", st.selectbox, INITS, index=INITS.index(base.init))
    v["forget_bias"] = field(c1, "forget_bias", st.number_input, value=float(base.forget_bias), step=0.5)
    v["optimizer"] = field(c2, "optimizer", st.selectbox, OPTIMIZERS, index=OPTIMIZERS.index(base.optimizer))
    v["lr"] = field(c2, "lr", st.text_input, value=f"{base.lr:g}")
    v["batch_size"] = field(c2, "batch_size", st.number_input, value=base.batch_size, step=10)
    v["steps"] = field(c2, "steps", st.number_input, value=base.steps, step=100)
    v["clip"] = field(c2, "clip", st.text_input, value=f"{base.clip:g}")
    v["seed"] = field(c2, "seed", st.number_input, value=base.seed, step=1)
    v["view"] = field(c3, "view", st.selectbox, VIEWS, index=VIEWS.index(base.view))
    v["chunk"] = field(c3, "chunk", st.number_input, value=base.chunk, step=1)
    v["permute"] = field(c3, "permute", st.checkbox, value=base.permute)
    v["dataset"] = field(c3, "dataset", st.selectbox, DATASETS, index=DATASETS.index(base.dataset))
    v["data_dir"] = field(c3, "data_dir", st.text_input, value=base.data_dir, placeholder="auto: look up or download")
    v["threads"] = field(c3, "threads", st.number_input, value=base.threads, step=1)
    with st.expander("Diagnostics"):
        d1, d2, d3 = st.columns(3)
        v["probe_every"] = field(d1, "probe_every", st.number_input, value=base.probe_every, step=10)
        v["eval_every"] = field(d2, "eval_every", st.number_input, value=base.eval_every, step=100)
        v["saturation"] = field(d3, "saturation", st.number_input, value=base.saturation, step=0.01, format="%.3f")
    b1, b2, _ = st.columns([1, 1, 3])
    train_one = b1.form_submit_button("Train", type="primary", width="stretch", disabled=readonly)
    train_pair = b2.form_submit_button(
        "Train RNN vs LSTM",
        width="stretch",
        disabled=readonly,
        help="The blog pair: a tanh RNN and an LSTM with these settings, same seed and data order",
    )


def parse(values: dict) -> tuple[RunConfig, list[ConfigError]]:
    """Form values to a config, and every problem with them: text fields that must be numbers, values out of
    range or above the caps, data that is not on this machine."""
    out = dict(values, name=base.name)
    problems = []
    for name in ("lr", "clip"):
        try:
            out[name] = float(str(values[name]).strip())
        except ValueError:
            problems.append(ConfigError(name, f"must be a number, got {values[name]!r}"))
            out[name] = getattr(base, name)  # a number in its place, so the other fields are still checked
    for name in ("hidden_size", "batch_size", "steps", "seed", "chunk", "threads", "probe_every", "eval_every"):
        out[name] = int(values[name])
    cfg = RunConfig.from_dict(out)
    problems += cfg.problems()
    reported = {p.field for p in problems}
    problems += [p for p in Limits.from_env().problems(cfg) if p.field not in reported]
    if cfg.data_dir:
        try:
            datamod.check_dir(cfg.data_dir)
        except DataError as exc:
            problems.append(ConfigError("data_dir", str(exc)))
    elif located(cfg.dataset) is None and cfg.dataset != "mnist":
        problems.append(
            ConfigError(
                "dataset",
                f"{cfg.dataset} is not on this machine; run `python -m rnnviz data "
                f"--dataset {cfg.dataset} --download` or give a data directory",
            )
        )
    elif located(cfg.dataset) is None:
        problems.append(
            ConfigError("dataset", "MNIST is not on this machine: download it above or give a data directory")
        )
    return cfg, problems


def launch(want_pair: bool) -> list[int]:
    """Check the form, the caps and the number of runs training; start the run(s). Raises ConfigError naming
    every problem."""
    cfg, problems = parse(v)
    if problems:
        raise ConfigError.of(problems)
    if want_pair:
        configs = rnn_vs_lstm(cfg)
        if choice != "custom":  # each named after its own cell's run of the unchanged preset
            configs = [named_for_changes(c, ref) for c, ref in zip(configs, rnn_vs_lstm(base))]
    else:
        configs = [named_for_changes(cfg, base) if choice != "custom" else cfg]
    limits = Limits.from_env()
    with Store(path) as store:
        runner.check_capacity(store, len(configs), limits)
        return runner.launch(configs, store, limits)  # started as one set, so the pair shares the cores


if train_one or train_pair:
    try:
        ids = launch(train_pair)
    except ConfigError as exc:
        for problem in exc.problems:
            if problem.field in slots:
                slots[problem.field].error(problem.message, icon=":material/error:")
        refused = "; ".join(f"{p.field.replace('_', ' ')}: {p.message}" for p in exc.problems)
        st.error(f"Not started: {refused}")
    except StoreError as exc:
        st.error(f"Not started: {exc}")
    else:
        st.session_state["select_next"] = ids
        ui.runs_table.clear()
        st.toast(f"Started run{'s' if len(ids) > 1 else ''} {', '.join(map(str, ids))}")
        st.rerun()


@st.dialog("Delete run?")
def confirm_delete(run_id: int, label: str) -> None:
    st.write(f"Delete run **{label}** and everything it recorded? This cannot be undone.")
    if st.button("Delete", type="primary"):
        try:
            with Store(path) as store:
                store.delete_run(run_id)
        except StoreError as exc:
            st.error(str(exc))
            return
        ui.runs_table.clear()
        st.rerun()


def act(action, run_id: int, done: str) -> None:
    """Stop or resume a run; a store that refuses the write says why instead of raising."""
    try:
        with Store(path) as store:
            action(store, run_id)
    except (StoreError, ConfigError) as exc:
        st.error(str(exc))
        return
    ui.runs_table.clear()
    st.toast(done)


def runs_section() -> None:
    runs = ui.runs_table(path)
    if runs.empty:
        st.info("No runs yet. Pick a preset above and click **Train**, or **Train RNN vs LSTM** for the blog pair.")
        return
    polling = runs["status"].isin(UNFINISHED).any()

    @st.fragment(run_every=ui.REFRESH_S if polling else None)
    def table() -> None:
        df = ui.runs_table(path)
        st.dataframe(
            df[
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
            column_config={
                "run_id": st.column_config.NumberColumn("id", width="small"),
                "progress": st.column_config.ProgressColumn("progress", min_value=0.0, max_value=1.0),
                "test_accuracy": st.column_config.NumberColumn("test accuracy", format="percent"),
                "saturated_fraction": st.column_config.NumberColumn("saturated", format="percent"),
                "elapsed": st.column_config.NumberColumn("elapsed (s)", format="%.0f"),
            },
        )
        if polling and not df["status"].isin(UNFINISHED).any():
            st.rerun(scope="app")

    table()
    c1, c2, c4, c3, _ = st.columns([2, 1, 1, 1, 1], vertical_alignment="bottom")
    run_id = c1.selectbox("Run", runs["run_id"].tolist(), format_func=lambda r: ui.run_label(runs, r))
    status = runs.set_index("run_id").loc[run_id, "status"]
    if c2.button("Stop", disabled=readonly or status not in UNFINISHED, width="stretch"):
        act(runner.stop, run_id, f"Asked run {run_id} to stop; it saves and ends within about a second.")
    if c4.button(
        "Resume",
        disabled=readonly or status not in runner.RESUMABLE,
        width="stretch",
        help="Continue a stopped, failed or interrupted run from its last checkpoint",
    ):
        act(runner.resume, run_id, f"Resuming run {run_id} from its last checkpoint.")
    if c3.button(
        "Delete…",
        disabled=readonly or status in ("queued", "running"),
        width="stretch",
        help="Stop a run before deleting it",
    ):
        confirm_delete(run_id, ui.run_label(runs, run_id))


st.subheader("Runs")
runs_section()
