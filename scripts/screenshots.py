"""Refresh the README's screenshots in assets/ from a store of finished runs (e.g. the blog pair).

python -m rnnviz train --preset blog-rnn --store /tmp/blog.sqlite
python -m rnnviz train --preset blog-lstm --store /tmp/blog.sqlite
python scripts/screenshots.py /tmp/blog.sqlite
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser import chromium, data_root, streamlit_server  # noqa: E402

PAGES = {
    "train": "",
    "overview": "overview",
    "gradient_flow": "gradient_flow",
    "saturation": "saturation",
    "gates": "gates",
    "compare": "compare",
}
MNIST = ROOT.parent / "shared" / "data" / "mnist-10k"


def main(store: str) -> None:
    with (
        tempfile.TemporaryDirectory() as tmp,
        streamlit_server(Path(store), data_root(Path(tmp), MNIST)) as url,
        chromium() as browser,
    ):
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for name, path in PAGES.items():
            page.goto(f"{url}/{path}")
            if name == "train":
                page.locator("[data-testid=stDataFrame]").first.wait_for(timeout=30000)
            else:  # charts draw inside their own frames
                page.frame_locator("iframe[title='rnnviz.livechart.livechart']").first.locator(
                    ".js-plotly-plot"
                ).wait_for(timeout=30000)
            page.wait_for_timeout(3000)  # let every chart finish drawing
            out = ROOT / "assets" / f"{name}.png"
            page.screenshot(path=str(out), full_page=name not in ("train",))
            print(out)


if __name__ == "__main__":
    main(sys.argv[1])
