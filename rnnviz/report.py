"""A run or a comparison as one self-contained HTML file: the dashboard's figures (interactive, with
plotly.js inlined once), the settings and the plain-language readings. It opens from disk with no server
and no network, so a speaker can hand it to the audience."""

from __future__ import annotations

import dataclasses
import html
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path

import plotly.graph_objects as go
import plotly.io as pio

from . import __version__, findings, views, words
from .config import RunConfig
from .figures import CHART_CONFIG
from .views import RunData, layouts


def report_figures(runs: Sequence[RunData]) -> list[tuple[str, go.Figure]]:
    """The figures a report holds: its layout (views.layouts.REPORT, what the Overview, Gradient flow with its
    Why section, Saturation and Gates pages show), a chart per slot, or per run where the slot draws one run.
    A run that recorded none of what a one-run view reads is left out (the readings say what it lacks)."""
    evaluated = views.evaluated_title(runs).split(" (")[0]
    figs = []
    for slot in layouts.REPORT:
        view = slot.of
        for group in slot.groups(runs):
            if view.one and views.lacking(view, group[0]):
                continue
            figs.append((layouts.heading(slot, group, evaluated), view(group)))
    return figs


def _markdown(text: str) -> str:
    """The readings' little markdown (**bold**) as HTML."""
    return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(text))


def _settings(runs: Sequence[RunData]) -> str:
    """Every setting in words (a dash where a run does not read one), then how each run ended."""
    head = "".join(f"<th>{html.escape(r.label)}</th>" for r in runs)
    body = []
    for f in dataclasses.fields(RunConfig):
        shown = [words.setting_value(r.cfg, f.name) for r in runs]
        differ = ' class="differ"' if len(set(shown)) > 1 else ""
        cells = "".join(f"<td>{html.escape(v)}</td>" for v in shown)
        body.append(f"<tr{differ}><th>{html.escape(words.setting(f.name))}</th>{cells}</tr>")
    ended = {
        "status": [str(r.row.get("status")) for r in runs],
        "step reached": [words.step(r.row["step"]) for r in runs],
        "test accuracy": [words.percent(r.row.get("test_accuracy")) for r in runs],
        "saturated (|h| > threshold)": [words.percent(findings.saturated(r)) for r in runs],
    }
    for name, values in ended.items():
        body.append(f"<tr><th>{name}</th>{''.join(f'<td>{html.escape(v)}</td>' for v in values)}</tr>")
    return f"<table><tr><th></th>{head}</tr>{''.join(body)}</table>"


def html_report(runs: Sequence[RunData], title: str = "") -> str:
    if not runs:
        raise ValueError("a report needs at least one run")
    title = title or "rnnviz: " + " vs ".join(r.label for r in runs)
    sections = []
    for i, (heading, fig) in enumerate(report_figures(runs)):
        div = pio.to_html(
            fig,
            full_html=False,
            include_plotlyjs=i == 0,  # plotly.js once, inline: the file needs no network
            config=CHART_CONFIG,
        )
        sections.append(f"<section><h2>{html.escape(heading)}</h2>{div}</section>")
    said = [findings.of(r, runs) for r in runs]  # a Why reading's medians, then the probe its chart draws
    said += [f"{w} {findings.chart_note(r) or ''}" for r in runs if (w := findings.why_reading(r, runs))]
    readings = "".join(f"<li>{_markdown(text)}</li>" for text in said)
    made = time.strftime("%Y-%m-%d %H:%M")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em; color: #222; }}
table {{ border-collapse: collapse; font-size: 0.9em; }} th, td {{ border: 1px solid #ddd; padding: 0.25em 0.6em; }}
th {{ text-align: left; background: #f6f6f6; }} tr.differ td {{ background: #fff4d6; }}
section {{ margin: 2em 0; }} footer {{ color: #777; font-size: 0.85em; margin-top: 3em; }}
</style></head>
<body>
<h1>{html.escape(title)}</h1>
<h2>Reading</h2><ul>{readings}</ul>
{"".join(sections)}
<h2>Settings</h2><p>Rows where the runs differ are highlighted.</p>{_settings(runs)}
<footer>Made by rnnviz {__version__} on {made}. Every chart is interactive (zoom, hover) and has a PNG
download in its toolbar.</footer>
</body></html>
"""


def write_report(runs: Sequence[RunData], path: str | os.PathLike, title: str = "") -> Path:
    out = Path(path).expanduser().resolve()
    if out.is_dir():
        raise ValueError(f"{out}: is a directory; give a file name such as {out / 'report.html'}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html_report(runs, title), encoding="utf-8")
    return out
