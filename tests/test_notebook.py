"""The example notebook runs top to bottom in a real Jupyter kernel (nbclient)."""

from __future__ import annotations

import nbformat
from nbclient import NotebookClient

from .browser import data_root
from .conftest import MNIST_DIR, ROOT


def test_example_notebook_runs_top_to_bottom(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNVIZ_STORE", str(tmp_path / "nb.sqlite"))  # the kernel inherits the environment
    monkeypatch.setenv("RNNVIZ_DATA_DIR", str(data_root(tmp_path, MNIST_DIR)))
    monkeypatch.setenv("RNNVIZ_EXAMPLE_STEPS", "40")
    nb = nbformat.read(ROOT / "examples" / "quickstart.ipynb", as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    figures = [o for o in outputs if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert len(figures) == 4  # overview, gradient flow, saturation, the watched GRU's gates
    text = "".join(o.get("text", "") for o in outputs)
    assert "||dL/dh_1|| / ||dL/dh_28||" in text and "saturated" in text
    assert (tmp_path / "exports" / "lstm" / "scalars.parquet").exists()
