"""The presenter cookie of the page session that calls rnnviz.roles (which knows nothing of Streamlit): the
cookie its WebSocket opened with. Importing the dashboard package sets it, so every page's actions are judged
by it."""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

from .. import roles


def session_cookie() -> object:
    """The calling page session's presenter cookie; None from a thread with no page session (a shared server
    then refuses the call)."""
    if get_script_run_ctx(suppress_warning=True) is None:
        return None
    return st.context.cookies.get(roles.COOKIE)


roles.read_cookies_with(session_cookie)
