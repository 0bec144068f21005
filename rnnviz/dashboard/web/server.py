"""What `rnnviz app` serves: the dashboard (web/app.py) as a Streamlit ASGI app, plus the route that feeds
live charts (livechart/feed.py) and the presenter link's (rnnviz/share.py). `streamlit run` finds `app`
here and serves it with uvicorn."""

from pathlib import Path

import streamlit as st

from rnnviz import roles, runner
from rnnviz.config import ConfigError
from rnnviz.dashboard.livechart.feed import FEEDS
from rnnviz.dashboard.reads import store_path
from rnnviz.share import presenter_route
from rnnviz.store import Store, StoreError

app = st.App(Path(__file__).with_name("app.py"), routes=[FEEDS.route(), presenter_route()])

# Trainers warm up while the first page loads, so the first click on Train starts as fast as later ones.
try:
    with Store(store_path()) as store, roles.trusted():
        runner.ensure_standby(store)
except (ConfigError, StoreError):
    pass  # the Train page says what is wrong, and starts them once it is put right
