"""`rnnviz app --share`: the links it prints, the warning without it, the presenter link's cookie, and the
role checked where each action is carried out (a viewer's page session is refused, the presenter's is not)."""

from __future__ import annotations

import shlex
import shutil

import pytest
import streamlit as st
from starlette.requests import Request
from streamlit.testing.v1 import AppTest

from rnnviz import roles, share
from rnnviz.__main__ import main
from rnnviz.store import Status, Store

from .conftest import ROOT

KEY = "k" * 32


def app_dry_run(capsys, *args: str) -> tuple[int, str, str]:
    try:
        code = main(["app", "--dry-run", "--store", "/tmp/unused.sqlite", *args])
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_share_prints_a_viewer_and_a_presenter_link_whose_secret_the_server_gets(capsys):
    code, out, err = app_dry_run(capsys, "--share", "127.0.0.1", "--server.port", "8612")
    assert code == 0 and not err
    lines = out.splitlines()
    viewer = next(line.split(": ", 1)[1] for line in lines if "Viewers" in line)
    presenter = next(line.split(": ", 1)[1] for line in lines if "Presenter" in line)
    assert viewer == "http://127.0.0.1:8612/"
    assert presenter.startswith("http://127.0.0.1:8612/rnnviz-presenter?key=")
    key = presenter.split("key=")[1]
    assert len(key) == 32
    command = shlex.split(lines[-1])
    assert f"{roles.ENV}={key}" in command  # the server gets the very secret the link carries
    assert command[-3:] == ["--server.address=127.0.0.1", "--server.port=8612", "--browser.serverAddress=127.0.0.1"]
    again = app_dry_run(capsys, "--share", "127.0.0.1")[1]
    assert key not in again and "127.0.0.1:8501/" in again  # a new secret each start; Streamlit's port pinned


@pytest.mark.parametrize(
    "args, words",
    [
        (["--share", "0.0.0.0"], "listens on every network of this machine"),
        (["--share", "my laptop"], "is not an IP address"),
        (["--share", "127.0.0.1", "--server.address", "10.0.0.2"], "give the address to --share"),
        (["--share", "127.0.0.1", "--server.port=http"], "must be a port number"),
    ],
)
def test_share_refuses_what_would_make_its_links_lie(capsys, args, words):
    code, out, err = app_dry_run(capsys, *args)
    assert code == 2 and words in err and "Traceback" not in err and "key=" not in out


@pytest.mark.parametrize("address", ["0.0.0.0", "192.168.1.20", "::", "my-laptop.local"])
def test_a_server_opened_to_the_network_without_share_says_what_it_exposes(capsys, address):
    code, out, err = app_dry_run(capsys, "--server.address", address)
    assert code == 0
    assert f"listens on {address}" in err and "start, stop and delete training runs" in err and "--share" in err


@pytest.mark.parametrize("args", [[], ["--server.address", "127.0.0.1"], ["--server.address=localhost"]])
def test_a_server_on_this_machine_only_warns_of_nothing(capsys, args):
    assert app_dry_run(capsys, *args)[2] == ""


def link_request(key: str | None) -> Request:
    query = b"" if key is None else b"key=" + key.encode()
    return Request(
        {"type": "http", "method": "GET", "path": share.PRESENTER_PATH, "query_string": query, "headers": []}
    )


def test_the_presenter_link_sets_an_httponly_cookie_and_hides_its_secret(monkeypatch):
    monkeypatch.setattr(roles, "KEY", KEY)
    response = share.presenter_link(link_request(KEY))
    assert response.status_code == 303 and response.headers["location"] == "/"  # no secret left in the address bar
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{roles.COOKIE}={KEY};") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    for guess in (None, "", "k" * 31, "k" * 33, KEY.upper(), "<script>"):
        refused = share.presenter_link(link_request(guess))
        assert refused.status_code == 403 and "set-cookie" not in refused.headers
        assert b"viewer link" in refused.body


def test_without_a_shared_server_every_caller_is_the_presenter():
    assert roles.KEY == "" and roles.presenter()  # the tests' own process, as the CLI and the trainers


def test_a_shared_server_refuses_a_caller_with_no_page_session_unless_it_is_its_own_start(monkeypatch):
    monkeypatch.setattr(roles, "KEY", KEY)
    assert not roles.presenter()  # another thread of the server: fails closed
    with roles.trusted():
        assert roles.presenter()
    assert roles.is_key(KEY) and not roles.is_key(KEY[:-1]) and not roles.is_key(None)


