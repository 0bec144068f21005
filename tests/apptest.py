"""Pages opened in Streamlit's AppTest, and what their live charts hold: the helpers the page tests share."""

from __future__ import annotations

import base64
import json

import numpy as np
import streamlit as st
from streamlit.testing.v1 import AppTest

from .conftest import ROOT


def open_page(page: str) -> AppTest:
    st.cache_data.clear()  # caches are process-wide: one test's store or data must not leak into the next
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    if page != "train":
        at.switch_page(f"rnnviz/dashboard/pages/{page}.py")
        at.run()
    return at


def values(v) -> np.ndarray:
    """Plotly's JSON arrays, plain or base64-typed."""
    if isinstance(v, dict) and "bdata" in v:
        a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        return a.reshape([int(d) for d in str(v["shape"]).split(",")]) if "shape" in v else a
    return np.asarray(v, dtype=float)


def figures(at: AppTest) -> list[dict]:
    """The figures of the page's live charts (custom component instances; their arguments are JSON)."""
    charts = [c.proto for c in at.get("component_instance") if c.proto.component_name.endswith("livechart")]
    return [json.loads(json.loads(c.json_args)["spec"]) for c in charts]
