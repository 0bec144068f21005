"""Every run setting, out of range or of the wrong type, on the command line and in the Train form: one
clear message that names the field, no traceback, nothing started (tests/bad_inputs.py is the corpus)."""

from __future__ import annotations

import pytest

from rnnviz.__main__ import _flag, main
from rnnviz.store import Store

from .bad_inputs import FORM, OUT_OF_RANGE, WRONG_TYPE
from .browser import data_root
from .conftest import MNIST_DIR
from .test_app import open_page


def cli_error(capsys, tmp_path, *args: str) -> str:
    store = tmp_path / "untouched.sqlite"
    try:
        code = main(["train", "--store", str(store), "--data-dir", str(MNIST_DIR), "--steps", "1", *args])
    except SystemExit as exc:  # argparse refuses a value of the wrong type
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert not store.exists() or Store(store).runs().empty  # nothing was started
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("rnnviz: error:"), err
    return lines[0]


@pytest.mark.parametrize("field, value, extra, message", OUT_OF_RANGE, ids=[f"{c[0]}={c[1]}" for c in OUT_OF_RANGE])
def test_out_of_range_settings_get_one_line_naming_the_flag(capsys, tmp_path, field, value, extra, message):
    # the value comes last, so it wins over the --data-dir and --steps the helper adds
    line = cli_error(capsys, tmp_path, *extra, _flag(field), value)
    assert f"{_flag(field)}: {message}" in line, line


@pytest.mark.parametrize("field, value, message", WRONG_TYPE, ids=[c[0] for c in WRONG_TYPE])
def test_settings_of_the_wrong_type_get_one_line_naming_the_flag(capsys, tmp_path, field, value, message):
    line = cli_error(capsys, tmp_path, f"{_flag(field)}={value}")
    assert f"argument {_flag(field)}: {message}" in line, line


def test_unknown_preset_gets_one_line(capsys, tmp_path):
    assert "invalid choice: 'blog-gru'" in cli_error(capsys, tmp_path, "--preset", "blog-gru")


@pytest.mark.parametrize("field, value, message", FORM, ids=[f"{c[0]}={c[1]}" for c in FORM])
def test_the_train_form_refuses_each_bad_value_next_to_its_field(
    trained_store, tmp_path, monkeypatch, field, value, message
):
    copy = tmp_path / "runs.sqlite"
    copy.write_bytes(trained_store.read_bytes())
    monkeypatch.setenv("RNNVIZ_STORE", str(copy))
    monkeypatch.setenv("RNNVIZ_DATA_DIR", str(data_root(tmp_path, MNIST_DIR)))
    at = open_page("train")
    widget = next(w for w in [*at.number_input, *at.text_input] if w.key == f"form-blog-rnn-{field}")
    widget.set_value(value)
    next(b for b in at.button if b.label == "Train").click().run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert message in errors, errors  # in the slot under the field
    assert any(e.startswith(f"Not started: {field.replace('_', ' ')}: ") for e in errors), errors
    assert len(Store(copy).runs()) == 2  # nothing was started
