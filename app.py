"""rnnviz dashboard: `streamlit run app.py` (or `rnnviz app` once installed). The app is rnnviz/dashboard/."""

from rnnviz.dashboard.navigation import main

main()
