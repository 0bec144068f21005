"""Train page: the blog experiment one click away at the top, the other blog experiments below it, every setting
below them, then the runs table."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from rnnviz import data as datamod
from rnnviz import roles, runner
from rnnviz.config import (
    FIELDS,
    PRESET_HELP,
    PRESETS,
    ConfigError,
    Limits,
    RunConfig,
    named_for_changes,
    preset,
    rnn_vs_lstm,
    rule_of,
)
from rnnviz.dashboard import horizon_view, reads, state
from rnnviz.dashboard.runs import section as runs_section
from rnnviz.data import DataError
from rnnviz.store import UNFINISHED, Store, StoreError

PAGES = Path(__file__).parent
path = reads.store_path()
readonly = reads.store_readonly(path)
st.title("Train")
if not roles.presenter():  # a viewer of a shared dashboard: the runs as they train, and no control
    st.info(
        "You are watching a shared dashboard: the presenter starts, stops and deletes runs. Every page shows "
        "them; *Follow the presenter* in the sidebar keeps your page on theirs.",
        icon=":material/visibility:",
    )
    st.subheader("Runs")
    runs_section(path, readonly, actions=False)
    st.stop()
if readonly:
    st.info(
        f"The run store `{path}` is read-only here (read-only media, or another user's file): every run in it "
        "can be browsed on the other pages, but none can be started, stopped or deleted. To train, set "
        "`$RNNVIZ_STORE` to a writable path, or copy the store somewhere writable.",
        icon=":material/lock:",
    )
else:
    try:  # the next click's trainers start warm (runner.ensure_standby)
        with Store(path) as store:
            runner.ensure_standby(store)
    except ConfigError as exc:
        st.warning(str(exc), icon=":material/warning:")
    except StoreError:
        pass  # the Runs section below says what is wrong with the store


@st.cache_data(ttl=10, show_spinner=False)
def located(name: str) -> str | None:
    found = datamod.locate(name)
    return str(found) if found else None


def data_problems(cfg: RunConfig) -> list[ConfigError]:
    """The data a config reads, if it is not on this machine."""
    if cfg.task == "adding":
        return []  # drawn from the seed
    if cfg.data_dir:
        try:
            datamod.check_dir(cfg.data_dir)
        except DataError as exc:
            return [ConfigError("data_dir", str(exc))]
    elif located(cfg.dataset) is None and cfg.dataset != "mnist":
        return [
            ConfigError(
                "dataset",
                f"{cfg.dataset} is not on this machine; run `python -m rnnviz data "
                f"--dataset {cfg.dataset} --download` or give a data directory",
            )
        ]
    elif located(cfg.dataset) is None:
        return [ConfigError("dataset", "MNIST is not on this machine: download it below or give a data directory")]
    return []


def start(configs: list[RunConfig], where: str, queue: bool = False) -> None:
    """Start runs as one set, so that they share the cores, and rerun to say where to watch them; with `queue`,
    the runs beyond the cap on runs at once wait for a free slot. Raises ConfigError (beyond the cap, unless
    queued) and StoreError."""
    limits = Limits.from_env()
    with Store(path) as store:
        if not queue:
            runner.check_capacity(store, len(configs), limits)
        ids = runner.launch(configs, store, limits)
    st.session_state[state.SELECT_NEXT] = ids
    st.session_state[state.WATCHING] = {"ids": ids, "where": where}
    reads.runs_table.clear()
    st.rerun()


def watch_prompt(where: str) -> None:
    """Once runs started from here: which they are and where to watch them learn, while they train."""
    started = st.session_state.get(state.WATCHING)
    if not started or started["where"] != where:
        return
    runs = reads.runs_table(path).set_index("run_id")
    ids = [i for i in started["ids"] if i in runs.index and runs.loc[i, "status"] in UNFINISHED]
    if not ids:
        return
    names = " and ".join(f"**{i} · {runs.loc[i, 'name']}**" for i in ids)
    st.success(
        f"Training {names} in the background (they keep training if you close the tab); the sidebar has them "
        "picked for every page.",
        icon=":material/check_circle:",
    )
    c1, c2, _ = st.columns([1, 1, 2])
    if c1.button("Watch them learn", icon=":material/monitoring:", width="stretch", key=f"watch-{where}"):
        st.switch_page(PAGES / "overview.py")
    if c2.button("See the gradient vanish", icon=":material/gradient:", width="stretch", key=f"flow-{where}"):
        st.switch_page(PAGES / "gradient_flow.py")


def about(seconds: float) -> str:
    if seconds < 100:
        return f"about {10 * round(seconds / 10):.0f} seconds"
    if seconds < 600:
        return f"about {round(seconds / 30) / 2:g} minutes"
    return f"about {round(seconds / 60)} minutes"


def how_long(configs: list[RunConfig]) -> str:
    """How long a set of runs takes here, measured from the earlier runs in the store, or why it is not known."""
    seconds = runner.duration(reads.runs_table(path), configs)
    if seconds is None:
        return (
            "Nothing has been timed on this machine yet: the time shows here once "
            + ("an RNN and an LSTM run of these settings have" if len(configs) > 1 else "a run of these settings has")
            + " finished."
        )
    return f"It takes **{about(seconds)}** on this machine, going by the speed of its earlier runs."


def blog_pair() -> None:
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
        c1, c2 = st.columns([1, 3], vertical_alignment="center")
        clicked = c1.button(
            "Train RNN vs LSTM",
            type="primary",
            icon=":material/play_arrow:",
            width="stretch",
            disabled=readonly,
        )
        c2.markdown(how_long(configs))
        if clicked:
            try:
                problems = data_problems(configs[0])
                if problems:
                    raise ConfigError.of(problems)
                start(configs, "pair")
            except (ConfigError, StoreError) as exc:
                st.error(f"Not started: {exc}")
        watch_prompt("pair")


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


def blog_experiments() -> None:
    """Each blog experiment one click away, as its post ran it: once, or over five seeds (the runs beyond the
    cores wait their turn)."""
    with st.container(border=True):
        st.subheader("The blog experiments")
        st.caption(
            "Each as its post ran it. The README's results table sets what these runs gave over seeds (10 for "
            "the collapse, 5 for the others) beside the figures the posts printed; the minutes a run took were "
            "measured on one core of a busy 2-core machine (load 4-11), and the last line of each is this "
            "machine's own time."
        )
        for k, (title, names, what) in enumerate(EXPERIMENTS):
            configs = [preset(n) for n in names]
            c1, c2, c3 = st.columns([4, 1, 1], vertical_alignment="center")
            shown_what = "  \n".join(f"`{n}`: {PRESET_HELP[n]}" for n in names)
            c1.markdown(f"**{title}.** {what}  \n{shown_what}  \n{how_long(configs)}")
            once = c2.button("Train once", key=f"exp-{k}", width="stretch", disabled=readonly)
            seeds = c3.button(
                f"{SEEDS} seeds",
                key=f"exp-seeds-{k}",
                width="stretch",
                disabled=readonly,
                help=f"Seeds 0 to {SEEDS - 1} of each run; those beyond the runs allowed at once wait for a slot. "
                "The Overview's group switch draws them as a mean over seeds with its band.",
            )
            if once or seeds:
                runs = [c.replace(seed=s, name=f"{c.name} (seed {s})") for s in range(SEEDS) for c in configs]
                try:
                    problems = data_problems(configs[0])
                    if problems:
                        raise ConfigError.of(problems)
                    start(runs if seeds else configs, f"experiment-{k}", queue=bool(seeds))
                except (ConfigError, StoreError) as exc:
                    st.error(f"Not started: {exc}")
            watch_prompt(f"experiment-{k}")


def data_status() -> None:
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


def memory_horizon() -> None:
    """How long can each cell remember: the memory horizon one click away, and the newest one drawn."""
    with st.container(border=True):
        st.subheader("How long can it remember?")
        st.caption(
            "Row MNIST is 28 steps, a short memory. The adding problem asks for two values seen up to T steps "
            "before the answer, with no download: where does each cell stop remembering? (docs/memory.md)"
        )
        horizon_view.section(path)


blog_pair()
data_status()
blog_experiments()
memory_horizon()

names = ["custom", *PRESETS]
# ?preset=NAME in the URL picks the preset and opens the settings, so a link can open the form ready for a demo.
wanted = st.query_params.get("preset", "")
settings = st.expander("All settings: any preset, every field", expanded=wanted in names, icon=":material/tune:")
choice = settings.selectbox(
    "Preset",
    names,
    index=names.index(wanted if wanted in names else "blog-rnn"),
    format_func=lambda n: f"{n}: {PRESET_HELP[n]}" if n in PRESET_HELP else "custom settings",
)
base = preset(choice) if choice != "custom" else RunConfig()
helps = {name: f.metadata["help"] for name, f in FIELDS.items()}


def key(field: str) -> str:
    return f"form-{choice}-{field}"


# Plain widgets, not an st.form: Enter in a form's field submits it, which started a run. Here Enter only
# commits the value (and the page reruns); only the buttons start runs.
slots: dict[str, DeltaGenerator] = {}


# Settings whose names do not read as words; the others are labelled by their name ("hidden size").
LABELS = {
    "length": "Sequence length T (adding)",
    "delay": "Delay D (delayed digit)",
    "lr": "Learning rate",
    "sigma_w": "Recurrent weight scale σ_w",
    "data_dir": "Data directory",
}


def field(col, name: str, widget, *args, **kwargs):
    label = LABELS.get(name, name.replace("_", " ").capitalize())
    with col:
        value = widget(label, *args, key=key(name), help=helps[name], **kwargs)
        slots[name] = st.empty()
    return value


def choose(col, name: str):
    """A field with choices: a select box of its rule's choices."""
    choices = rule_of(name).choices
    return field(col, name, st.selectbox, choices, index=choices.index(getattr(base, name)))


