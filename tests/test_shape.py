"""The code's shape, held so it does not drift again (#25): module and function sizes, the README's length,
and Streamlit kept inside the dashboard."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80
MAX_README_LINES = 200

# Every exception, each with its reason (none today). Tests, benches, scripts and examples are held to the
# limits as the package is.
LONG_MODULES: dict[str, str] = {}
LONG_FUNCTIONS: dict[str, str] = {}


def sources() -> list[Path]:
    roots = [ROOT / "rnnviz", ROOT / "tests", ROOT / "bench", ROOT / "scripts", ROOT / "examples"]
    return [ROOT / "app.py"] + sorted(p for r in roots for p in r.rglob("*.py") if "__pycache__" not in p.parts)


def name(p: Path) -> str:
    return p.relative_to(ROOT).as_posix()


def test_no_module_is_longer_than_400_lines():
    long = {name(p): n for p in sources() if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert set(long) <= set(LONG_MODULES), f"split these by idea (or name the reason in LONG_MODULES): {long}"


def test_no_function_is_longer_than_80_lines():
    long = {}
    for p in sources():
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = node.end_lineno - node.lineno + 1  # type: ignore[operator]
                if n > MAX_FUNCTION_LINES:
                    long[f"{name(p)}::{node.name}"] = n
    assert set(long) <= set(LONG_FUNCTIONS), f"split these (or name the reason in LONG_FUNCTIONS): {long}"


def test_the_exceptions_are_still_needed():
    # An exception that no longer applies is removed, so the list says only what is true.
    paths = {name(p): p for p in sources()}
    for key in LONG_MODULES:
        assert len(paths[key].read_text().splitlines()) > MAX_MODULE_LINES, key
    for key in LONG_FUNCTIONS:
        path, fn = key.split("::")
        sizes = [
            n.end_lineno - n.lineno + 1  # type: ignore[operator]
            for n in ast.walk(ast.parse(paths[path].read_text()))
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == fn
        ]
        assert sizes and max(sizes) > MAX_FUNCTION_LINES, key


def test_the_readme_is_at_most_200_lines():
    n = len((ROOT / "README.md").read_text().splitlines())
    assert n <= MAX_README_LINES, f"README.md is {n} lines: measurements belong in docs/ and bench/README.md"


def imports_streamlit(p: Path) -> bool:
    for node in ast.walk(ast.parse(p.read_text())):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "streamlit" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "streamlit":
            return True
    return False


def test_streamlit_is_imported_only_inside_the_dashboard():
    # The library (trainer, store, views, CLI) must import and run where Streamlit is not installed or not wanted:
    # a trainer process, a Ray worker, a notebook.
    outside = [
        name(p)
        for p in (ROOT / "rnnviz").rglob("*.py")
        if "dashboard" not in p.relative_to(ROOT / "rnnviz").parts and imports_streamlit(p)
    ]
    assert outside == []
