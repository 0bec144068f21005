"""What `rnnviz app` serves: the dashboard (web/app.py) as a Streamlit ASGI app, plus the route that feeds
live charts (livechart/feed.py) and, on a shared dashboard, the presenter link's route. `streamlit run`
finds `app` here and serves it with uvicorn."""

from pathlib import Path

import streamlit as st
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from rnnviz import roles, runner
from rnnviz.config import ConfigError
from rnnviz.dashboard.livechart.feed import FEEDS
from rnnviz.dashboard.reads import store_path
from rnnviz.share import PRESENTER_PATH
from rnnviz.store import Store, StoreError


def presenter_link(request: Request) -> Response:
    """The presenter link: its secret becomes an HttpOnly cookie (pages cannot read it, so no script in a page
    can leak it), and the browser goes on to the dashboard, whose address bar on a projector shows no secret."""
    if not roles.is_key(request.query_params.get("key")):
        return HTMLResponse(
            "<p>This presenter link is not the one of this server start (it restarts with a new one). "
            'The dashboard is open to watch at <a href="/">the viewer link</a>.</p>',
            status_code=403,
            headers={"Cache-Control": "no-store"},
        )
    response = RedirectResponse(
        "/", status_code=303, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    )
    response.set_cookie(roles.COOKIE, roles.KEY, httponly=True, samesite="strict", path="/")
    return response


app = st.App(
    Path(__file__).with_name("app.py"), routes=[FEEDS.route(), Route(PRESENTER_PATH, presenter_link, methods=["GET"])]
)

# Trainers warm up while the first page loads, so the first click on Train starts as fast as later ones.
try:
    with Store(store_path()) as store, roles.trusted():
        runner.ensure_standby(store)
except (ConfigError, StoreError):
    pass  # the Train page says what is wrong, and starts them once it is put right
