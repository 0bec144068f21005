"""rnnviz dashboard: `streamlit run app.py`. Navigation and layout only; the pages live in rnnviz/pages/."""

import streamlit as st

from rnnviz import ui

st.set_page_config(page_title="rnnviz", page_icon=":material/timeline:", layout="wide")

PAGES = [
    st.Page("rnnviz/pages/train.py", title="Train", icon=":material/play_circle:", default=True),
    st.Page("rnnviz/pages/overview.py", title="Overview", icon=":material/monitoring:"),
    st.Page("rnnviz/pages/gradient_flow.py", title="Gradient flow", icon=":material/gradient:"),
    st.Page("rnnviz/pages/saturation.py", title="Saturation", icon=":material/bar_chart:"),
    st.Page("rnnviz/pages/gates.py", title="Gates", icon=":material/tune:"),
    st.Page("rnnviz/pages/compare.py", title="Compare", icon=":material/compare_arrows:"),
]

page = st.navigation(PAGES)
ui.sidebar()
page.run()