with settings:
    c1, c2, c3 = st.columns(3)
    v = {}
    v["cell"] = choose(c1, "cell")
    v["nonlinearity"] = choose(c1, "nonlinearity")
    v["hidden_size"] = field(c1, "hidden_size", st.number_input, value=base.hidden_size, step=16)
    v["init"] = choose(c1, "init")
    v["head_init"] = choose(c1, "head_init")
    v["forget_bias"] = field(c1, "forget_bias", st.number_input, value=float(base.forget_bias), step=0.5)
    v["sigma_w"] = field(c1, "sigma_w", st.number_input, value=float(base.sigma_w), step=0.25)
    v["optimizer"] = choose(c2, "optimizer")
    v["lr"] = field(c2, "lr", st.text_input, value=f"{base.lr:g}")
    v["batch_size"] = field(c2, "batch_size", st.number_input, value=base.batch_size, step=10)
    v["steps"] = field(c2, "steps", st.number_input, value=base.steps, step=100)
    v["epochs"] = field(c2, "epochs", st.number_input, value=base.epochs, step=1, min_value=0)
    v["clip"] = field(c2, "clip", st.text_input, value=f"{base.clip:g}")
    v["seed"] = field(c2, "seed", st.number_input, value=base.seed, step=1)
    v["task"] = choose(c3, "task")
    v["delay"] = field(c3, "delay", st.number_input, value=base.delay, step=10, disabled=v["task"] != "delayed")
    v["length"] = field(c3, "length", st.number_input, value=base.length, step=10, disabled=v["task"] != "adding")
    v["view"] = choose(c3, "view")
    v["chunk"] = field(c3, "chunk", st.number_input, value=base.chunk, step=1)
    v["permute"] = field(c3, "permute", st.checkbox, value=base.permute)
    v["dataset"] = choose(c3, "dataset")
    v["data_dir"] = field(c3, "data_dir", st.text_input, value=base.data_dir, placeholder="auto: look up or download")
    v["threads"] = field(c3, "threads", st.number_input, value=base.threads, step=1)
    st.markdown("**Diagnostics**")
    d1, d2, d3 = st.columns(3)
    v["probe_every"] = field(d1, "probe_every", st.number_input, value=base.probe_every, step=10)
    v["jacobian_examples"] = field(d1, "jacobian_examples", st.number_input, value=base.jacobian_examples, step=1)
    v["eval_every"] = field(d2, "eval_every", st.number_input, value=base.eval_every, step=100)
    v["test_during_training"] = field(d2, "test_during_training", st.checkbox, value=base.test_during_training)
    v["saturation"] = field(d3, "saturation", st.number_input, value=base.saturation, step=0.01, format="%.3f")
    b1, b2, b3 = st.columns([1, 2, 3], vertical_alignment="center")
    train_one = b1.button("Train", width="stretch", disabled=readonly)
    train_pair = b2.button(
        "Train as an RNN vs LSTM pair",
        width="stretch",
        disabled=readonly,
        help="A tanh RNN and an LSTM with these settings, same seed and data order",
    )
    preview = b3.empty()
    refusal = st.empty()


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
    for name in ("hidden_size", "batch_size", "steps", "epochs", "seed", "chunk", "threads", "probe_every",
                 "eval_every", "delay", "length"):  # fmt: skip
        out[name] = int(values[name])
    cfg = RunConfig.from_dict(out)
    problems += cfg.problems()
    reported = {p.field for p in problems}
    try:
        problems += [p for p in Limits.from_env().problems(cfg) if p.field not in reported]
    except ConfigError as exc:  # a cap set to no number in the environment
        problems.append(exc)
    order = [f.name for f in dataclasses.fields(RunConfig)]
    return cfg, sorted(problems + data_problems(cfg), key=lambda p: order.index(p.field))


