"""The script `rnnviz app` hands to `streamlit run`. It lives here rather than beside pages/:
Streamlit treats a pages/ folder next to the main script as a multipage app of its own, and would open
/gradient_flow without running the dashboard (no sidebar, no runs)."""

from rnnviz.dashboard.navigation import main

main()
