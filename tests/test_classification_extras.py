"""Notebook 06, part 2: imbalance strategies compared, and multi-label training and prediction."""

from __future__ import annotations

import numpy as np
import pytest

from radlab import classification as clf
from radlab.errors import DataFormatError
from radlab.metrics import multilabel_auc


@pytest.fixture(scope="module")
def binary():
    """Bright-blob vs plain 28 px images, 1/4 positive, split in three."""
    rng = np.random.default_rng(0)
    n = 96
    y = (np.arange(n) % 4 == 0).astype(np.uint8)
    x = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
    x[y == 1, 10:18, 10:18] += 150
    y = y[:, None]
    return x[:64], y[:64], x[64:80], y[64:80], x[80:], y[80:]


def test_compare_imbalance_trains_each_strategy_on_the_right_data(binary, monkeypatch):
    seen = []
    real = clf.train_classifier

    def spy(x, y, *args, class_weight=None, **kwargs):
        seen.append((len(x), float(np.mean(y)), class_weight))
        return real(x, y, *args, class_weight=class_weight, **kwargs)

    monkeypatch.setattr(clf, "train_classifier", spy)
    result = clf.compare_imbalance(*binary, epochs=1, model="small_cnn", batch_size=16)
    assert [r["strategy"] for r in result.rows] == list(clf.IMBALANCE_STRATEGIES)
    assert seen[0] == (64, 0.25, None)
    assert seen[1] == (64, 0.25, "balanced")
    assert seen[2] == (96, 0.5, None), "oversampling: 48 + 48 films, no weights"
    for row in result.rows:
        assert 0 <= row["test_auc"] <= 1 and 0 <= row["sensitivity"] <= 1 and row["seconds"] > 0
    assert set(result.models) == set(clf.IMBALANCE_STRATEGIES)
    text = str(result)
    assert "class weights" in text and "sens@0.5" in text and len(text.splitlines()) == 5
    assert result.row("oversampling") is result.rows[2]
    with pytest.raises(KeyError, match="no strategy"):
        result.row("smote")


def test_compare_imbalance_rejects_bad_arguments(binary):
    with pytest.raises(ValueError, match="strategies must be some of"):
        clf.compare_imbalance(*binary, epochs=1, strategies=("smote",))
    with pytest.raises(ValueError, match="sets class_weight itself"):
        clf.compare_imbalance(*binary, epochs=1, class_weight=None)


@pytest.fixture(scope="module")
def multilabel():
    """Two findings, independent: a bright blob top-left, a bright bar bottom-right."""
    rng = np.random.default_rng(1)
    n = 120
    y = np.stack([np.arange(n) % 2, (np.arange(n) // 2) % 3 == 0], axis=1).astype(np.uint8)
    x = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
    x[y[:, 0] == 1, 3:11, 3:11] += 150
    x[y[:, 1] == 1, 20:24, 12:26] += 150
    return x[:96], y[:96], x[96:], y[96:]


def test_multilabel_classifier_learns_each_finding(multilabel):
    x_train, y_train, x_val, y_val = multilabel
    model, history = clf.train_multilabel_classifier(
        x_train, y_train, x_val, y_val, model="small_cnn", epochs=3, batch_size=16, learning_rate=3e-3)
    assert model.output_shape == (None, 2)
    assert model.layers[-1].activation.__name__ == "sigmoid"
    assert "val_auc" in history.history and history.params["best_epoch"] is not None
    assert history.params["stopped_by_time_limit"] is False
    scores = clf.predict_multilabel_scores(model, x_val)
    assert scores.shape == (24, 2) and ((scores >= 0) & (scores <= 1)).all()
    assert not np.allclose(scores.sum(axis=1), 1.0), "independent sigmoids, not a softmax"
    table = multilabel_auc(y_val, scores, ["blob", "bar"])
    assert table.mean > 0.6


def test_multilabel_inputs_are_checked(multilabel):
    x_train, y_train, x_val, y_val = multilabel
    with pytest.raises(DataFormatError, match=r"one 0/1 column per finding, shape \(96, n_findings\)"):
        clf.check_multilabel_split(x_train, y_train[:, 0], "train")
    with pytest.raises(DataFormatError, match=r"must be 0 \(absent\) or 1"):
        clf.check_multilabel_split(x_train, y_train * 2, "train")
    with pytest.raises(DataFormatError, match="same of each"):
        clf.train_multilabel_classifier(x_train, y_train, x_val, y_val[:, :1], epochs=1)
    with pytest.raises(ValueError, match="n_findings must be a positive integer"):
        clf.build_multilabel_classifier("small_cnn", (28, 28, 1), 0)
    with pytest.raises(ValueError, match="model must be one of"):
        clf.build_multilabel_classifier("vgg", (28, 28, 1), 2)
