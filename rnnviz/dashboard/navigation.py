"""The dashboard's navigation and layout; the pages live in pages/.

Run it with `rnnviz app` (installed; the script is web/app.py), or `streamlit run app.py` from a checkout.
"""

from pathlib import Path

import streamlit as st

from rnnviz.dashboard import follow, sidebar

PAGES_DIR = Path(__file__).parent / "pages"
FAVICON = Path(__file__).parent / "web" / "favicon.png"


def main() -> None:
    # A favicon of our own: a ":material/...:" page icon makes the browser fetch it from fonts.gstatic.com,
    # and the dashboard must make no request outside the machine (a lecture room may have no network).
    st.set_page_config(page_title="rnnviz", page_icon=str(FAVICON), layout="wide")
    pages = [
        st.Page(PAGES_DIR / "train.py", title="Train", icon=":material/play_circle:", default=True),
        st.Page(PAGES_DIR / "overview.py", title="Overview", icon=":material/monitoring:"),
        st.Page(PAGES_DIR / "gradient_flow.py", title="Gradient flow", icon=":material/gradient:"),
        st.Page(PAGES_DIR / "saturation.py", title="Saturation", icon=":material/bar_chart:"),
        st.Page(PAGES_DIR / "gates.py", title="Gates", icon=":material/tune:"),
        st.Page(PAGES_DIR / "compare.py", title="Compare", icon=":material/compare_arrows:"),
        st.Page(PAGES_DIR / "remedies.py", title="Remedies", icon=":material/healing:"),
        st.Page(PAGES_DIR / "sweeps.py", title="Sweeps", icon=":material/grid_view:"),
        st.Page(PAGES_DIR / "inspector.py", title="Digit inspector", icon=":material/pageview:"),
    ]
    page = st.navigation(pages)
    follow.apply()
    follow.follow(page, pages)
    sidebar.sidebar()
    follow.publish(page)
    page.run()
