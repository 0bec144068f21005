"""Who may act on a shared dashboard: the presenter starts, stops and deletes; viewers only look.

`rnnviz app --share` makes a secret for this server start and hands it to the server in $RNNVIZ_SHARE_KEY.
The presenter link (`/rnnviz-presenter?key=...`, see dashboard/web/server.py) exchanges it for an HttpOnly
cookie; a page's session is the presenter's when the cookie its WebSocket opened with holds the secret.
The check is made where an action is carried out (the store's writes, the runner's processes, the data
download), so a message crafted by hand reaches the same refusal as a click on a hidden button.

Without --share there is no secret, and whoever reaches the server is the presenter (it listens on
localhost). In the trainers and the command line there is no page session: they act for the user who
runs them.

This module knows nothing of Streamlit (the store, the runner and the data call it from any process): the
dashboard tells it how to read the calling page session's cookie (rnnviz/dashboard/session_role.py, set
as the dashboard package is imported). A shared server where nothing told it refuses every call.
"""

from __future__ import annotations

import contextlib
import contextvars
import hmac
import os
from collections.abc import Callable, Iterator

ENV = "RNNVIZ_SHARE_KEY"
COOKIE = "rnnviz_presenter"
# Read once, and taken out of the environment, so that no trainer or set the server starts carries it.
KEY = os.environ.pop(ENV, "")
_TRUSTED = contextvars.ContextVar("rnnviz_trusted", default=False)
# The presenter cookie of the page session that is calling, or None outside one; set once by the dashboard.
_session_cookie: Callable[[], object] | None = None


def read_cookies_with(reader: Callable[[], object]) -> None:
    """How the dashboard reads the calling page session's presenter cookie (None outside a page session)."""
    global _session_cookie
    _session_cookie = reader


def sharing() -> bool:
    """Whether this process serves a shared dashboard (it has a presenter's secret)."""
    return bool(KEY)


def is_key(candidate: object) -> bool:
    """Whether `candidate` is this server start's secret (compared in constant time); anything but a string
    is not."""
    return bool(KEY) and isinstance(candidate, str) and hmac.compare_digest(candidate.encode(), KEY.encode())


@contextlib.contextmanager
def trusted() -> Iterator[None]:
    """Actions of the server itself, outside any page's session (the warm trainers it starts at launch)."""
    token = _TRUSTED.set(True)
    try:
        yield
    finally:
        _TRUSTED.reset(token)


def presenter() -> bool:
    """Whether the current caller may act: always, unless this process serves a shared dashboard; then only
    a page session whose cookie holds the secret, or the server's own `trusted` start. Fails closed: a call
    with no page session in a shared server (another thread) is refused."""
    if not KEY or _TRUSTED.get():
        return True
    return _session_cookie is not None and is_key(_session_cookie())


def require(action: str, error: type[Exception]) -> None:
    """Raise `error` (the caller's own kind, which its callers already report) unless the caller may act;
    `action` says what was refused, e.g. "start runs"."""
    if not presenter():
        raise error(f"only the presenter can {action}: this page was opened with the viewer link of a shared dashboard")
