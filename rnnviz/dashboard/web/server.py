"""What `rnnviz app` serves: the dashboard (web/app.py) as a Streamlit ASGI app, plus the route that feeds
live charts (livechart/feed.py). `streamlit run` finds `app` here and serves it with uvicorn."""

from pathlib import Path

import streamlit as st

from rnnviz.dashboard.livechart.feed import FEEDS

app = st.App(Path(__file__).with_name("app.py"), routes=[FEEDS.route()])
