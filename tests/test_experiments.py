"""radlab.experiments: the standardising MLP, the depth sweep's table, simulated class scores."""

from __future__ import annotations

import math

import numpy as np
import pytest

from radlab.experiments import DepthSweep, SweepRow, depth_sweep, mlp_classifier, simulated_scores
from radlab.metrics import top_k_error


@pytest.fixture(scope="module")
def tiny_data():
    """A small task a linear model solves: is the mean of the top-left pixels above the rest?"""
    rng = np.random.default_rng(0)
    x = rng.normal(0.6, 0.1, (160, 4, 4, 1)).astype("float32")
    y = (x[:, :2, :2, 0].mean(axis=(1, 2)) > x[:, 2:, 2:, 0].mean(axis=(1, 2))).astype("int64")
    return x, y


def test_mlp_classifier_standardises_each_pixel(tiny_data):
    x, _ = tiny_data
    model = mlp_classifier(x, depth=1, width=5)
    assert model.optimizer is not None and model.loss == "binary_crossentropy"
    layer = model.get_layer("standardize")
    z = np.asarray(layer(x))
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(z.std(axis=0), 1.0, atol=1e-3)
    assert model.output_shape == (None, 1)
    # 16 inputs -> 5 hidden -> 1 output
    assert sum(math.prod(w.shape) for w in model.trainable_weights) == 16 * 5 + 5 + 5 + 1
    multi = mlp_classifier(x, 3, depth=0)
    assert multi.output_shape == (None, 3) and multi.loss == "sparse_categorical_crossentropy"
    with pytest.raises(ValueError, match="at least 2"):
        mlp_classifier(x[:1])


def test_depth_sweep_returns_the_table(tiny_data):
    x, y = tiny_data
    sweep = depth_sweep(x[:100], y[:100], x[100:130], y[100:130], depths=(0, 1), x_test=x[130:], y_test=y[130:],
                        width=4, epochs=2, batch_size=32, repeats=2, patience=None)
    assert isinstance(sweep, DepthSweep)
    assert sweep.depths == [0, 1] and sweep.width == 4
    assert all(isinstance(row, SweepRow) for row in sweep.rows)
    assert len(sweep.runs) == 4 and {run["repeat"] for run in sweep.runs} == {0, 1}
    assert [run["seed"] for run in sweep.runs if run["depth"] == 0] == [0, 1]
    for name in DepthSweep.COLUMNS:
        assert sweep.column(name).shape == (2,)
    for key in ("train_accuracy", "val_accuracy", "test_accuracy"):
        values = sweep.column(key)
        assert np.all((values >= 0) & (values <= 1))
    np.testing.assert_array_equal(sweep.column("params"), [16 + 1, 16 * 4 + 4 + 4 + 1])
    assert np.all(sweep.column("best_epoch") >= 1) and np.all(sweep.column("best_epoch") <= 2)
    assert all(len(run["history"]["loss"]) == 2 for run in sweep.runs)
    # the row means are the means of the runs
    runs0 = [run for run in sweep.runs if run["depth"] == 0]
    assert sweep.row(0).val_accuracy == pytest.approx(np.mean([r["val_accuracy"] for r in runs0]))
    assert sweep.row(0).test_std == pytest.approx(np.std([r["test_accuracy"] for r in runs0]))
    assert sweep.best_depth in (0, 1)
    assert 0 <= sweep.chance <= 1
    text = str(sweep)
    assert "hidden layers" in text and "test acc" in text and "±" in text and len(text.splitlines()) == 3
    assert sweep._repr_html_().count("<tr>") == 3
    assert repr(sweep).startswith("DepthSweep: 2 depths") and text in repr(sweep)
    # the default monitor keeps the epoch with the best validation accuracy
    for run in sweep.runs:
        assert run["val_accuracy"] == max(run["history"]["val_accuracy"])
    with pytest.raises(KeyError, match="columns"):
        sweep.column("auc")
    with pytest.raises(KeyError, match="not part"):
        sweep.row(5)


def test_depth_sweep_without_test_set_and_with_loss_monitor(tiny_data):
    x, y = tiny_data
    sweep = depth_sweep(x[:100], y[:100], x[100:], y[100:], depths=[0], width=4, epochs=3, patience=1,
                        monitor="val_loss")
    row = sweep.row(0)
    assert math.isnan(row.test_accuracy) and math.isnan(row.test_std)
    history = sweep.runs[0]["history"]
    best = int(np.argmin(history["val_loss"]))
    assert row.val_accuracy == history["val_accuracy"][best] and row.best_epoch == best + 1
    assert "test acc" not in str(sweep)


@pytest.mark.parametrize("kwargs, message", [
    ({"depths": []}, "empty"),
    ({"depths": [0, 0]}, "duplicates"),
    ({"depths": [-1]}, ">= 0"),
    ({"width": 0}, "width"),
    ({"monitor": "auc"}, "monitor"),
])
def test_depth_sweep_checks_its_arguments(tiny_data, kwargs, message):
    x, y = tiny_data
    with pytest.raises(ValueError, match=message):
        depth_sweep(x, y, x, y, **kwargs)


def test_depth_sweep_checks_lengths(tiny_data):
    x, y = tiny_data
    with pytest.raises(ValueError, match="validation set"):
        depth_sweep(x, y, x, y[:5], depths=[0])
    with pytest.raises(ValueError, match="class indices"):
        depth_sweep(x, y - 0.5, x, y, depths=[0])


def test_simulated_scores_make_top5_error_lower_than_top1():
    y, p = simulated_scores(500, 100, separation=3.0, seed=1)
    assert y.shape == (500,) and p.shape == (500, 100)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    top1, top5 = top_k_error(y, p, k=1), top_k_error(y, p, k=5)
    assert 0 < top5 < top1 < 1
    # a better classifier (larger separation) has lower error; no signal is at chance
    assert top_k_error(*simulated_scores(500, 100, separation=6.0, seed=1), k=5) < top5
    y0, p0 = simulated_scores(2000, 10, separation=0.0, confusable=0, seed=2)
    assert top_k_error(y0, p0, k=1) == pytest.approx(0.9, abs=0.03)
    assert top_k_error(y0, p0, k=5) == pytest.approx(0.5, abs=0.04)
    with pytest.raises(ValueError, match="confusable"):
        simulated_scores(10, 3, confusable=3)
    with pytest.raises(ValueError, match="n_classes"):
        simulated_scores(10, 1)
