"""Refresh the README's screenshots in assets/ from stores of finished runs.

python -m rnnviz demo --long --store /tmp/demo.sqlite     # the blog pair (runs 1 and 7), the remedies set, 112 steps
python scripts/screenshots.py /tmp/demo.sqlite            # every page, presenter mode, a replay
python scripts/screenshots.py /tmp/demo.sqlite long=gradient_flow?runs=8,9   # only the named shots
python scripts/screenshots.py /tmp/pair.sqlite --pair 1,2 overview gradient_flow   # the pair's shots, by name
python scripts/screenshots.py /tmp/grid.sqlite sweeps   # from a store holding a sweep (docs/development.md)

A shot is NAME=PATH: the page path with its query (runs, step, present, replay), saved as assets/NAME.png; a
bare NAME takes the path of SHOTS. `--pair RNN,LSTM` names the blog pair's run ids (1,7 after `demo`): pick a
pair that shows the story on the machine that took it, and say its seed and outcome in the README's captions.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rnnviz.api import Run  # noqa: E402
from rnnviz.report import write_report  # noqa: E402
from rnnviz.store import Store  # noqa: E402
from tests.browser import chromium, data_root, streamlit_server  # noqa: E402

BLOG = "runs=1,7"  # blog-rnn and blog-lstm in a store that `rnnviz demo` filled


def shots_of(blog: str) -> dict[str, str]:
    """The shots, with the blog pair's runs `blog` ("runs=1,7")."""
    return {name: path.replace(BLOG, blog) for name, path in SHOTS.items()}


SHOTS = {
    "train": "",
    "overview": f"overview?{BLOG}",
    "gradient_flow": f"gradient_flow?{BLOG}",
    "saturation": f"saturation?{BLOG}",
    "gates": f"gates?{BLOG}",
    "compare": f"compare?{BLOG}",
    "remedies": "remedies?runs=1,2,3,4,5,6,7",
    "inspector": "inspector?runs=7",
    "scrubber": f"saturation?{BLOG}&step=1500",
    "presenter": f"gradient_flow?{BLOG}&present=1",
    "replay": f"overview?{BLOG}&present=1&replay=60",
    "report": "report?runs=1,7",  # not a page: the HTML report of these runs, opened from disk
    "long_sequences": "gradient_flow?runs=8,9",  # long-rnn and long-lstm after `demo --long`
    "sweeps": "sweeps",  # the newest sweep of the store: take it from a store that holds one
}
MNIST = ROOT.parent / "shared" / "data" / "mnist-10k"


def main(store: str, shots: dict[str, str]) -> None:
    with (
        tempfile.TemporaryDirectory() as tmp,
        streamlit_server(Path(store), data_root(Path(tmp), MNIST)) as url,
        chromium() as browser,
    ):
        for name, path in shots.items():
            page = browser.new_page(viewport={"width": 1440, "height": 900})  # a new session reads the URL
            if path.startswith("report?"):
                ids = [int(r) for r in path.split("runs=")[1].split(",")]
                with Store(store) as s:
                    html = write_report([Run(s, i) for i in ids], Path(tmp) / "report.html")
                page.goto(html.as_uri())
                page.locator(".js-plotly-plot").first.wait_for(timeout=30000)
            elif name == "train":
                page.goto(f"{url}/{path}")
                page.locator("[data-testid=stDataFrame]").last.wait_for(timeout=60000)  # the runs table, at the end
            else:  # charts draw inside their own frames
                page.goto(f"{url}/{path}")
                page.frame_locator("iframe[title='rnnviz.dashboard.livechart.livechart']").first.locator(
                    ".js-plotly-plot"
                ).wait_for(timeout=180000)  # a loaded 2-core machine took over 60 s
            if name == "inspector":
                page.get_by_role("button", name="One it gets wrong").click()
                page.get_by_text(": wrong.").wait_for(timeout=30000)
            page.wait_for_timeout(3000 if "replay" not in path else 20000)  # mid-replay for the replay shot
            page.mouse.move(1, 1)  # no tooltip of the last button clicked, no hover label over a chart
            out = ROOT / "assets" / f"{name}.png"
            page.screenshot(path=str(out), full_page=name not in ("train", "report") and "present" not in path)
            page.close()
            print(out)


if __name__ == "__main__":
    args = sys.argv[2:]
    blog = BLOG
    if "--pair" in args:
        k = args.index("--pair")
        blog, args = f"runs={args[k + 1]}", args[:k] + args[k + 2 :]
    every = shots_of(blog)
    picked = dict(arg.split("=", 1) if "=" in arg else (arg, every[arg]) for arg in args)
    main(sys.argv[1], picked or every)
