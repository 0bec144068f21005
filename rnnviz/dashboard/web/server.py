"""What `rnnviz app` serves: the dashboard (web/app.py) as a Streamlit ASGI app, plus the routes that feed
live charts (livechart/feed.py) and serve them plotly.js (livechart/script.py), and the presenter link's
(rnnviz/share.py). `streamlit run` finds `app`
here and serves it with uvicorn."""

from pathlib import Path

import streamlit as st

from rnnviz import roles, runner
from rnnviz.config import ConfigError
from rnnviz.dashboard.livechart.feed import FEEDS
from rnnviz.dashboard.livechart.script import SCRIPT
from rnnviz.share import presenter_route
from rnnviz.store import Store, StoreError, default_path

app = st.App(Path(__file__).with_name("app.py"), routes=[FEEDS.route(), SCRIPT.route(), presenter_route()])

# Trainers warm up while the first page loads, so the first click on Train starts as fast as later ones. The
# store's path is read without rnnviz.dashboard.reads: imported here, before Streamlit's runtime exists, its
# st.cache_data functions logged "No runtime found, using MemoryCacheStorageManager" once each at every start.
try:
    with Store(default_path()) as store, roles.trusted():
        runner.ensure_standby(store)
except (ConfigError, StoreError):
    pass  # the Train page says what is wrong, and starts them once it is put right
