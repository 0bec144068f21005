"""In real headless Chromium, while a run trains fast: the lines a page shows together state one step. The
sidebar's line ("training, 24.7%") and the Overview's status line ("step 1,234 of 5,000") each fetched their
text on their own, a second apart: the sidebar said 70.4% (step 3,520) beside "step 3,493 of 5,000"."""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import time

from rnnviz import words
from rnnviz.store import Store
from rnnviz.trainer import train

from .browser import chromium, data_root, streamlit_server
from .conftest import MNIST_DIR, quick_config
from .test_train_page import LAPTOP, needs_chromium

TOTAL = 5000
# Every livetext frame's text at one instant (one script in the page; the frames are of its origin).
FRAMES_JS = """() => Array.from(document.querySelectorAll("iframe[title='rnnviz.dashboard.livechart.livetext']"))
    .map((f) => (f.contentDocument && f.contentDocument.body ? f.contentDocument.body.innerText : ""))"""
SIDEBAR = re.compile(r"live-rnn: training, ([\d.]+%)")
STATUS = re.compile(r"live-rnn training, step ([\d,]+) of 5,000")


def fast_trainer(path, run_id: int, stop: threading.Event) -> None:
    """A run that commits a step every 25 ms (0.8% of its length a second, so a second's lag shows in the sidebar's
    one decimal), from this process, which the store sees as its live trainer."""
    with sqlite3.connect(path) as c:
        while not stop.is_set():
            c.execute("UPDATE runs SET step = step + 1, heartbeat = ? WHERE id = ?", (time.time(), run_id))
            c.commit()
            time.sleep(0.025)


def said_together(page) -> tuple[str, str] | None:
    """The sidebar's percentage and the status line's step, read at one instant, if both are on the page and did
    not change within 50 ms (a frame hands what it fetched to the other within milliseconds)."""
    first = page.evaluate(FRAMES_JS)
    page.wait_for_timeout(50)
    if page.evaluate(FRAMES_JS) != first:
        return None
    text = "\n".join(first)
    share, step = SIDEBAR.search(text), STATUS.search(text)
    return (share[1], step[1]) if share and step else None


@needs_chromium
def test_the_sidebar_and_the_status_lines_state_one_step_while_a_run_trains(tmp_path):
    path = tmp_path / "live.sqlite"
    with Store(path) as store:
        run_id = train(quick_config(name="live-rnn", steps=10), store).run_id
        store.mark_running(run_id, os.getpid())
        store.conn.execute("UPDATE runs SET total_steps = ? WHERE id = ?", (TOTAL, run_id))
        store.conn.commit()
    stop = threading.Event()
    trainer = threading.Thread(target=fast_trainer, args=(path, run_id, stop), daemon=True)
    trainer.start()
    try:
        with streamlit_server(path, data_root(tmp_path, MNIST_DIR)) as url, chromium() as browser:
            page = browser.new_page(viewport=LAPTOP)
            page.goto(f"{url}/overview?runs={run_id}")
            page.wait_for_function(f"({FRAMES_JS})().join(' ').includes('step ')", timeout=60000)
            samples: list[tuple[str, str]] = []
            deadline = time.monotonic() + 60
            while len(samples) < 20 and time.monotonic() < deadline:
                if got := said_together(page):
                    samples.append(got)
                page.wait_for_timeout(230)  # out of step with the frames' one-second polls
    finally:
        stop.set()
        trainer.join(5)
    assert len(samples) >= 20, samples
    steps = [int(step.replace(",", "")) for _, step in samples]
    assert steps[-1] - steps[0] >= 40, steps  # the run went on under the sampling: each sample is a new step
    wrong = [(share, step) for share, step in samples if share != words.percent(int(step.replace(",", "")) / TOTAL)]
    assert not wrong, wrong
