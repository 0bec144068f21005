"""The blog experiments: a validation split, the normal output init, runs in epochs, the samples axis, the
row-by-row illustration, the presets of each post and what a run reports at its end."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
import torch

from rnnviz import data, findings, runner, trainer, views
from rnnviz.api import open_run
from rnnviz.cluster import in_flight
from rnnviz.config import PRESET_HELP, PRESETS, ConfigError, RunConfig, preset
from rnnviz.dashboard.state import SAMPLES
from rnnviz.figures import Style
from rnnviz.models import build_model
from rnnviz.published import published
from rnnviz.store import Store

from .browser import data_root
from .conftest import MNIST_DIR, ROOT, quick_config
from .test_app import figures, open_page
from .test_cli import rnnviz
from .test_store_upgrades import STORE_V1


@pytest.mark.parametrize("n, held", [(60_000, 5_000), (8_000, 667), (64, 5)])
def test_the_validation_split_holds_out_a_twelfth_disjoint_from_the_training_images(n, held):
    train_idx, val_idx = data.validation_split(n, seed=3)
    assert len(val_idx) == held and len(train_idx) == n - held
    assert not set(train_idx) & set(val_idx) and sorted({*train_idx, *val_idx}) == list(range(n))


def test_the_validation_split_is_fixed_by_the_seed_alone():
    same = [data.validation_split(8_000, seed=1)[1] for _ in range(2)]
    other = data.validation_split(8_000, seed=2)[1]
    assert np.array_equal(*same) and not np.array_equal(same[0], other)


def prepared(cfg: RunConfig, tmp_path):
    """What the trainer trains and evaluates on for cfg."""
    with Store(tmp_path / f"{cfg.cell}-{cfg.seed}.sqlite") as store:
        return trainer.prepare(cfg, store, store.create_run(cfg), resume=False, progress=False)


def test_the_trainer_trains_on_the_complement_of_the_validation_split(tmp_path):
    p = prepared(quick_config(seed=2), tmp_path)
    train_split, _ = data.load_dir(MNIST_DIR)
    train_idx, val_idx = data.validation_split(len(train_split.labels), seed=2)
    images = data.sequences(train_split.images, 28)
    assert torch.equal(p.train_x, images[train_idx]) and torch.equal(p.val_x, images[val_idx])
    assert torch.equal(p.val_y, torch.from_numpy(train_split.labels[val_idx].astype(np.int64)))
    assert len(p.val_x) == 667 and len(p.train_x) == 8_000 - 667  # 1/12 of mnist-10k's training images


def test_every_run_with_a_seed_holds_out_the_same_images_whatever_its_cell(tmp_path):
    rnn, lstm = (prepared(quick_config(cell=cell, seed=4), tmp_path) for cell in ("rnn", "lstm"))
    other = prepared(quick_config(cell="rnn", seed=5), tmp_path)
    assert torch.equal(rnn.val_x, lstm.val_x) and torch.equal(rnn.train_x, lstm.train_x)
    assert not torch.equal(rnn.val_x, other.val_x)


def test_curves_during_training_are_the_validation_split_and_the_test_split_is_read_once_at_the_end(tmp_path):
    with Store(tmp_path / "r.sqlite") as store:
        result = trainer.train(quick_config(steps=30, eval_every=10), store)
        scalars = store.scalars(result.run_id)
        row = store.run(result.run_id)
    steps = {name: g["step"].tolist() for name, g in scalars.groupby("name")}
    assert steps["validation_accuracy"] == [10, 20, 30] and steps["test_accuracy"] == [30]
    assert steps["test_accuracy_128"] == steps["test_accuracy_256"] == [30]
    assert row["test_accuracy"] == result.test_accuracy  # the runs table keeps the final test figure
    assert 0 <= result.validation_accuracy <= 1 and 0 <= result.test_accuracy_128 <= 1


def test_test_during_training_evaluates_the_test_split_at_every_evaluation_too(tmp_path):
    with Store(tmp_path / "r.sqlite") as store:
        result = trainer.train(quick_config(steps=20, eval_every=10, test_during_training=True), store)
        assert store.scalars(result.run_id, ["test_accuracy"])["step"].tolist() == [10, 20]


def test_normal_head_init_draws_the_output_weights_and_biases_from_a_standard_normal():
    torch.manual_seed(0)
    model = build_model(RunConfig(cell="lstm", hidden_size=1024, init="glorot", head_init="normal"))
    weight, bias = model.head.weight.detach(), model.head.bias.detach()
    assert weight.std().item() == pytest.approx(1.0, abs=0.02) and abs(weight.mean().item()) < 0.02
    assert bias.abs().max() > 0.1  # drawn, not zeroed as the Glorot init leaves it
    torch.manual_seed(0)
    same = build_model(RunConfig(cell="lstm", hidden_size=1024, init="glorot"))
    assert same.head.weight.std().item() < 0.1 and torch.equal(same.rnn.weight_hh_l0, model.rnn.weight_hh_l0)


def test_an_unknown_head_init_or_negative_epochs_are_refused():
    problems = RunConfig(head_init="uniform", epochs=-1).problems()
    assert [p.field for p in problems] == ["head_init", "epochs"]
    with pytest.raises(ConfigError, match="head_init: unknown value 'uniform'"):
        RunConfig(head_init="uniform").validate()


def test_a_run_in_epochs_trains_whole_passes_and_records_each_epochs_means(tmp_path):
    cfg = quick_config(epochs=2, batch_size=1000, eval_every=1000, probe_every=100)
    with Store(tmp_path / "r.sqlite") as store:
        result = trainer.train(cfg, store)
        scalars = store.scalars(result.run_id)
        row = store.run(result.run_id)
    per_epoch = (8_000 - 667) // 1000
    assert result.steps == row["step"] == row["total_steps"] == 2 * per_epoch
    epochs = scalars[scalars["name"].str.startswith("epoch/")]
    assert epochs.groupby("name")["step"].apply(list).to_dict() == {
        "epoch/accuracy": [per_epoch, 2 * per_epoch],
        "epoch/loss": [per_epoch, 2 * per_epoch],
        "epoch/validation_accuracy": [per_epoch, 2 * per_epoch],
    }
    batch = scalars[(scalars["name"] == "loss") & (scalars["step"] <= per_epoch)]["value"]
    first = epochs[(epochs["name"] == "epoch/loss")]["value"].iloc[0]
    assert first == pytest.approx(batch.mean())  # the mean cost of the epoch's batches


@pytest.mark.parametrize("name", ["blog-rnn", "blog-lstm", "tutorial-lstm", "sgd-lstm"])
def test_each_blog_preset_validates_and_trains_two_steps(name, tmp_path):
    cfg = preset(name, data_dir=str(MNIST_DIR), steps=2, epochs=0, threads=1, probe_every=1).validate()
    with Store(tmp_path / "r.sqlite") as store:
        result = trainer.train(cfg, store)
    assert result.status == "finished" and result.steps == 2, result.error


def test_the_presets_are_the_posts_settings():
    tutorial, sgd = preset("tutorial-lstm"), preset("sgd-lstm")
    assert (tutorial.lr, tutorial.batch_size, tutorial.steps * tutorial.batch_size) == (0.001, 128, 99_968)
    assert tutorial.head_init == sgd.head_init == "normal" and tutorial.forget_bias == sgd.forget_bias == 1.0
    assert (sgd.optimizer, sgd.lr, sgd.batch_size) == ("sgd", 0.001, 128) and sgd.epochs > 0
    assert set(PRESETS) >= {"blog-rnn", "blog-lstm", "tutorial-lstm", "sgd-lstm"}
    assert published("blog-rnn (seed 3)").final["test_accuracy"] == 0.1032  # type: ignore[union-attr]


def test_rnnviz_train_reports_the_validation_and_first_digits_accuracies(tmp_path):
    done = rnnviz("train", "--preset", "tutorial-lstm", "--steps", "3", "--threads", "1", "--data-dir",
                  str(MNIST_DIR), "--store", str(tmp_path / "cli.sqlite"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    for key in ("validation_accuracy", "test_accuracy", "test_accuracy_128", "test_accuracy_256"):
        assert 0.0 <= result[key] <= 1.0, key


def test_the_samples_axis_counts_step_times_batch_size_and_keeps_the_data(trained_store):
    run = open_run(trained_store, 2)
    steps, values = run.scalar("loss")
    by_step = views.metric([run], "loss")
    by_samples = views.metric([run], "loss", Style(samples=True))
    assert by_step.layout.xaxis.title.text == "training step" and by_samples.layout.xaxis.title.text == "samples seen"
    assert np.allclose(by_samples.data[0].x, by_step.data[0].x * run.cfg.batch_size)
    assert np.array_equal(by_samples.data[0].y, by_step.data[0].y)
    overview = views.overview([run], Style(samples=True))
    assert overview.layout.xaxis.title.text == "samples seen" and overview.data[0].x[-1] == steps[-1] * 32
    for fig in (views.gradient_flow([run], Style(samples=True)), views.global_norm(run, Style(samples=True)),
                views.saturation_over_training([run], style=Style(samples=True)),
                views.group_metric([run], "loss", Style(samples=True))):  # fmt: skip
        assert fig.layout.xaxis.title.text == "samples seen"


VIEWS = [("rows", 28, False), ("chunks of 7", 112, False), ("pixels", 784, False), ("permuted (seed 5)", 784, True)]


@pytest.mark.parametrize("view, seq_len, permuted", VIEWS)
def test_the_illustration_says_what_the_sequences_code_does(view, seq_len, permuted):
    shape = next(v for v in data.view_shapes(batch_size=3, chunk=7, seed=5) if v.name == view)
    images = np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    x = data.sequences(images, seq_len, data.permutation(5) if permuted else None)  # what every run reads
    assert shape.shape == tuple(x.shape)
    flat = images.reshape(3, 784)
    for t in (0, 1, seq_len - 1):
        assert np.array_equal(x[:, t].numpy(), flat[:, shape.order[t]])  # x_t, (B, I), holds those pixels
    text = data.illustration(batch_size=3, chunk=7, seed=5)
    assert f"{view}: x {tuple(x.shape)}, {seq_len} tensors of (3, {784 // seq_len})" in text


def test_the_illustration_names_the_rows_columns_and_pixels_read():
    text = data.illustration()
    assert "rows: x (100, 28, 28), 28 tensors of (100, 28): x_1 = row 1, columns 1-28; x_2 = row 2" in text
    assert "x_112 = row 28, columns 22-28" in text and "x_784 = row 28, column 28" in text


def test_runs_of_an_old_store_still_draw_their_test_accuracy_curves(tmp_path):
    path = tmp_path / "old.sqlite"
    shutil.copy(STORE_V1, path)
    run = open_run(path, 1)
    assert findings.evaluated(run) == "test_accuracy" and len(run.scalar("test_accuracy")[0]) > 1
    panel = views.overview([run])
    assert "test accuracy" in panel.layout.title.text and len(panel.data[1].x) > 1
    assert "test accuracy" in findings.of(run)


def test_the_epoch_chart_and_the_published_points_draw(tmp_path):
    cfg = quick_config(epochs=2, batch_size=1000, eval_every=1000, probe_every=100, name="blog-rnn (seed 0)")
    with Store(tmp_path / "r.sqlite") as store:
        trainer.train(cfg, store)
    run = open_run(tmp_path / "r.sqlite", 1)
    fig = views.epochs([run])
    assert [len(t.x) for t in fig.data] == [2, 2, 2] and fig.layout.xaxis.title.text == "epoch"
    points = views.beside_published([run], "accuracy")
    marked = [t for t in points.data if t.mode == "markers"]
    assert len(marked) == 1 and marked[0].y[list(marked[0].x).index(301)] == 0.67  # the post's step 300


@pytest.fixture
def experiments_store(tmp_path, monkeypatch):
    """A store with a run trained in epochs named as a seed of blog-rnn, and the data where pages look."""
    path = tmp_path / "runs.sqlite"
    with Store(path) as store:
        cfg = quick_config(epochs=2, batch_size=1000, eval_every=1000, probe_every=100, name="blog-rnn (seed 0)")
        assert trainer.train(cfg, store).status == "finished"
    monkeypatch.setenv("RNNVIZ_STORE", str(path))
    monkeypatch.setenv("RNNVIZ_DATA_DIR", str(data_root(tmp_path, MNIST_DIR)))
    return path


def test_the_train_page_offers_each_blog_experiment_once_or_over_five_seeds(experiments_store, monkeypatch):
    spawned: list[int] = []
    monkeypatch.setattr(runner, "_spawn", lambda store, run_id, *extra: spawned.append(run_id))
    at = open_page("train")
    assert not at.exception, at.exception
    said = " ".join(m.value for m in at.markdown)
    for name in ("blog-rnn", "blog-lstm", "tutorial-lstm", "sgd-lstm"):
        assert f"`{name}`: {PRESET_HELP[name]}" in said
    at.button(key="exp-2").click().run()
    with Store(experiments_store) as store:
        assert store.runs()["name"].iloc[0] == "sgd-lstm"
    assert at.button(key="exp-seeds-1").label == "5 seeds"
    at.button(key="exp-seeds-1").click().run()  # queued beyond the cap on runs at once, not refused
    assert not at.exception, at.exception
    with Store(experiments_store) as store:
        runs = store.runs().sort_values("run_id")
    queued = runs[runs["name"].str.startswith("tutorial-lstm")]
    assert queued["name"].tolist() == [f"tutorial-lstm (seed {s})" for s in range(5)]
    assert [json.loads(c)["seed"] for c in queued["config"]] == list(range(5))
    assert len(spawned) <= os.cpu_count()  # the others wait for a slot


def test_the_overview_draws_epochs_the_published_points_and_counts_samples_when_asked(experiments_store):
    at = open_page("overview")
    assert not at.exception, at.exception
    titles = [f["layout"]["title"]["text"] for f in figures(at)]
    assert any(t.startswith("Per epoch") for t in titles), titles
    at.toggle(key="ov-published").set_value(True).run()
    published_fig = next(f for f in figures(at) if f["layout"]["title"]["text"].startswith("Training accuracy"))
    assert any(t.get("name", "").startswith("published: the collapse post") for t in published_fig["data"])
    assert figures(at)[0]["layout"]["xaxis"]["title"]["text"] == "training step"
    at.toggle(key=SAMPLES).set_value(True).run()
    assert not at.exception, at.exception
    assert figures(at)[0]["layout"]["xaxis"]["title"]["text"] == "samples seen"
    assert at.query_params["samples"] == "1"  # a link keeps the axis


def test_the_inspector_shows_how_the_runs_batches_become_sequences(experiments_store):
    at = open_page("inspector")
    assert not at.exception, at.exception
    cfg = preset("blog-rnn").replace(batch_size=1000)
    assert at.code[0].value == data.illustration(cfg.batch_size, cfg.chunk, cfg.seed)


def test_the_docs_show_the_illustration_the_code_makes():
    text = (ROOT / "docs" / "data-and-store.md").read_text()
    block = text.split("## How a batch of images becomes a sequence")[1].split("```")[1].strip()
    assert block == data.illustration()


@pytest.mark.parametrize(
    "resources, cpus, gpus, slots",
    [({"CPU": 2.0}, 1, 0, 2), ({"CPU": 16.0, "GPU": 1.0}, 1, 0.5, 2), ({"CPU": 2.0}, 4, 0, 1), ({"CPU": 8.0}, 2, 0, 4)],
)
def test_a_set_hands_ray_no_more_runs_than_the_cluster_holds(resources, cpus, gpus, slots):
    assert in_flight(resources, cpus, gpus) == slots