def named(cfg: RunConfig, pair: bool) -> list[RunConfig]:
    """The run(s) a button starts, each named as its preset's run plus what differs from it."""
    if pair:
        configs = rnn_vs_lstm(cfg)
        references = rnn_vs_lstm(base)  # each cell's run of the unchanged preset
    else:
        configs, references = [cfg], [base]
    if choice == "custom":
        return configs
    return [named_for_changes(c, reference) for c, reference in zip(configs, references)]


cfg, problems = parse(v)
if not problems:
    one, pair = named(cfg, False), named(cfg, True)
    preview.caption(f"**Train** starts `{one[0].display_name}`; the pair, `{pair[0].name}` and `{pair[1].name}`.")
if train_one or train_pair:
    try:
        if problems:
            raise ConfigError.of(problems)
        start(named(cfg, bool(train_pair)), "settings")
    except ConfigError as exc:
        for problem in exc.problems:
            if problem.field in slots:
                slots[problem.field].error(problem.message, icon=":material/error:")
        refused = "; ".join(f"{p.field.replace('_', ' ')}: {p.message}" for p in exc.problems)
        refusal.error(f"Not started: {refused}")
    except StoreError as exc:
        refusal.error(f"Not started: {exc}")
with settings:
    watch_prompt("settings")


st.subheader("Runs")
runs_section(path, readonly)
