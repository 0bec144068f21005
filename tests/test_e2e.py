"""End to end in real headless Chromium: click Train, watch steps arrive live, see the gradient heatmap."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from rnnviz.store import Store

from .browser import CHROMIUM, chromium, data_root, streamlit_server
from .conftest import MNIST_DIR, ROOT

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"), reason="Debian's chromium is not installed"
)
SHOTS = ROOT / "assets" if os.environ.get("RNNVIZ_UPDATE_SCREENSHOTS") else None


def shown_steps(page) -> dict[str, int]:
    text = page.locator("[data-testid=stMain]").inner_text()
    return {m[1]: int(m[3]) for m in re.finditer(r"\d+ · blog-(rnn|lstm) (\w+), step (\d+) of", text)}


def stop_all(store_path: Path) -> None:
    """Ask every run to stop and wait until none trains (also after a failed assertion)."""
    if not store_path.exists():
        return
    with Store(store_path) as store:
        for run_id in store.runs()["run_id"]:
            store.request_stop(int(run_id))
        deadline = time.monotonic() + 30
        while store.runs()["status"].isin(["queued", "running"]).any():
            assert time.monotonic() < deadline, "runs did not stop"
            time.sleep(0.2)


def test_click_train_and_watch_the_runs_learn_live(tmp_path):
    store_path = tmp_path / "e2e.sqlite"
    try:
        watch_live_and_restart_the_server(tmp_path, store_path, SHOTS or tmp_path)
    finally:
        stop_all(store_path)


def watch_live_and_restart_the_server(tmp_path: Path, store_path: Path, shots: Path) -> None:
    with streamlit_server(store_path, data_root(tmp_path, MNIST_DIR)) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url + "/?preset=blog-rnn")
        page.get_by_text("MNIST found").wait_for(timeout=30000)
        assert page.get_by_role("spinbutton", name="Steps").input_value() == "5000"  # ?preset= filled the form
        page.get_by_role("button", name="Train RNN vs LSTM").click()
        page.get_by_text("blog-lstm", exact=False).first.wait_for(timeout=30000)

        page.get_by_role("link", name="Overview").click()
        page.get_by_text("Training loss").wait_for(timeout=30000)
        deadline = time.monotonic() + 60
        while not (first := shown_steps(page)) or min(first.values()) < 1:
            assert time.monotonic() < deadline, "no step appeared on the Overview page"
            time.sleep(0.25)
        deadline = time.monotonic() + 60
        while (later := shown_steps(page)) == first or min(later.values()) <= min(first.values()):
            assert time.monotonic() < deadline, f"steps did not advance live: {first}"
            time.sleep(0.25)  # no reload: the page's fragment polls the store
        assert set(later) == {"rnn", "lstm"}
        assert page.locator(".js-plotly-plot").count() >= 1
        page.screenshot(path=str(shots / "overview.png"), full_page=True)

        page.get_by_role("link", name="Gradient flow").click()
        page.locator(".heatmaplayer").first.wait_for(timeout=30000)
        assert page.locator(".heatmaplayer image").count() >= 2  # one panel per run, drawn
        page.screenshot(path=str(shots / "gradient_flow.png"), full_page=True)
        for name, link in (
            ("saturation", "Saturation"),
            ("gates", "Gates"),
            ("compare", "Compare"),
            ("train", "Train"),
        ):
            page.get_by_role("link", name=link).click()
            page.locator(".js-plotly-plot, [data-testid=stDataFrame]").first.wait_for(timeout=30000)
            assert page.locator("[data-testid=stException]").count() == 0, name
            page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

    # Ctrl-C stopped the server above; its trainers run on, and a new server shows them again.
    with Store(store_path) as store:
        before = store.runs().set_index("name")["step"]
        time.sleep(2)
        after = store.runs().set_index("name")
        assert (after["status"] == "running").all() and (after["step"] > before).all(), after
    with streamlit_server(store_path, data_root(tmp_path, MNIST_DIR)) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url + "/overview")
        page.get_by_text("Training loss").wait_for(timeout=30000)
        seen = shown_steps(page)
        assert set(seen) == {"rnn", "lstm"} and min(seen.values()) >= min(after["step"])
        with Store(store_path) as store:
            runs = store.runs()
            assert sorted(runs["name"]) == ["blog-lstm", "blog-rnn"]
            assert runs["status"].isin(["running", "finished"]).all(), runs[["status", "error"]]
