"""rnnviz dashboard: `streamlit run app.py` (or `rnnviz app` once installed). The app is rnnviz/dashboard.py."""

from rnnviz.dashboard import main

main()
