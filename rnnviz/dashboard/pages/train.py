"""Train page: the blog experiment one click away at the top, the other blog experiments below it, every setting
below them, then the runs table."""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from rnnviz import data as datamod
from rnnviz import roles, runner, words
from rnnviz.config import PRESET_HELP, PRESETS, ConfigError, Limits, RunConfig, named_for_changes, preset, rnn_vs_lstm
from rnnviz.dashboard import horizon_view, reads, state
from rnnviz.dashboard.runs import section as runs_section
from rnnviz.dashboard.settings_form import data_problems, located, parse, settings_ui
from rnnviz.data import DataError
from rnnviz.store import UNFINISHED, Store, StoreError

PAGES = Path(__file__).parent


def viewer_ui(path: str, readonly: bool) -> None:
    """A viewer of a shared dashboard: the runs as they train, and no control."""
    st.info(
        "You are watching a shared dashboard: the presenter starts, stops and deletes runs. Every page shows "
        "them; *Follow the presenter* in the sidebar keeps your page on theirs.",
        icon=":material/visibility:",
    )
    st.subheader("Runs")
    runs_section(path, readonly, actions=False)


def store_ui(path: str, readonly: bool) -> None:
    """Why nothing can be started from a read-only store; else the next click's trainers started warm
    (runner.ensure_standby)."""
    if readonly:
        st.info(
            f"The run store `{path}` is read-only here (read-only media, or another user's file): every run in it "
            "can be browsed on the other pages, but none can be started, stopped or deleted. To train, set "
            "`$RNNVIZ_STORE` to a writable path, or copy the store somewhere writable.",
            icon=":material/lock:",
        )
        return
    try:
        with Store(path) as store:
            runner.ensure_standby(store)
    except ConfigError as exc:
        st.warning(str(exc), icon=":material/warning:")
    except StoreError:
        pass  # the Runs section below says what is wrong with the store


def start(path: str, configs: list[RunConfig], where: str, queue: bool = False, once: bool = False) -> None:
    """Start runs as one set, so that they share the cores, and rerun to say where to watch them; with `queue`,
    the runs beyond the cap on runs at once wait for a free slot; with `once`, a set that trains already (a
    second click, or another tab's) is watched, not started again. Raises ConfigError (beyond the cap, unless
    queued) and StoreError."""
    limits = Limits.from_env()
    with Store(path) as store:
        # read from the store, not the page's cached table: a click sent before the page redrew its disabled
        # button reaches here a second time
        ids = runner.training_runs(store.runs(), configs) if once else None
        if ids is None:
            if not queue:
                runner.check_capacity(store, len(configs), limits)
            ids = runner.launch(configs, store, limits)
    st.session_state[state.SELECT_NEXT] = ids
    st.session_state[state.WATCHING] = {"ids": ids, "where": where}
    reads.runs_table.clear()
    st.rerun()


def start_or_say(path: str, configs: list[RunConfig], where: str, queue: bool = False, once: bool = False) -> None:
    """Start runs whose data is here, or say why they were not started."""
    try:
        problems = data_problems(configs[0])
        if problems:
            raise ConfigError.of(problems)
        start(path, configs, where, queue, once)
    except (ConfigError, StoreError) as exc:
        st.error(f"Not started: {exc}")


def watch_prompt_ui(path: str, where: str, training: list[int] | None = None) -> None:
    """Once runs started from here (or the `training` runs of this button, started from anywhere): which they
    are and where to watch them learn, while they train."""
    started = st.session_state.get(state.WATCHING)
    mine = started["ids"] if started and started["where"] == where else None
    wanted = training if training is not None else mine
    if wanted is None:
        return
    runs = reads.runs_table(path).set_index("run_id")
    ids = [i for i in wanted if i in runs.index and runs.loc[i, "status"] in UNFINISHED]
    if not ids:
        return
    names = " and ".join(f"**{i} · {runs.loc[i, 'name']}**" for i in ids)
    st.success(
        f"Training {names} in the background (they keep training if you close the tab); the sidebar has them "
        "picked for every page.",
        icon=":material/check_circle:",
    )
    c1, c2, _ = st.columns([1, 1, 2])
    watch = c1.button("Watch them learn", icon=":material/monitoring:", width="stretch", key=f"watch-{where}")
    flow = c2.button("See the gradient vanish", icon=":material/gradient:", width="stretch", key=f"flow-{where}")
    if watch or flow:
        st.session_state[state.SELECT_NEXT] = ids  # picked there, whoever picked what since
        st.switch_page(PAGES / ("overview.py" if watch else "gradient_flow.py"))


