"""A stacked bidirectional run and a language model, watched with rnnviz.watch, in real Chromium: every page that
applies draws them, with no text of a chart on another or cut at its edge, and the layer views say what they show."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .browser import CHROMIUM, chromium, data_root, streamlit_server
from .conftest import MNIST_DIR
from .test_visual import READ, SCREEN, chart_frames, text_problems
from .test_watched_pages import watched  # noqa: F401 (the fixture: runs 1 stacked bi, 2 a language model)

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"), reason="Debian's chromium is not installed"
)
# test_visual's reader of a chart's text, past a trace that draws nothing (the Overview's accuracy panel of a
# watched run, which has no evaluation: no line, no marker)
READ_TEXT = READ.replace(
    "t.type === 'scatter' || t.type === 'bar'", "(t.type === 'scatter' && t.line) || t.type === 'bar'"
)
# charts each page draws for one run: (stacked bidirectional, language model)
CHARTS = {"overview": (1, 1), "gradient_flow": (8, 8), "saturation": (5, 4), "gates": (7, 5), "compare": (3, 3)}


def test_the_pages_of_a_stacked_bidirectional_run_and_of_a_language_model(watched, tmp_path):  # noqa: F811
    shots = Path(os.environ.get("RNNVIZ_SHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    problems, titles = [], {}
    with streamlit_server(watched, data_root(tmp_path, MNIST_DIR)) as url, chromium() as browser:
        page = browser.new_page(viewport=SCREEN)
        for k, run in enumerate(("1", "2")):
            for name, counts in CHARTS.items():
                page.goto(f"{url}/{name}?runs={run}")
                page.wait_for_selector("[data-testid=stMain] h1", timeout=30_000)
                frames = chart_frames(page, counts[k], timeout_s=60)
                page.mouse.move(1, 1)
                page.screenshot(path=str(shots / f"{name}-run{run}.png"))
                assert not page.locator("[data-testid=stException]").count(), f"{name}, run {run}"
                for handle, frame in frames:
                    info = frame.evaluate(READ_TEXT)
                    if "layer l at step t" in info["title"] or info["title"].startswith("Where the gradient"):
                        handle.screenshot(path=str(shots / f"{name}-run{run}-{len(titles.get(run, []))}.png"))
                    titles.setdefault(run, []).append(info["title"])
                    problems += text_problems(info, f"{name}, run {run}: '{info['title']}'")
                text = page.locator("[data-testid=stMain]").inner_text()
                if name == "gradient_flow":
                    assert "Layers, directions and outputs" in text
                    assert ("output read at the last step only" in text) == (run == "1")
                    assert ("one layer read one way" in text) is False
    assert not problems, "\n".join(problems)
    assert any("1 · stacked bi: gradient reaching layer l at step t" in t for t in titles["1"])
    assert any("saturated share per time step (|h| > 0.99), per layer and direction" in t.lower() for t in titles["1"])
    assert any(t.startswith("Where the gradient reaching h_t comes from") for t in titles["2"])
    assert any("2 · lm: gradient reaching layer l at step t" in t for t in titles["2"])
