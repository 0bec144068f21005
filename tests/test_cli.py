"""The command line: a JSON line at the end of train, one clear line for every bad value."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path

import pytest

from rnnviz import data as datamod
from rnnviz.cli import build_parser, config_from_args
from rnnviz.config import RunConfig
from rnnviz.store import Store

from .browser import chromium, data_root, streamlit_server
from .conftest import MNIST_DIR, ROOT


def rnnviz(*args: str, env_store=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rnnviz", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_train_prints_one_json_line_and_runs_lists_it(tmp_path):
    store = str(tmp_path / "cli.sqlite")
    done = rnnviz(
        "train",
        "--preset",
        "quick-rnn",
        "--steps",
        "15",
        "--batch-size",
        "16",
        "--threads",
        "1",
        "--data-dir",
        str(MNIST_DIR),
        "--store",
        store,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"run_id", "status", "steps", "test_accuracy", "saturated_fraction", "seconds"} <= set(result)
    assert result["status"] == "finished" and result["steps"] == 15
    assert "15/15" in done.stderr  # the progress bar
    listed = json.loads(rnnviz("runs", "--json", "--store", store).stdout)
    assert listed[0]["run_id"] == result["run_id"] and listed[0]["steps"] == 15
    assert listed[0]["name"] == "quick-rnn (batch size 16, steps 15)"  # the preset and what differs from it
    exported = rnnviz("export", str(result["run_id"]), str(tmp_path / "csv"), "--store", store)
    assert exported.returncode == 0 and (tmp_path / "csv" / "scalars.csv").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--lr", "-1"], "--lr: must be > 0"),
        (["--lr", "abc"], "invalid float value"),
        (["--hidden-size", "0"], "--hidden-size: must be > 0"),
        (["--cell", "transformer"], "--cell: unknown value 'transformer'"),
        (["--preset", "nope"], "invalid choice: 'nope'"),
        (["--view", "chunks", "--chunk", "5"], "--chunk: must divide 784"),
        (["--init", "identity", "--cell", "lstm"], "identity init (IRNN) applies to the vanilla RNN only"),
        (["--data-dir", "/nonexistent/mnist"], "/nonexistent/mnist: no such directory"),
    ],
)
def test_bad_values_are_refused_with_one_line(tmp_path, args, message):
    store = tmp_path / "bad.sqlite"
    done = rnnviz("train", *args, "--store", str(store))
    assert done.returncode != 0
    assert message in done.stderr and "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip() and "rnnviz: error" in line]
    assert len(lines) == 1


def test_every_bad_value_is_named_in_the_one_line(tmp_path):
    done = rnnviz("train", "--lr", "-1", "--steps", "-5", "--cell", "cnn", "--store", str(tmp_path / "bad.sqlite"))
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    for flag, message in (("--cell", "unknown value 'cnn'"), ("--lr", "must be > 0"), ("--steps", "must be > 0")):
        assert f"{flag}: {message}" in lines[0], lines[0]


def test_help_lists_the_commands_but_not_the_internal_worker():
    done = rnnviz("--help")
    assert done.returncode == 0 and "train" in done.stdout and "demo" in done.stdout
    assert "worker" not in done.stdout and "SUPPRESS" not in done.stdout, done.stdout
    assert rnnviz("worker", "--help").returncode == 0  # the runner still starts trainers with it


def test_runs_lists_a_run_still_training_with_its_seconds_so_far_and_no_nan(tmp_path):
    path = tmp_path / "runs.sqlite"
    with Store(path) as store:
        run_id = store.create_run(RunConfig(cell="lstm"))
        store.mark_running(run_id, os.getpid())  # this process stands for its trainer: alive, so not reaped
    done = rnnviz("runs", "--store", str(path))
    assert done.returncode == 0, done.stderr
    header, row = done.stdout.splitlines()
    assert "NaN" not in done.stdout and "nan" not in done.stdout
    # the columns right of the name (which may hold spaces)
    values = dict(zip(header.split()[-7:], row.split()[-7:]))
    assert values["status"] == "running" and values["test_accuracy"] == "-" and float(values["seconds"]) >= 0
    assert values["sweep_id"] == "-" and "<NA>" not in done.stdout


def test_app_finds_mnist_in_the_folder_of_its_files_given_as_the_data_dir(monkeypatch):
    monkeypatch.setenv("RNNVIZ_DATA_DIR", str(MNIST_DIR))  # the IDX files themselves, not a folder holding mnist/
    assert datamod.locate("mnist") == MNIST_DIR
    assert MNIST_DIR not in datamod.candidate_dirs("fashion-mnist")  # its files bear the same names
    dry = rnnviz("app", "--dry-run", "--data-dir", str(MNIST_DIR))
    assert dry.returncode == 0 and f"RNNVIZ_DATA_DIR={MNIST_DIR.resolve()}" in dry.stdout, dry


def test_output_into_a_closed_pipe_ends_quietly(tmp_path):
    read, write = os.pipe()
    os.close(read)  # what `rnnviz runs | head` leaves once head has read its lines and exited
    try:
        done = subprocess.run(
            [sys.executable, "-m", "rnnviz", "runs", "--store", str(tmp_path / "runs.sqlite")],
            cwd=ROOT,
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write)
    assert done.stderr == "" and done.returncode == 141  # as a tool killed by SIGPIPE: 128 + 13


def test_a_preset_with_changed_settings_is_named_for_the_changes():
    def name(*args: str) -> str:
        return config_from_args(build_parser().parse_args(["train", *args])).name

    assert name("--preset", "blog-rnn") == "blog-rnn"
    assert name("--preset", "blog-rnn", "--lr", "0.003", "--steps", "800") == "blog-rnn (lr 0.003, steps 800)"
    assert name("--preset", "blog-rnn", "--steps", "5000", "--threads", "1", "--data-dir", "/d") == "blog-rnn"
    assert name("--preset", "blog-lstm", "--forget-bias", "0", "--permute") == "blog-lstm (forget bias 0, permute on)"
    assert name("--preset", "blog-rnn", "--lr", "0.003", "--name", "mine") == "mine"


def test_presets_list_the_blog_settings():
    out = json.loads(rnnviz("presets", "--json").stdout)
    assert out["blog-rnn"]["cell"] == "rnn" and out["blog-rnn"]["lr"] == 0.01 and out["blog-rnn"]["steps"] == 5000
    assert out["blog-lstm"]["forget_bias"] == 1.0 and out["tutorial-lstm"]["batch_size"] == 128
    assert out["sgd-lstm"]["optimizer"] == "sgd"


def test_unknown_run_id_is_one_clear_line(tmp_path):
    done = rnnviz("export", "7", str(tmp_path / "x"), "--store", str(tmp_path / "e.sqlite"))
    assert done.returncode == 2 and "no run 7" in done.stderr and "Traceback" not in done.stderr


def test_resume_refuses_a_finished_run_with_one_line(trained_store):
    done = rnnviz("resume", "1", "--store", str(trained_store))
    assert (
        done.returncode == 2
        and "run 1 is finished; only stopped, failed, interrupted runs can be resumed" in done.stderr
    )
    assert "Traceback" not in done.stderr


def test_rnnviz_console_script_starts_the_dashboard(tmp_path, trained_store):
    script = Path(sys.executable).with_name("rnnviz")  # installed by `pip install -e .` (make test does)
    dry = subprocess.run([script, "app", "--dry-run", "--server.port", "8600"], capture_output=True, text=True)
    assert dry.returncode == 0, dry.stderr
    assert (
        "--server.address=localhost" in dry.stdout
        and "--server.fileWatcherType=none" in dry.stdout
        and dry.stdout.rstrip().endswith("--server.port 8600")
    )
    store = tmp_path / "app.sqlite"
    store.write_bytes(trained_store.read_bytes())
    with (
        streamlit_server(store, data_root(tmp_path, MNIST_DIR), command=[str(script), "app"]) as url,
        chromium() as browser,
    ):
        with urllib.request.urlopen(url + "/_stcore/health", timeout=10) as r:
            assert r.read() == b"ok"
        page = browser.new_page()
        page.goto(url + "/gradient_flow")  # a page's own URL runs the whole dashboard: sidebar, runs, charts
        page.get_by_text("Runs shown").wait_for(timeout=30000)
        page.locator("iframe[title='rnnviz.dashboard.livechart.livechart']").first.wait_for(timeout=30000)


def test_the_wheel_carries_the_dashboard_and_the_console_script(tmp_path):
    src = tmp_path / "src"  # a copy: building writes build/ and *.egg-info beside the sources
    shutil.copytree(ROOT / "rnnviz", src / "rnnviz", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(src),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("rnnviz-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "rnnviz/dashboard/navigation.py",
        "rnnviz/dashboard/pages/train.py",
        "rnnviz/dashboard/livechart/frontend/index.html",
        "rnnviz/dashboard/livechart/frontend/plotly.min.js",  # the charts' own plotly.js, no network needed
        "rnnviz/dashboard/web/streamlit.toml",
        "rnnviz/py.typed",
    ):
        assert needed in names, needed
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "rnnviz = rnnviz.__main__:run" in zipfile.ZipFile(wheel).read(entry_points).decode()
    assert not any(n.startswith("tests/") for n in names)