def how_long(path: str, configs: list[RunConfig]) -> str:
    """How long a set of runs takes here, measured from the earlier runs in the store, or why it is not known."""
    seconds = runner.duration(reads.runs_table(path), configs)
    if seconds is None:
        return (
            "Nothing has been timed on this machine yet: the time shows here once "
            + ("an RNN and an LSTM run of these settings have" if len(configs) > 1 else "a run of these settings has")
            + " finished."
        )
    return f"It takes **{words.about(seconds)}** on this machine, going by the speed of its earlier runs."


def blog_pair_ui(path: str, readonly: bool) -> None:
    """The blog experiment first: what one click shows, how long it takes, and the button."""
    configs = [preset("blog-rnn"), preset("blog-lstm")]
    with st.container(border=True):
        st.subheader("Why a vanilla RNN fails where an LSTM learns")
        st.markdown(
            f"One click trains the blog's pair side by side on sequential MNIST, {configs[0].steps:,} steps each "
            "with the same seed and batches (the blog's settings: Adam at a learning rate of 0.01, batches of 100, "
            "Glorot init): watch the tanh RNN's units saturate at ±1 and its gradient vanish on the way back to the "
            "first rows (decades below the last row's), while the LSTM's path stays open and the LSTM learns. Every "
            "seed shows that; "
            "whether the RNN's accuracy then collapses to chance depends on the seed and on this machine's "
            "floating point (in 4 of 10 seeds where it was measured)."
        )
        # Started once: while the pair trains, its button is greyed out and says so, and a click that reaches
        # the server anyway (sent before the page redrew) finds the pair in the store and starts nothing.
        training = runner.training_runs(reads.runs_table(path), configs)
        c1, c2 = st.columns([1, 3], vertical_alignment="center")
        clicked = c1.button(
            "Training RNN vs LSTM" if training else "Train RNN vs LSTM",
            type="primary",
            icon=":material/hourglass_top:" if training else ":material/play_arrow:",
            width="stretch",
            disabled=readonly or training is not None,
            key="train-pair",
            help="The pair is training; it can be trained again once both runs have ended." if training else None,
        )
        c2.markdown(how_long(path, configs))
        if clicked:
            start_or_say(path, configs, "pair", once=True)
        watch_prompt_ui(path, "pair", training)


# The blog experiments beside the pair above: (title, the presets it trains, what it shows). What each preset
# showed over 5 seeds is its PRESET_HELP line; the README's results table sets them beside the posts' figures.
EXPERIMENTS = (
    ("The collapse, over seeds", ("blog-rnn", "blog-lstm"),
     "The pair above, the collapse post's BasicRNNCell (a tanh nn.RNN in PyTorch) against its BasicLSTMCell "
     "(nn.LSTM), once per seed: in how many seeds does the RNN collapse, and does the LSTM learn in every one?"),
    ("The TensorFlow tutorial's LSTM", ("tutorial-lstm",),
     "Adam at a learning rate of 0.001, batches of 128, 100,000 training samples (781 steps), the output layer "
     "drawn from a standard normal; its minibatch loss every 10 steps, and the test accuracy on the first 128 and "
     "256 test digits."),
    ("Plain gradient descent, in epochs", ("sgd-lstm",),
     "The LSTM with GradientDescentOptimizer (torch.optim.SGD) at a learning rate of 0.001: the mean cost, "
     "training and validation accuracy of every epoch (the Overview's epoch curves) show how slowly it learns."),
)  # fmt: skip
SEEDS = 5