def every_action(path: str, mnist: str, only: tuple[str, ...] = ()) -> None:
    """A page's script that asks for each action the dashboard can carry out (or `only` those), and records how
    each ended."""
    import streamlit as st

    from rnnviz import dashboard, data, runner
    from rnnviz.config import Limits, preset
    from rnnviz.store import Store

    assert dashboard.session_role  # as on every page: rnnviz.roles reads the session's cookie through it
    cfg = preset("quick-rnn", steps=5, data_dir=mnist)
    actions = {
        "start": lambda s: runner.start(cfg, s),
        "launch": lambda s: runner.launch([cfg], s, Limits.from_env()),
        "start waiting": lambda s: runner.start_waiting(s, Limits.from_env()),
        "resume": lambda s: runner.resume(s, 1),
        "stop": lambda s: runner.stop(s, 2),
        "delete": lambda s: s.delete_run(2),
        "set": lambda s: runner.start_sweep(["--preset", "quick-rnn", "--grid", "lr=0.1,0.2"], s),
        "standby": lambda s: runner.ensure_standby(s),
        "create": lambda s: s.create_run(cfg),
        "download": lambda s: data.download("mnist", progress=False, mirrors=["http://127.0.0.1:9/"]),
        "import data": lambda s: data.install_from(mnist, "mnist"),
    }
    ended = {}
    with Store(path) as store:
        for name, action in actions.items():
            if only and name not in only:
                continue
            try:
                action(store)
                ended[name] = "done"
            except Exception as exc:
                ended[name] = f"{type(exc).__name__}: {exc}"
    st.session_state["ended"] = ended


def runs_as_stored(path) -> list[tuple]:
    with Store(path) as store:
        runs = store.runs()
    return [tuple(r) for r in runs[["run_id", "name", "status", "step", "config"]].itertuples(index=False)]


