"""Print docs/bad-inputs.md: every bad input of the corpus and the message rnnviz actually gives it.

    python scripts/bad_inputs.py > docs/bad-inputs.md

Each case is run here, against the real code, so the table cannot drift from what users see; the tests
named in the last column check the same cases (and that nothing stored changes).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import os
import sqlite3
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rnnviz import data  # noqa: E402
from rnnviz.cli import flag, main  # noqa: E402
from rnnviz.config import RunConfig  # noqa: E402
from rnnviz.data import DataError  # noqa: E402
from rnnviz.store import SCHEMA_VERSION, Store, StoreError, export_run  # noqa: E402
from tests.bad_inputs import (  # noqa: E402
    BAD_LINKS,
    FEED_GUESSES,
    FORM,
    GRIDS,
    HORIZONS,
    HOSTILE_NAMES,
    OUT_OF_RANGE,
    WRONG_TYPE,
    watch_cases,
)
from tests.conftest import MNIST_DIR, write_dataset, write_idx  # noqa: E402
from tests.test_data import _Server  # noqa: E402


def cli(*args: str) -> str:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            main(list(args))
        except SystemExit:
            pass
    return err.getvalue().strip()


def raised(fn) -> str:
    try:
        fn()
    except (DataError, StoreError) as exc:
        return str(exc)
    return "(accepted)"


def cell(text: str, tmp: Path) -> str:
    return text.replace(str(tmp), "…").replace("|", "\\|").replace("\n", " ")


def file_cases(tmp: Path) -> list[tuple[str, str, str]]:
    rows = []

    def idx(name: str, payload: bytes, test: str) -> None:
        path = tmp / "idx" / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(payload)
        rows.append((f"IDX file: {name.replace('-', ' ')}", raised(lambda: data.read_idx(path)), test))

    t = "test_data.py::test_bad_idx_files_name_the_file_and_the_fault"
    idx("empty", b"", t)
    idx("wrong-magic", b"\x00\x00\x0d\x03" + b"\x00" * 20, t)
    idx("a-zip-file", b"PK\x03\x04 zip file", t)
    idx("truncated-gzip", gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x05")[:-6], t)
    idx(
        "fewer-bytes-than-its-header-says",
        gzip.compress(b"\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x1c\x00\x00\x00\x1c" + b"\x00" * 100),
        t,
    )
    d = write_dataset(tmp / "counts")
    write_idx(d / "t10k-labels-idx1-ubyte.gz", [0] * 31)
    rows.append(
        (
            "dataset: 32 test images, 31 labels",
            raised(lambda: data.load_dir(d)),
            "test_data.py::test_mismatched_counts_and_wrong_image_size_are_refused",
        )
    )
    d = write_dataset(tmp / "size")
    write_idx(d / "train-images-idx3-ubyte.gz", [[[0] * 14] * 14] * 64)
    rows.append(
        (
            "dataset: 14x14 images",
            raised(lambda: data.load_dir(d)),
            "test_data.py::test_mismatched_counts_and_wrong_image_size_are_refused",
        )
    )
    (tmp / "empty").mkdir()
    rows.append(
        (
            "dataset: an empty directory",
            raised(lambda: data.load_dir(tmp / "empty")),
            "test_data.py::test_empty_directory_names_the_missing_file",
        )
    )
    rows += download_cases(tmp)
    return rows


def download_cases(tmp: Path) -> list[tuple[str, str, str]]:
    src = write_dataset(tmp / "mirror")
    md5 = {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in src.iterdir()}
    saved = dict(data.DATASETS["mnist"])
    data.DATASETS["mnist"] = {"mirrors": [], "md5": md5, "system_dirs": []}
    os.environ.pop("RNNVIZ_DATA_DIR", None)
    rows = []
    try:
        for what, server, test in (
            ("download: a file's checksum does not match", dict(broken=["train-images-idx3-ubyte.gz"]), "checksum"),
            ("download: cut off halfway", dict(cut=["t10k-images-idx3-ubyte.gz"]), "cut_off_halfway"),
        ):
            os.environ["XDG_CACHE_HOME"] = str(tmp / f"cache-{test}")  # each case starts with an empty cache
            mirror = _Server(src, **server)
            try:
                text = raised(lambda url=mirror.url: data.download("mnist", progress=False, mirrors=[url]))
            finally:
                mirror.close()
            rows.append((what, text.replace(mirror.url, "MIRROR/"), f"test_data.py (`{test}`)"))
        os.environ["XDG_CACHE_HOME"] = str(tmp / "cache-offline")
        rows.append(
            (
                "download: no network",
                raised(lambda: data.download("mnist", progress=False, mirrors=["http://127.0.0.1:9/"])),
                "test_data.py::test_offline_error_says_where_it_looked_and_what_to_do",
            )
        )
    finally:
        data.DATASETS["mnist"] = saved
    return rows


def store_cases(tmp: Path) -> list[tuple[str, str, str]]:
    rows = [("store path is a directory", raised(lambda: Store(tmp)), "test_store.py (directory or not a store)")]
    (tmp / "text.sqlite").write_text("hello, not a database " * 100)
    rows.append(("store file is not SQLite", raised(lambda: Store(tmp / "text.sqlite")), "test_store.py"))
    other = sqlite3.connect(tmp / "other.sqlite")
    other.execute("CREATE TABLE t (x)")
    other.commit()
    other.close()
    rows.append(
        ("store file is another program's SQLite", raised(lambda: Store(tmp / "other.sqlite")), "test_store.py")
    )
    Store(tmp / "new.sqlite").close()
    conn = sqlite3.connect(tmp / "new.sqlite")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    rows.append(("store from a newer rnnviz", raised(lambda: Store(tmp / "new.sqlite")), "test_store.py"))
    store = Store(tmp / "ok.sqlite")
    store.create_run(RunConfig())
    for bad in ("99", "1; DROP TABLE runs"):
        rows.append(
            (f"run id `{bad}`", raised(lambda bad=bad: store.scalars(bad)), "test_store.py (ids that carry SQL)")
        )
    (tmp / "a-file").write_text("x")
    rows.append(
        (
            "export into a path that is a file",
            raised(lambda: export_run(store, 1, tmp / "a-file")),
            "test_store.py::test_export_refuses_a_file_as_directory_and_stays_inside",
        )
    )
    return rows


def watch_refusal(arguments: dict, tmp: Path) -> str:
    from rnnviz.interop import WatchError, watch

    try:
        watch(**arguments, store=tmp / "watched.sqlite")
    except WatchError as exc:
        return str(exc)
    return "(accepted)"


def main_table() -> None:
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        store = str(tmp / "untouched.sqlite")
        base = ["train", "--store", store, "--data-dir", str(MNIST_DIR), "--steps", "1"]
        form = {(f, str(v)) for f, v, _ in FORM}
        print("# Bad inputs and the messages they get\n")
        print("Generated by `python scripts/bad_inputs.py` from the corpus in `tests/bad_inputs.py`, running the")
        print("real code. None of these shows a traceback, starts a run, or changes anything already stored.\n")
        print("## Run settings (command line; the Train form shows the same message under the field)\n")
        print("| setting | value | in the form too | message |")
        print("| --- | --- | --- | --- |")
        for field, value, extra, _ in OUT_OF_RANGE:
            line = cli(*base, *extra, flag(field), value)
            shown = " ".join([*extra, flag(field), value])
            print(f"| `{field}` | `{shown}` | {'yes' if (field, value) in form else ''} | {cell(line, tmp)} |")
        for field, value, _ in WRONG_TYPE:
            line = cli(*base, f"{flag(field)}={value}")
            print(f"| `{field}` | `{flag(field)}={value}` | | {cell(line, tmp)} |")
        print(f"| preset | `--preset blog-gru` | | {cell(cli(*base, '--preset', 'blog-gru'), tmp)} |")
        print("\nIn the form, `lr` and `clip` are text fields: `fast` gets \"must be a number, got 'fast'\".")
        print("Tests: `tests/test_bad_input.py` (every row, command line and form).\n")
        print("## Sets of runs (`rnnviz sweep`; refused before Ray starts, nothing recorded)\n")
        print("| flags | message |")
        print("| --- | --- |")
        for flags, _ in GRIDS:
            line = cli("sweep", "--store", store, "--data-dir", str(MNIST_DIR), "--steps", "1", *flags)
            print(f"| `{' '.join(flags)}` | {cell(line, tmp)} |")
        print("\nTests: `tests/test_bad_input.py::test_a_bad_set_of_runs_gets_one_line_and_records_nothing`.\n")
        print("## The memory horizon (`rnnviz horizon`; refused before Ray starts, nothing recorded)\n")
        print("| flags | message |")
        print("| --- | --- |")
        for flags, _ in HORIZONS:
            print(f"| `{' '.join(flags)}` | {cell(cli('horizon', '--store', store, *flags), tmp)} |")
        print("\nTests: `tests/test_horizon.py::test_a_bad_horizon_gets_one_line_and_records_nothing`.\n")
        print("## `rnnviz.watch` (refused before a run is recorded)\n")
        print("| what is passed | message |")
        print("| --- | --- |")
        for what, arguments, _ in watch_cases():
            print(f"| {what} | {cell(watch_refusal(arguments(), tmp), tmp)} |")
        test = "test_watch_refuses_what_it_cannot_follow_saying_what_to_do_and_records_nothing"
        print(f"\nTests: `tests/test_api.py::{test}`.\n")
        print("## Files, downloads and stores\n")
        print("| input | message | test |")
        print("| --- | --- | --- |")
        for what, text, test in [*file_cases(tmp), *store_cases(tmp)]:
            print(f"| {what} | {cell(text, tmp)} | `{test}` |")
        page_cases()


def page_cases() -> None:
    """What reaches a shared dashboard through the page: links, run names, live-chart tokens, a viewer's
    actions."""
    from urllib.parse import parse_qsl

    from rnnviz import roles
    from rnnviz.dashboard.livechart.feed import Feeds
    from rnnviz.dashboard.sidebar import link_values

    test = "tests/test_share_e2e.py (real Chromium)"
    print("\n## Through the page (a shared dashboard's viewers, links, names)\n")
    print("| input | what happens | test |")
    print("| --- | --- | --- |")
    for query, _ in BAD_LINKS:
        notes = link_values(dict(parse_qsl(query)))[3]
        said = "The link's " + "; ".join(notes) + ": showing the latest runs instead."
        print(f"| link `?{query}` | a note: {cell(said, Path('/no-such-dir'))} | `{test}` |")
    print(f"| an unknown link parameter (`?foo=<img ...>`) | left alone, unread | `{test}` |")
    for name in HOSTILE_NAMES:
        print(
            f"| run named `{name}` | shown as that text on every page, in the runs table, the picker, chart "
            f"legends and tooltips and the HTML report; no script runs, no dialog opens | `{test}` |"
        )
    for token in FEED_GUESSES:
        status = Feeds().poll(token, "")[0]
        print(
            f"| live-chart token guessed: `/rnnviz-feed/{token}` | HTTP {status} (or 400 where the server refuses the "
            f"path first), no figure | `{test}` |"
        )
    roles.KEY = "a secret"  # as in a shared server, asked from outside a presenter's session
    try:
        roles.require("delete runs", StoreError)
    except StoreError as exc:
        print(f"| a viewer's message asking to start, stop, resume or delete (e.g. delete) | {exc} | "
              "`tests/test_share.py`, `tests/test_share_e2e.py` |")  # fmt: skip
    roles.KEY = ""


if __name__ == "__main__":
    main_table()
