"""Notebook 03's exercise checkers: the notebook's solutions pass, typical mistakes get hints, never the answer."""

from __future__ import annotations

import numpy as np
import pytest

from radlab.exercises import EXERCISES, check
from radlab.metrics import top_k_error
from radlab.toy import line_fit

PROBABILITIES = np.array([
    [0.50, 0.20, 0.10, 0.08, 0.06, 0.04, 0.02],
    [0.05, 0.30, 0.25, 0.15, 0.12, 0.10, 0.03],
    [0.10, 0.05, 0.40, 0.20, 0.02, 0.15, 0.08],
    [0.02, 0.10, 0.12, 0.30, 0.20, 0.01, 0.25],
    [0.15, 0.04, 0.30, 0.06, 0.25, 0.11, 0.09],
])
Y_TRUE = np.array([0, 6, 3, 5, 4])


@pytest.fixture(autouse=True)
def _lenient(monkeypatch):
    monkeypatch.delenv("RADLAB_STRICT", raising=False)


def _hint(exercise_id, answer, **context):
    ok, hint = EXERCISES[exercise_id].checker(answer, **context)
    return ok, hint


def test_all_three_are_registered():
    import radlab.exercises.nb03  # noqa: F401

    assert {"03.learning_rate", "03.dense_params", "03.top5"} <= set(EXERCISES)


def test_learning_rate():
    steep = line_fit(x_range=(1, 4))
    context = {"problem": steep, "steps": 60}
    assert check("03.learning_rate", 0.8 * steep.max_stable_lr, **context)  # the notebook's solution
    ok, hint = _hint("03.learning_rate", 0.2, **context)
    assert not ok and "smaller" in hint and "grew" in hint
    ok, hint = _hint("03.learning_rate", 0.005, **context)
    assert not ok and "larger" in hint and "%" in hint
    ok, hint = _hint("03.learning_rate", -1, **context)
    assert not ok and "positive" in hint
    assert not check("03.learning_rate", [0.1, 0.2], **context)  # not one number: a hint, no crash


def test_dense_params():
    from radlab.models import mlp

    layer = mlp((32, 32, 1), n_classes=1, depth=2, width=32).get_layer("hidden_1")
    assert check("03.dense_params", 1024 * 32 + 32, layer=layer)
    for wrong, words in ((1024 * 32, "bias"), (1024 * 32 + 1024, "per neuron"), (1024 + 32, "every one")):
        ok, hint = _hint("03.dense_params", wrong, layer=layer)
        assert not ok and words in hint
        assert str(1024 * 32 + 32) not in hint and "32,800" not in hint, "never give the answer"


def test_top5():
    context = {"y_true": Y_TRUE, "probabilities": PROBABILITIES}
    expected = top_k_error(Y_TRUE, PROBABILITIES, k=5)
    assert expected == pytest.approx(0.4)
    assert check("03.top5", expected, **context)
    ranks = (PROBABILITIES > PROBABILITIES[np.arange(5), Y_TRUE][:, None]).sum(axis=1)
    assert check("03.top5", np.mean(ranks >= 5), **context)  # the notebook's solution
    cases = [(2, "fraction"), (0.6, "accuracy"), (top_k_error(Y_TRUE, PROBABILITIES, k=1), "top-1"),
             (0.1, "sort")]
    for wrong, words in cases:
        ok, hint = _hint("03.top5", wrong, **context)
        assert not ok and words in hint
        assert "0.4" not in hint