@pytest.fixture
def shared_store(trained_store, tmp_path, monkeypatch):
    """A copy of the trained store (run 1 stopped, so it can be resumed), served as a shared dashboard."""
    path = tmp_path / "shared.sqlite"
    shutil.copy(trained_store, path)
    with Store(path) as store:
        store.finish(1, Status.STOPPED)
    monkeypatch.setattr(roles, "KEY", KEY)
    monkeypatch.setenv("RNNVIZ_STORE", str(path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("RNNVIZ_STANDBY", "2")
    return path


def test_a_viewers_session_is_refused_every_action_where_it_is_carried_out(shared_store, tmp_path):
    from .conftest import MNIST_DIR

    before = runs_as_stored(shared_store)
    at = AppTest.from_function(every_action, args=(str(shared_store), str(MNIST_DIR)), default_timeout=60).run()
    assert not at.exception
    ended = at.session_state["ended"]
    assert set(ended) == {"start", "launch", "start waiting", "resume", "stop", "delete", "set", "standby", "create",
                          "download", "import data"}  # fmt: skip
    for name, how in ended.items():
        assert "only the presenter can" in how, (name, how)
    assert runs_as_stored(shared_store) == before
    assert not (shared_store.parent / "logs").exists()  # no trainer, warm trainer or set was started
    assert not (tmp_path / "cache" / "rnnviz").exists()  # nothing fetched or copied into the data cache


def test_the_presenters_session_is_not_refused(shared_store, monkeypatch):
    # the actions that start no process (the browser test starts runs as the presenter)
    monkeypatch.setattr(roles, "is_key", lambda candidate: True)  # the session's cookie holds the secret
    only = ("stop", "delete", "create")
    at = AppTest.from_function(every_action, args=(str(shared_store), "", only), default_timeout=60).run()
    assert at.session_state["ended"] == {name: "done" for name in only}
    assert [(r[0], r[2]) for r in runs_as_stored(shared_store)] == [(3, "queued"), (1, "stopped")]


def open_as(role: str, page: str, monkeypatch) -> AppTest:
    if role == "presenter":
        monkeypatch.setattr(roles, "is_key", lambda candidate: True)
        monkeypatch.setenv("RNNVIZ_STANDBY", "0")  # its Train page would start warm trainers
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    if page != "train":
        at.switch_page(f"rnnviz/dashboard/pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


ACTS = ("Train", "Stop", "Resume", "Delete", "Launch", "Start the sweep", "Download MNIST", "seeds")


def acting_buttons(at: AppTest) -> list[str]:
    labels = [b.label for b in at.button] + [b.label for b in at.get("form_submit_button")]
    return [label for label in labels if any(word in label for word in ACTS)]


@pytest.mark.parametrize("page", ["train", "remedies", "sweeps"])
def test_a_viewer_sees_no_control_that_acts_and_the_presenter_sees_them(shared_store, monkeypatch, page):
    viewer = open_as("viewer", page, monkeypatch)
    assert acting_buttons(viewer) == []
    assert [t.label for t in viewer.toggle][0] == "Follow the presenter"
    presenter = open_as("presenter", page, monkeypatch)
    assert acting_buttons(presenter)
    assert "Follow the presenter" not in [t.label for t in presenter.toggle]
    if page == "train":  # the viewer still sees every run in the table
        assert len(viewer.dataframe[0].value) == 2 and "presenter starts, stops and deletes" in viewer.info[0].value
    if page == "sweeps":  # no form above to point to (a fresh-eyes walk read "Start one above" as a viewer)
        assert [i.value for i in viewer.info] == [
            "No sweep recorded yet: one the presenter starts appears here while it trains."
        ]
        assert any("Start one above" in i.value for i in presenter.info)


def test_a_following_viewer_gets_the_presenters_page_runs_and_step(shared_store, monkeypatch):
    from rnnviz.dashboard import follow

    st.cache_data.clear()
    st.cache_resource.clear()  # a new server process: nothing published yet
    with monkeypatch.context() as presenting:
        presenting.setattr(roles, "is_key", lambda candidate: True)
        presenting.setenv("RNNVIZ_STANDBY", "0")
        presenter = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        presenter.query_params.update(runs="1", step="10")
        presenter.run()
        presenter.switch_page("rnnviz/dashboard/pages/gradient_flow.py").run()
    view = follow.stage().read()
    assert view is not None and (view.page, view.runs, view.pinned) == ("gradient_flow", (1,), 10)
    viewer = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert follow.stage().read() == view  # a viewer publishes nothing
    viewer.toggle(key=follow.FOLLOWING).set_value(True).run()
    # the check found the page behind: it has the browser open the presenter's page (as its back button would)
    scripts = [e.proto.body for e in viewer.get("html") if "<script>" in e.proto.body]
    assert len(scripts) == 1 and '"./gradient_flow?runs=1&step=10"' in scripts[0], scripts
    viewer.switch_page("rnnviz/dashboard/pages/gradient_flow.py").run()  # what the browser then asks for
    assert not viewer.exception, viewer.exception
    assert viewer.session_state["selected_runs"] == [1] and viewer.session_state["pinned_step"] == 10
    assert viewer.slider(key="scrub").value == 10 and viewer.title[0].value == "Gradient flow"


def test_a_following_viewers_replay_runs_on_the_presenters_clock(shared_store):
    from rnnviz.dashboard import follow
    from rnnviz.dashboard.shown import Replay

    st.cache_data.clear()
    st.cache_resource.clear()
    clock = Replay(last=30, seconds=10.0)  # the presenter's replay, waiting for its charts to draw
    follow.stage().publish(follow.View("", (1,), None, clock))
    viewer = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    viewer.toggle(key=follow.FOLLOWING).set_value(True).run()
    viewer.run()  # the view applied: the presenter's replay, as a copy of its own
    mine = viewer.session_state["replay"]
    assert mine is not clock and (mine.last, mine.seconds, mine.created) == (30, 10.0, clock.created)
    assert viewer.selectbox(key="replay_seconds").value == 10  # the box says the presenter's length, not 30 s
    mine.started = clock.created + 1  # this tab's charts drew first and started it
    viewer.run()
    assert mine.started is None and mine.step() == 0  # it waits for the presenter's clock
    clock.started = clock.created - 4  # the presenter's charts drew 4 s ago: step 12 of 30 in 10 s
    viewer.run()
    # the same clock: read during the run and then here, a second may have ticked over between the two readings
    # (13 then 14 once), so the later reading is at least the earlier
    assert mine.started == clock.started and clock.step() >= mine.step() >= 12
