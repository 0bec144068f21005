"""The HTML report: one self-contained file that opens in a browser with no server and no network."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rnnviz.__main__ import main
from rnnviz.api import open_run
from rnnviz.report import report_figures

from .browser import CHROMIUM, chromium


def test_report_command_writes_one_self_contained_file(trained_store, tmp_path, capsys):
    out = tmp_path / "talk" / "rnn-vs-lstm.html"
    assert main(["report", "1", "2", "-o", str(out), "--store", str(trained_store)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    text = out.read_text()
    runs = [open_run(trained_store, 1), open_run(trained_store, 2)]
    n = len(report_figures(runs))
    assert n == 14  # seven shared figures, two Why figures per run and the paths, the LSTM's two gate figures
    assert text.count("Plotly.newPlot(") == n
    assert text.count("plotly.js v") >= 1 and "<script src=" not in text  # plotly.js inline, nothing fetched
    assert "<b>1 · test-rnn</b>" in text and "saturated" in text  # the readings
    assert "the mean tanh slope φ" in text and "Cell-state path" in text  # and why the gradient vanishes
    assert "<th>forget-gate bias</th>" in text and 'class="differ"' in text  # settings, differences marked


def test_report_refuses_a_directory_and_unknown_runs(trained_store, tmp_path, capsys):
    assert main(["report", "1", "-o", str(tmp_path), "--store", str(trained_store)]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert main(["report", "9", "-o", str(tmp_path / "r.html"), "--store", str(trained_store)]) == 2
    assert "no run 9" in capsys.readouterr().err and not (tmp_path / "r.html").exists()


@pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("CI"), reason="no chromium")
def test_report_opens_offline_in_chromium(trained_store, tmp_path):
    path = open_run(trained_store, 2).report(tmp_path / "r.html", open_run(trained_store, 1))
    fetched = []
    with chromium() as browser:
        page = browser.new_page()
        page.route("**/*", lambda route: (fetched.append(route.request.url), route.continue_()))
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(path.as_uri())
        page.locator(".js-plotly-plot").nth(13).wait_for(timeout=30000)
        assert page.locator(".js-plotly-plot").count() == 14 and not errors
        assert page.locator(".heatmaplayer image").count() == 4  # the gradient and tanh slope heatmaps are drawn
    assert all(url.startswith("file://") for url in fetched), fetched
