"""The Train page: its settings form built from RunConfig's field descriptions (a widget for every field, and
for a field added to RunConfig with no other edit); and in real headless Chromium, at a laptop's 1440x900, the
blog pair one click away above the fold, Enter in a field starts nothing, and seven picked runs fit the sidebar
with their status."""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from rnnviz.cli.common import add_config_flags
from rnnviz.config import FIELDS, Form, Rule, RunConfig, preset, remedies, setting
from rnnviz.dashboard.settings_form import NOT_IN_FORM, layout, parse
from rnnviz.store import Store

from . import watching
from .browser import CHROMIUM, chromium, data_root, streamlit_server
from .conftest import MNIST_DIR
from .test_app import open_page
from .test_e2e import stop_all

needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"), reason="Debian's chromium is not installed"
)
LAPTOP = {"width": 1440, "height": 900}


def inside(inner: dict, outer: dict) -> bool:
    return (
        inner["x"] >= outer["x"] - 0.5
        and inner["y"] >= outer["y"] - 0.5
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 0.5
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 0.5
    )


@pytest.fixture
def sleeper() -> Iterator[int]:
    """A live process to stand for trainers, so that runs marked as its own count as training."""
    proc = subprocess.Popen(["sleep", "600"])
    yield proc.pid
    proc.kill()
    proc.wait()


@needs_chromium
def test_the_blog_pair_is_one_click_above_the_fold_and_leads_to_watching(tmp_path):
    store_path = tmp_path / "runs.sqlite"
    try:
        with streamlit_server(store_path, data_root(tmp_path, MNIST_DIR)) as url, chromium() as browser:
            page = browser.new_page(viewport=LAPTOP)
            page.goto(url)
            button = page.get_by_role("button", name="Train RNN vs LSTM")
            button.wait_for(timeout=30000)
            page.get_by_text("MNIST found").wait_for(timeout=30000)
            page.get_by_text("No runs yet").wait_for(timeout=30000)  # the end of the page: nothing moves after it
            assert inside(button.bounding_box(), {"x": 0, "y": 0, **LAPTOP})  # no scrolling to find it
            main = page.locator("[data-testid=stMain]")
            primary = [b for b in main.locator("[data-testid=stBaseButton-primary]").all() if b.is_visible()]
            assert len(primary) == 1  # the one primary action
            text = main.inner_text()
            assert "vanish" in text and "saturate" in text and "LSTM learns" in text
            assert "Nothing has been timed on this machine yet" in text  # no run to go by in a new store
            page.screenshot(path=str(tmp_path / "train.png"))
            button.click()
            page.get_by_role("button", name="Watch them learn").click()
            page.wait_for_url("**/overview**", timeout=30000)
            page.get_by_text("Training loss and accuracy on the validation split").wait_for(timeout=30000)
            with Store(store_path) as store:
                assert sorted(store.runs()["name"]) == ["blog-lstm", "blog-rnn"]
    finally:
        stop_all(store_path)


@needs_chromium
def test_enter_in_a_number_field_commits_the_value_and_starts_nothing(tmp_path):
    store_path = tmp_path / "runs.sqlite"
    Store(store_path).close()
    try:
        with streamlit_server(store_path, data_root(tmp_path, MNIST_DIR)) as url, chromium() as browser:
            page = browser.new_page(viewport=LAPTOP)
            page.goto(url + "/?preset=blog-rnn")  # opens the settings on the preset
            steps = page.get_by_role("spinbutton", name="Steps")
            steps.fill("800")
            steps.press("Enter")
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:  # a run started by the Enter would be in the store by now
                with Store(store_path) as store:
                    assert store.runs().empty, store.runs()[["run_id", "name", "status"]]
                time.sleep(0.25)
            page.get_by_text("blog-rnn (steps 800)").first.wait_for(timeout=30000)  # committed: the run it names
            with Store(store_path) as store:
                assert store.runs().empty
    finally:
        stop_all(store_path)


@needs_chromium
def test_enter_in_the_sweeps_form_starts_no_set(tmp_path):
    """Three Enters in the Sweeps page's number fields started three sets on Ray (24 runs, three local Rays)."""
    store_path = tmp_path / "runs.sqlite"
    Store(store_path).close()
    with streamlit_server(store_path, data_root(tmp_path, MNIST_DIR)) as url, chromium() as browser:
        page = browser.new_page(viewport=LAPTOP)
        page.goto(url + "/sweeps")
        page.get_by_text("Start a sweep").click()
        seeds = page.get_by_role("spinbutton", name="Seeds per grid point")
        for value in ("2", "3", "4"):
            seeds.fill(value)
            seeds.press("Enter")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # `rnnviz sweep` records its set within a second of its start
            with Store(store_path) as store:
                assert store.sweeps().empty and store.runs().empty
            time.sleep(0.25)
        assert not list((store_path.parent / "logs").glob("*-sweep-*.log"))  # and no sweep was started at all