TRAINING_HELP = "These runs are training; they can be trained again once they have all ended."


def experiment_ui(path: str, readonly: bool, k: int) -> tuple[list[RunConfig], bool] | None:
    """One blog experiment, what it showed and its buttons; returns the runs clicked for (and whether they are
    queued over seeds), or None. Each button starts its set once, as the blog pair's does (start_or_say)."""
    title, names, what = EXPERIMENTS[k]
    configs = [preset(n) for n in names]
    seeded = [c.replace(seed=s, name=f"{c.name} (seed {s})") for s in range(SEEDS) for c in configs]
    runs = reads.runs_table(path)
    once_training, seeds_training = runner.training_runs(runs, configs), runner.training_runs(runs, seeded)
    c1, c2, c3 = st.columns([4, 1, 1], vertical_alignment="center")
    shown_what = "  \n".join(f"`{n}`: {PRESET_HELP[n]}" for n in names)
    c1.markdown(f"**{title}.** {what}  \n{shown_what}  \n{how_long(path, configs)}")
    once = c2.button(
        "Training" if once_training else "Train once",
        key=f"exp-{k}",
        width="stretch",
        disabled=readonly or once_training is not None,
        help=TRAINING_HELP if once_training else None,
    )
    seeds = c3.button(
        "Training" if seeds_training else f"{SEEDS} seeds",
        key=f"exp-seeds-{k}",
        width="stretch",
        disabled=readonly or seeds_training is not None,
        help=TRAINING_HELP
        if seeds_training
        else f"Seeds 0 to {SEEDS - 1} of each run; those beyond the runs allowed at once wait for a slot. "
        "The Overview's group switch draws them as a mean over seeds with its band.",
    )
    if seeds:
        return seeded, True
    return (configs, False) if once else None


def blog_experiments_ui(path: str, readonly: bool) -> None:
    """Each blog experiment one click away, as its post ran it: once, or over five seeds (the runs beyond the
    cores wait their turn)."""
    with st.container(border=True):
        st.subheader("The blog experiments")
        st.caption(
            "Each as its post ran it. The README's results table sets what these runs gave over seeds (10 for "
            "the collapse, 5 for the others) beside the figures the posts printed; the last line of each is how "
            "long it takes on this machine, going by its earlier runs."
        )
        for k in range(len(EXPERIMENTS)):
            clicked = experiment_ui(path, readonly, k)
            if clicked:
                runs, queue = clicked
                start_or_say(path, runs, f"experiment-{k}", queue=queue, once=True)
            watch_prompt_ui(path, f"experiment-{k}")


