"""Notebook 05's exercise checkers: the notebook's solutions pass, typical mistakes get hints, never the answer."""

from __future__ import annotations

import numpy as np
import pytest

from radlab.exercises import EXERCISES, check
from radlab.transfer import DataEfficiency


@pytest.fixture(autouse=True)
def _lenient(monkeypatch):
    monkeypatch.delenv("RADLAB_STRICT", raising=False)


def _hint(exercise_id, answer, **context):
    return EXERCISES[exercise_id].checker(answer, **context)


def test_all_three_are_registered():
    check("05.largest_gain", None)  # imports radlab.exercises.nb05
    assert {"05.trainable_params", "05.imagenet_input", "05.largest_gain"} <= set(EXERCISES)


# -- trainable parameters of a frozen classifier -----------------------------------------
@pytest.fixture(scope="module")
def frozen_model():
    from radlab.models import small_cnn
    from radlab.transfer import transfer_classifier

    features = small_cnn((32, 32, 1), 1, depth=2, width=4)  # gap: 8 features
    return transfer_classifier(features, "frozen")


def test_trainable_params_right_answer(frozen_model):
    assert _hint("05.trainable_params", 9, model=frozen_model) == (True, "")
    assert check("05.trainable_params", np.int64(9), model=frozen_model)


@pytest.mark.parametrize("answer, words", [
    ("total", "frozen ones included"),
    ("frozen", "frozen part"),
    (8, "bias"),
    (0, "head"),
    (12345, "one weight per feature"),
    (9.5, "whole"),
])
def test_trainable_params_hints(frozen_model, answer, words):
    total = frozen_model.count_params()
    answer = {"total": total, "frozen": total - 9}.get(answer, answer)
    ok, hint = _hint("05.trainable_params", answer, model=frozen_model)
    assert not ok and words in hint and "9" not in hint.replace("(", "")


# -- grey radiograph -> MobileNetV2 input --------------------------------------------------
IMAGE = np.linspace(0, 1, 12).reshape(3, 4)


def test_imagenet_input_right_answer():
    answer = np.repeat(IMAGE[..., None], 3, axis=-1) * 2 - 1
    assert _hint("05.imagenet_input", answer, image=IMAGE) == (True, "")
    assert _hint("05.imagenet_input", answer.astype(np.float32), image=IMAGE)[0]


@pytest.mark.parametrize("make, words", [
    (lambda im: im * 2 - 1, "3 channels"),
    (lambda im: np.zeros((2, 2, 3)), "shape (3, 4, 3)"),
    (lambda im: np.stack([im, im, 1 - im], -1) * 2 - 1, "same in red, green and blue"),
    (lambda im: np.repeat(im[..., None], 3, -1) * 255, "0-255"),
    (lambda im: np.repeat(im[..., None], 3, -1), "still in [0, 1]"),
    (lambda im: np.repeat(im[..., None], 3, -1) * 255 - 120, "-1 (black)"),
    (lambda im: np.repeat(im[..., None], 3, -1) - 0.5, "black (0) should become -1"),
])
def test_imagenet_input_hints(make, words):
    ok, hint = _hint("05.imagenet_input", make(IMAGE), image=IMAGE)
    assert not ok and words in hint


# -- reading the data-efficiency curve -----------------------------------------------------
def _result(scratch, finetune, sizes=(16, 64, 256)):
    rows = []
    for method, aucs in (("scratch", scratch), ("finetune", finetune)):
        for n, auc in zip(sizes, aucs):
            rows.append({"method": method, "n_train": n, "auc": auc, "ci_low": auc - 0.05,
                         "ci_high": auc + 0.05, "seconds": 1.0, "steps": 10})
    return DataEfficiency(rows=rows, steps=10, n_test=100)


def test_largest_gain_follows_the_data():
    early = _result([0.60, 0.75, 0.90], [0.80, 0.85, 0.91])
    assert _hint("05.largest_gain", 16, result=early) == (True, "")
    late = _result([0.60, 0.65, 0.90], [0.62, 0.85, 0.91])
    assert _hint("05.largest_gain", 64, result=late) == (True, "")
    assert not _hint("05.largest_gain", 16, result=late)[0]


@pytest.mark.parametrize("answer, words", [
    (256, "helps least"),
    (100, "one of the sizes"),
    ("many", "one training-set size"),
])
def test_largest_gain_hints(answer, words):
    result = _result([0.60, 0.70, 0.90], [0.80, 0.85, 0.91], sizes=(16, 64, 256))
    ok, hint = _hint("05.largest_gain", answer, result=result)
    assert not ok and words in hint


def test_largest_gain_middle_answer_gets_the_general_hint():
    result = _result([0.60, 0.70, 0.90, 0.95], [0.80, 0.85, 0.91, 0.94], sizes=(16, 64, 256, 512))
    ok, hint = _hint("05.largest_gain", 64, result=result)
    assert not ok and "vertical gap" in hint
