"""plotly.js for the live charts, served by `rnnviz app` from a route of its own that the browser caches: every
chart of every page then loads it from the browser's cache instead of the server.

Why: each live chart is an iframe, and Streamlit serves a component's files with `Cache-Control: public` and no
lifetime, gzipping them anew on every request. Every chart of every page load fetched the 4.7 MB plotly.min.js
again, and the server spent a gzip of it on each: Gradient flow's 11 charts took 6-17 s to draw, on a
presenter's and a viewer's tab alike (bench/bench_page_draw.py). Here it is one URL named by its content, gzipped
once per server, `immutable` for a year. Without the route (`streamlit run app.py`, or under a base URL path,
where the feeds are off too) the charts load the copy beside their page (livechart/__init__.py).
"""

from __future__ import annotations

import gzip
import hashlib
from functools import cache

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import plotly_js

PREFIX = "/rnnviz-static/"
YEAR_S = 365 * 24 * 3600


@cache
def _bytes() -> tuple[str, bytes, bytes]:
    """The script's name (by its content), its bytes and their gzip, read and compressed once per process."""
    data = plotly_js().read_bytes()
    name = f"plotly-{hashlib.sha256(data).hexdigest()[:16]}.min.js"
    return name, data, gzip.compress(data, compresslevel=6, mtime=0)


def url() -> str:
    """The path the charts load plotly.js from while the route is served."""
    return PREFIX + _bytes()[0]


class Script:
    """The route, and whether it is mounted (the pages hand its URL to the charts only then)."""

    serving = False

    def endpoint(self, request: Request) -> Response:
        name, data, packed = _bytes()
        if request.path_params["name"] != name:  # another version's name: a page from before an upgrade
            return Response(status_code=404, headers={"Cache-Control": "no-store"})
        headers = {"Cache-Control": f"public, max-age={YEAR_S}, immutable", "Vary": "Accept-Encoding"}
        if "gzip" in request.headers.get("accept-encoding", ""):
            # set here, so that the server's gzip middleware leaves the body alone instead of compressing it again
            headers["Content-Encoding"] = "gzip"
            data = packed
        return Response(data, media_type="text/javascript", headers=headers)

    def route(self) -> Route:
        self.serving = True
        _bytes()  # at start-up, not in the first page's request
        return Route(PREFIX + "{name}", self.endpoint, methods=["GET"])


SCRIPT = Script()  # one per server process, as FEEDS
