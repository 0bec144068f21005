"""How far apart the numbers of a replay stand at one instant, in real headless Chromium: within a tab (the step
above the charts, the sidebar's status lines, the scrubber's thumb) and between a presenter's tab and a following
viewer's, on a shared dashboard replaying the recorded blog pair of tests/data/outcomes (5,000 steps); with the
step shown when the charts are first all on screen, the server's CPU, and what each tab received."""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rnnviz import roles  # noqa: E402
from tests.browser import REPLAY_READING, Traffic, chromium, replay_spread, server_pid, streamlit_server  # noqa: E402
from tests.outcomes import STORE  # noqa: E402

KEY = "k" * 32


def server_cpu(url: str) -> float:
    """The CPU seconds the server process has used so far."""
    fields = Path(f"/proc/{server_pid(url)}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def apart(values: list[int]) -> str:
    off = sum(v > 0 for v in values) / len(values)
    return f"largest {max(values)} steps, median {statistics.median(values):g}; apart in {off:.0%} of {len(values)}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seconds", type=float, default=30.0, help="the replay's length (?replay=)")
    p.add_argument("--page", default="overview")
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp())
    store = tmp / "runs.sqlite"
    shutil.copy(STORE, store)
    os.environ.update({roles.ENV: KEY, "RNNVIZ_STANDBY": "0"})
    (tmp / "data").mkdir()
    with streamlit_server(store, tmp / "data") as url, chromium() as browser:
        tabs = {}
        for name in ("viewer", "presenter"):
            tabs[name] = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        traffic = {name: Traffic(page) for name, page in tabs.items()}
        viewer, presenter = tabs["viewer"], tabs["presenter"]
        viewer.goto(url + "/overview?runs=1,5")
        viewer.get_by_text("Follow the presenter", exact=True).click()
        presenter.goto(f"{url}/rnnviz-presenter?key={KEY}")
        presenter.wait_for_selector("[data-testid=stSidebar]")
        opened, cpu = time.monotonic(), server_cpu(url)
        presenter.goto(f"{url}/{args.page}?runs=1,5&replay={args.seconds:g}")
        first, within, between = None, {name: [] for name in tabs}, []
        deadline = time.monotonic() + args.seconds + 60
        while time.monotonic() < deadline:
            a, b = presenter.evaluate(REPLAY_READING), viewer.evaluate(REPLAY_READING)
            if first is None and a["charts"] and a["drawn"] == a["charts"] and a["header"] is not None:
                first = (time.monotonic() - opened, a["header"], a["box"])
            if os.environ.get("VERBOSE"):
                print(f"{time.monotonic() - opened:.1f}", a, b)
            for name, reading in (("presenter", a), ("viewer", b)):
                if (spread := replay_spread(reading)) is not None:
                    within[name].append(spread)
            if a["header"] is not None and b["header"] is not None:
                between.append(abs(a["header"] - b["header"]))
            if first and a["header"] is None and b["header"] is None:
                break
            presenter.wait_for_timeout(100)
        took = time.monotonic() - opened
        print(f"replay of 5,000 steps in {args.seconds:g} s on /{args.page}, load average {os.getloadavg()[0]:.1f}")
        if first:
            print(f"every chart on screen {first[0]:.1f} s after the link, at step {first[1]}; box: {first[2]!r}")
        for name, spreads in within.items():
            if spreads:
                print(f"{name}'s own numbers: {apart(spreads)} samples")
        if between:
            print(f"presenter vs viewer, step above the charts: {apart(between)} samples")
        print(f"the server's CPU: {(server_cpu(url) - cpu) / took:.2f} of a core")
        for name, t in traffic.items():
            errors = tabs[name].get_by_text("Connection error").count()
            print(f"{name}: {t.bytes / took / 1e3:,.0f} kB/s received, {t.refs} references to cached elements, "
                  f"{errors} connection errors shown")  # fmt: skip


if __name__ == "__main__":
    main()
