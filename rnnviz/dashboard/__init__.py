"""The Streamlit dashboard. Pages only read the store and launch runs; figures come from rnnviz.views.

- `navigation.py`: the page list and layout (`main`); `web/` holds what `streamlit run` is given
- `pages/`: one script per page
- `sidebar.py`: the run picker, step scrubber, replay and presenter switches shared by every page
- `state.py`: the session-state keys the parts share
- `reads.py`: cached store reads shared by every tab; `shown.py`: runs at the step shown or replayed
- `live.py`: page bodies that rerun while runs train, and charts that feed themselves
- `livechart/`: the live chart component (Python API, its feed route, its frontend, PROTOCOL.md)
- `follow.py`: Follow the presenter; `session_role.py`: the calling page session's role, for rnnviz.roles
"""

from . import session_role  # noqa: F401  (rnnviz.roles judges every page's actions by it: set before any page runs)
