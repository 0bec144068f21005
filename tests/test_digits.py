"""The digit inspector's numbers: the unrolled reading of one digit agrees with the fused model, and every
time step maps back to the pixels it reads."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnviz import data as datamod
from rnnviz import digits
from rnnviz.data import DataError
from rnnviz.models import build_model
from rnnviz.store import Store

from .conftest import quick_config


@pytest.mark.parametrize("run_id", [1, 2])  # the RNN and the LSTM of the trained store
def test_a_digit_read_step_by_step_agrees_with_the_fused_model(trained_store, run_id):
    with Store(trained_store) as store:
        model, step = digits.checkpointed_model(store, run_id)
        cfg = store.config(run_id)
    assert step == cfg.steps
    test = digits.test_digits(cfg)
    insp = digits.inspect(model, test, 7)
    x = datamod.to_float(test.sequences[7:8]).requires_grad_(True)
    logits, hs = model(x)  # the fused pass
    torch.nn.functional.cross_entropy(logits, torch.tensor([insp.label])).backward()
    assert insp.label == test.labels[7] and insp.T == 28
    np.testing.assert_allclose(insp.h, hs[0].detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(insp.probs[-1], torch.softmax(logits, -1)[0].detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(insp.probs.sum(1), 1, atol=1e-5)
    np.testing.assert_allclose(insp.grad_x, x.grad[0].norm(dim=1).numpy(), rtol=1e-4, atol=1e-8)
    if cfg.cell == "lstm":
        assert set(insp.gates) == set("ifgo") and insp.cell is not None and insp.cell.shape == (28, 128)
        assert all(0 <= v.min() and v.max() <= 1 for k, v in insp.gates.items() if k != "g")
    else:
        assert insp.gates == {} and insp.cell is None


def test_permuted_pixels_map_back_to_the_pixels_they_read():
    cfg = quick_config(cell="gru", view="pixels", permute=True, seed=3, hidden_size=16)
    test = digits.test_digits(cfg)
    assert test.positions.shape == (784, 1) and sorted(test.positions[:, 0]) == list(range(784))
    assert (test.sequences[5].numpy().reshape(-1) == test.images[5].reshape(-1)[test.positions[:, 0]]).all()
    torch.manual_seed(0)
    insp = digits.inspect(build_model(cfg).eval(), test, 5)
    painted = insp.sensitivity_map().reshape(-1)
    assert (painted[test.positions[:, 0]] == insp.grad_x).all()
    heat = digits.units_heatmap(insp.h, 400, "h", "k")  # T = 784 is strided for the browser
    assert len(heat.data[0].x) == digits.MAX_TIME_COLUMNS and heat.data[0].x[-1] == 784


def test_the_reading_figure_frames_the_pixels_of_the_chosen_step(trained_store):
    with Store(trained_store) as store:
        model, _ = digits.checkpointed_model(store, 2)
        insp = digits.inspect(model, digits.test_digits(store.config(2)), 0)
    fig = digits.reading_figure(insp, 5)
    image, frame = fig.data
    assert set(frame.y) == {4} and sorted(frame.x) == list(range(28))  # row 5 of 28
    assert np.array_equal(np.asarray(image.z)[:5], insp.image[:5])  # rows read so far at full strength
    assert np.array_equal(np.asarray(image.z)[5:], insp.image[5:] * 0.25)


def test_mistakes_are_the_digits_the_fused_model_gets_wrong(trained_store):
    with Store(trained_store) as store:
        model, _ = digits.checkpointed_model(store, 1)
        test = digits.test_digits(store.config(1))
    predicted = digits.predictions(model, test.sequences, limit=700)
    with torch.no_grad():
        expected = model(datamod.to_float(test.sequences[:700]))[0].argmax(1).numpy()
    assert len(predicted) == 700 and (predicted == expected).all()


def test_a_run_without_a_checkpoint_says_what_to_do(tmp_path):
    with Store(tmp_path / "none.sqlite") as store:
        run_id = store.create_run(quick_config())
        with pytest.raises(DataError, match="has no checkpoint yet: rnnviz saves one every 500 steps"):
            digits.checkpointed_model(store, run_id)
    with pytest.raises(IndexError, match="pick 0 to"):
        digits.inspect(build_model(quick_config()), digits.test_digits(quick_config()), 10**6)
