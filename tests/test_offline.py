"""rnnviz works in a room with no network: opening every page asks nothing of another host (and shows none
of Streamlit's own developer tooling)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from .browser import CHROMIUM, chromium, data_root, streamlit_server
from .conftest import MNIST_DIR

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"), reason="Debian's chromium is not installed"
)
PAGES = ("train", "overview", "gradient_flow", "saturation", "gates", "compare", "remedies", "sweeps", "inspector")


def test_no_page_fetches_anything_from_another_host(trained_store, tmp_path):
    store = tmp_path / "runs.sqlite"
    shutil.copy(trained_store, store)
    with streamlit_server(store, data_root(tmp_path, MNIST_DIR)) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        hosts: set[str] = set()
        page.on("request", lambda request: hosts.add(urlsplit(request.url).hostname or request.url))
        for name in PAGES:
            page.goto(f"{url}/{name}?runs=1,2")
            page.wait_for_selector("[data-testid=stMain] h1", timeout=30_000)
            time.sleep(1.5)  # charts, icons and the favicon load after the title
            # nothing of Streamlit's own tooling on screen in front of a room
            assert page.locator("[data-testid=stAppDeployButton], [data-testid=stMainMenu]").count() == 0, name
        assert hosts == {"localhost"}, hosts