@needs_chromium
def test_seven_picked_runs_fit_the_sidebar_with_their_current_status(tmp_path, sleeper):
    store_path = tmp_path / "runs.sqlite"
    with Store(store_path) as store:
        ids = [store.create_run(cfg) for cfg in remedies()]
        for run_id in ids:
            store.set_process(run_id, sleeper)  # queued, its trainer starting
    with streamlit_server(store_path, data_root(tmp_path, MNIST_DIR)) as url, chromium() as browser:
        page = browser.new_page(viewport=LAPTOP)
        page.goto(f"{url}/overview?runs={','.join(map(str, ids))}")
        sidebar = page.locator("[data-testid=stSidebar]")
        sidebar.get_by_text("Runs shown").wait_for(timeout=30000)
        with Store(store_path) as store:  # the trainers start and train while the page is open
            for run_id in ids:
                store.mark_running(run_id, sleeper)
                store.append(run_id, 1200, [], [], {})
        deadline = time.monotonic() + 30
        while (text := watching.texts(page, "stSidebar")).count("training") < len(ids):  # the lines' own frame
            assert time.monotonic() < deadline, text
            time.sleep(0.25)
        assert "queued" not in text and "24.0%" in text  # one decimal, as everywhere
        picker = sidebar.locator("[data-testid=stMultiSelect]")
        chips = picker.locator("[data-tag]")
        assert chips.count() == len(ids)
        box = picker.bounding_box()
        assert inside(box, sidebar.bounding_box())
        for k in range(len(ids)):
            assert inside(chips.nth(k).bounding_box(), box), (k, chips.nth(k).inner_text())
        page.screenshot(path=str(tmp_path / "sidebar.png"))


def test_every_setting_has_its_widget_built_from_its_description(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNVIZ_STORE", str(tmp_path / "runs.sqlite"))
    at = open_page("train")
    assert not at.exception, at.exception
    widgets = {w.key: w for kind in ("selectbox", "checkbox", "number_input", "text_input") for w in at.get(kind)}
    base = preset("blog-rnn")  # the preset the form opens on
    assert set(NOT_IN_FORM) == {"name", "device"}
    for name, f in FIELDS.items():
        w = widgets.pop(f"form-blog-rnn-{name}", None)
        if name in NOT_IN_FORM:
            assert w is None, name
            continue
        assert w is not None, f"no widget for {name}"
        assert w.help.startswith(f.metadata["help"]), (name, w.help)
        rule, value = f.metadata["rule"], getattr(base, name)
        if rule.bounds():
            assert w.help.endswith(f"Allowed: {rule.bounds()}."), (name, w.help)
        if rule.choices:
            assert w.type == "selectbox" and list(w.options) == list(rule.choices) and w.value == value, name
        elif str(f.type) == "bool":
            assert w.type == "checkbox" and w.value is value, name
        elif str(f.type) == "float" and f.metadata["form"].step is None:  # typed as text: lr, clip
            assert w.type == "text_input" and w.value == f"{value:g}", name
        else:
            assert w.type == ("text_input" if str(f.type) == "str" else "number_input") and w.value == value, name
    assert not [k for k in widgets if k and k.startswith("form-")], widgets  # no widget for a field RunConfig lacks
    assert at.number_input(key="form-blog-rnn-delay").disabled  # the delayed task's only: greyed out for mnist
    assert not at.number_input(key="form-blog-rnn-steps").disabled
    assert at.number_input(key="form-blog-rnn-hidden_size").step == 16  # the field's form hint
    assert at.text_input(key="form-blog-rnn-data_dir").placeholder == "auto: look up or download"
    labels = {w.label for w in at.get("number_input")}
    assert {"Hidden size", "Steps", "Sequence length T (adding)", "Recurrent weight scale σ_w"} <= labels


def extended() -> type:
    """RunConfig with two settings more, declared as every setting is and nothing else edited."""
    return dataclasses.make_dataclass(
        "Extended",
        [
            ("dropout", "float", setting(0.0, "dropout on h_t", Rule(low=0, high=1, high_open=True), section="model",
                                         form=Form(step=0.1))),
            ("warmup", "int", setting(0, "steps of learning-rate warm-up", Rule(low=0), section="optimisation")),
        ],
        bases=(RunConfig,),
    )  # fmt: skip


def test_a_new_setting_gets_its_widget_and_its_flag_with_no_other_edit():
    config = extended()
    (_, top), (_, diagnostics) = layout(config)
    assert [f.name for f in top[0]][-1] == "dropout" and [f.name for f in top[1]][-1] == "warmup"
    assert "dropout" not in {f.name for column in diagnostics for f in column}

    def form() -> None:
        from rnnviz.dashboard.settings_form import parse, settings_ui
        from tests.test_train_page import extended

        config = extended()
        values, slots = settings_ui(config(), "form-x")
        _, problems = parse(values, config())
        for problem in problems:
            slots[problem.field].error(problem.message)

    at = AppTest.from_function(form, default_timeout=60).run()
    assert not at.exception, at.exception
    dropout, warmup = at.number_input(key="form-x-dropout"), at.number_input(key="form-x-warmup")
    assert (
        dropout.label == "Dropout" and dropout.step == 0.1 and dropout.help == "dropout on h_t. Allowed: >= 0, below 1."
    )
    assert warmup.label == "Warmup" and warmup.value == 0
    dropout.set_value(1.0).run()
    errors = [e.value for e in at.error]
    assert "must be between 0 and 1, got 1.0" in errors, errors  # validated by its rule, shown under it

    cfg, problems = parse({**dataclasses.asdict(config()), "dropout": 0.5, "warmup": 20}, config())
    assert (cfg.dropout, cfg.warmup) == (0.5, 20) and not [p for p in problems if p.field in ("dropout", "warmup")]

    parser = argparse.ArgumentParser()
    add_config_flags(parser, config)
    args = parser.parse_args(["--dropout", "0.25", "--warmup", "100"])
    assert (args.dropout, args.warmup) == (0.25, 100)
    assert "dropout on h_t (default: 0.0)" in parser.format_help()
    (problem,) = config(dropout=1.5).problems()
    assert (problem.field, problem.message) == ("dropout", "must be between 0 and 1, got 1.5")
