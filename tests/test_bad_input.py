"""Every run setting, out of range or of the wrong type, on the command line and in the Train form: one
clear message that names the field, no traceback, nothing started (tests/bad_inputs.py is the corpus)."""

from __future__ import annotations

import pytest

from rnnviz.cli import flag, main
from rnnviz.config import ConfigError, Limits, RunConfig, preset
from rnnviz.store import Store

from .bad_inputs import FORM, GRIDS, OUT_OF_RANGE, WRONG_TYPE
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
def test_out_of_range_settings_get_one_line_naming_theflag(capsys, tmp_path, field, value, extra, message):
    # the value comes last, so it wins over the --data-dir and --steps the helper adds
    line = cli_error(capsys, tmp_path, *extra, flag(field), value)
    assert f"{flag(field)}: {message}" in line, line


@pytest.mark.parametrize("field, value, message", WRONG_TYPE, ids=[c[0] for c in WRONG_TYPE])
def test_settings_of_the_wrong_type_get_one_line_naming_theflag(capsys, tmp_path, field, value, message):
    line = cli_error(capsys, tmp_path, f"{flag(field)}={value}")
    assert f"argument {flag(field)}: {message}" in line, line


@pytest.mark.parametrize("flags, message", GRIDS, ids=[" ".join(c[0]) for c in GRIDS])
def test_a_bad_set_of_runs_gets_one_line_and_records_nothing(capsys, tmp_path, flags, message):
    store = tmp_path / "untouched.sqlite"
    code = main(["sweep", "--store", str(store), "--data-dir", str(MNIST_DIR), "--steps", "1", *flags])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("rnnviz:")]
    assert code == 2 and "Traceback" not in err and len(lines) == 1, err
    assert message in lines[0], lines[0]
    assert not store.exists() or Store(store).sweeps().empty


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


def test_a_config_reports_every_bad_field_at_once():
    cfg = RunConfig(cell="cnn", hidden_size=0, lr=-1.0, steps="many", saturation=2.0)  # type: ignore[arg-type]
    expected = [
        ("cell", "unknown value 'cnn'; choose one of rnn, lstm, gru"),
        ("hidden_size", "must be > 0, got 0"),
        ("lr", "must be > 0, got -1.0"),
        ("steps", "must be int, got 'many'"),
        ("saturation", "must be between 0 and 1, got 2.0"),
    ]
    assert [(p.field, p.message) for p in cfg.problems()] == expected
    with pytest.raises(ConfigError) as raised:
        cfg.validate()
    assert [(p.field, p.message) for p in raised.value.problems] == expected
    assert raised.value.field == "cell" and "saturation: must be between 0 and 1" in str(raised.value)
    over = Limits(hidden_size=64, steps=100).problems(preset("blog-rnn", hidden_size=128))
    assert [p.field for p in over] == ["hidden_size", "steps"]


def test_the_train_form_refuses_every_bad_value_at_once_next_to_each_field(trained_store, tmp_path, monkeypatch):
    copy = tmp_path / "runs.sqlite"
    copy.write_bytes(trained_store.read_bytes())
    monkeypatch.setenv("RNNVIZ_STORE", str(copy))
    monkeypatch.setenv("RNNVIZ_DATA_DIR", str(data_root(tmp_path, MNIST_DIR)))
    at = open_page("train")
    bad = {"hidden_size": 0, "lr": "fast", "steps": -5, "saturation": 1.5}
    for widget in [*at.number_input, *at.text_input]:
        if widget.key.removeprefix("form-blog-rnn-") in bad:
            widget.set_value(bad[widget.key.removeprefix("form-blog-rnn-")])
    next(b for b in at.button if b.label == "Train").click().run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    for message in ("must be > 0, got 0", "must be a number, got 'fast'", "must be > 0, got -5"):
        assert message in errors, errors  # each in the slot under its field
    assert "must be between 0 and 1, got 1.5" in errors, errors
    (summary,) = [e for e in errors if e.startswith("Not started: ")]
    assert all(f"{field.replace('_', ' ')}: " in summary for field in bad), summary
    assert len(Store(copy).runs()) == 2  # nothing was started