def data_status_ui() -> None:
    mnist = located("mnist")
    if mnist:
        st.caption(f":material/check_circle: MNIST found in `{mnist}`.")
        return
    st.warning(
        "MNIST is not on this machine yet. Download it (11 MB, checked by MD5) into "
        f"`{datamod.cache_dir() / 'mnist'}`, or give a **Data directory** in the settings below that holds the four "
        "IDX files (or set `$RNNVIZ_DATA_DIR`).",
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


def memory_horizon_ui(path: str) -> None:
    """How long can each cell remember: the memory horizon one click away, and the newest one drawn."""
    with st.container(border=True):
        st.subheader("How long can it remember?")
        st.caption(
            "Row MNIST is 28 steps, a short memory. The adding problem asks for two values seen up to T steps "
            "before the answer, with no download: where does each cell stop remembering? (docs/memory.md)"
        )
        horizon_view.section(path)


def preset_ui(settings: DeltaGenerator) -> str:
    """The preset the settings start from ("custom": the defaults); ?preset=NAME in the URL picks it."""
    names = ["custom", *PRESETS]
    wanted = st.query_params.get("preset", "")
    return settings.selectbox(
        "Preset",
        names,
        index=names.index(wanted if wanted in names else "blog-rnn"),
        format_func=lambda n: f"{n}: {PRESET_HELP[n]}" if n in PRESET_HELP else "custom settings",
    )


def named(cfg: RunConfig, pair: bool, choice: str) -> list[RunConfig]:
    """The run(s) a button starts, each named as its preset's run plus what differs from it."""
    base = preset(choice) if choice != "custom" else RunConfig()
    if pair:
        configs = rnn_vs_lstm(cfg)
        references = rnn_vs_lstm(base)  # each cell's run of the unchanged preset
    else:
        configs, references = [cfg], [base]
    if choice == "custom":
        return configs
    return [named_for_changes(c, reference) for c, reference in zip(configs, references)]


def buttons_ui(readonly: bool, training: tuple[bool, bool]) -> tuple[bool, bool, DeltaGenerator]:
    """Train and Train as a pair, each greyed out while the run(s) it would start train (`training`); returns
    which was clicked and the slot beside them naming the runs."""
    b1, b2, b3 = st.columns([1, 2, 3], vertical_alignment="center")
    one = b1.button(
        "Training" if training[0] else "Train",
        key="settings-train",
        width="stretch",
        disabled=readonly or training[0],
        help=TRAINING_HELP if training[0] else None,
    )
    pair = b2.button(
        "Training the pair" if training[1] else "Train as an RNN vs LSTM pair",
        key="settings-pair",
        width="stretch",
        disabled=readonly or training[1],
        help=TRAINING_HELP if training[1] else "A tanh RNN and an LSTM with these settings, same seed and data order",
    )
    return one, pair, b3.empty()


def all_settings_ui(path: str, readonly: bool) -> None:
    """Any preset, every field, and the two buttons. Plain widgets, not an st.form: Enter in a form's field
    submits it, which started a run. Here Enter only commits the value (and the page reruns)."""
    # ?preset=NAME in the URL also opens the settings, so a link can open the form ready for a demo.
    linked = st.query_params.get("preset", "") in ("custom", *PRESETS)
    settings = st.expander("All settings: any preset, every field", expanded=linked, icon=":material/tune:")
    choice = preset_ui(settings)
    base = preset(choice) if choice != "custom" else RunConfig()
    with settings:
        values, slots = settings_ui(base, f"form-{choice}")
        cfg, problems = parse(values, base)
        runs = reads.runs_table(path)
        training = (False, False)
        if not problems:
            one, pair = named(cfg, False, choice), named(cfg, True, choice)
            training = (runner.training_runs(runs, one) is not None, runner.training_runs(runs, pair) is not None)
        train_one, train_pair, preview = buttons_ui(readonly, training)
        refusal = st.empty()
    if not problems:
        preview.caption(f"**Train** starts `{one[0].display_name}`; the pair, `{pair[0].name}` and `{pair[1].name}`.")
    if train_one or train_pair:
        try:
            if problems:
                raise ConfigError.of(problems)
            start(path, named(cfg, train_pair, choice), "settings", once=True)
        except ConfigError as exc:
            for problem in exc.problems:
                if problem.field in slots:
                    slots[problem.field].error(problem.message, icon=":material/error:")
            refused = "; ".join(f"{p.field.replace('_', ' ')}: {p.message}" for p in exc.problems)
            refusal.error(f"Not started: {refused}")
        except StoreError as exc:
            refusal.error(f"Not started: {exc}")
    with settings:
        watch_prompt_ui(path, "settings")


def main() -> None:
    path = reads.store_path()
    readonly = reads.store_readonly(path)
    st.title("Train")
    if not roles.presenter():
        viewer_ui(path, readonly)
        return
    store_ui(path, readonly)
    blog_pair_ui(path, readonly)
    data_status_ui()
    blog_experiments_ui(path, readonly)
    memory_horizon_ui(path)
    all_settings_ui(path, readonly)
    st.subheader("Runs")
    runs_section(path, readonly)


if __name__ == "__main__":
    main()
