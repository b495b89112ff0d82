"""Notebook 06's exercise checkers: right answers pass, typical mistakes get hints, never the answer."""

from __future__ import annotations

import numpy as np
import pytest

from radlab.exercises import EXERCISES, check
from radlab.metrics import at_threshold, choose_threshold, predictive_values


@pytest.fixture(autouse=True)
def _lenient(monkeypatch):
    monkeypatch.delenv("RADLAB_STRICT", raising=False)


def _run(exercise_id, answer, **context):
    return EXERCISES[exercise_id].checker(answer, **context)


def _no_number_in(hint: str, value: float):
    for text in (f"{value:.2f}", f"{value:.3f}", f"{100 * value:.0f} %", f"{100 * value:.1f}"):
        assert text not in hint, f"the hint gives the answer away: {hint!r}"


def test_all_three_are_registered():
    import radlab.exercises.nb06  # noqa: F401

    assert {"06.npv", "06.ppv_at_prevalence", "06.rule_out_threshold"} <= set(EXERCISES)


CONFUSION = np.array([[180, 54], [23, 367]])  # [[TN, FP], [FN, TP]]


def test_npv_right_and_typical_mistakes():
    tn, fp, fn, tp = 180, 54, 23, 367
    assert _run("06.npv", tn / (tn + fn), confusion=CONFUSION) == (True, "")
    expected = tn / (tn + fn)
    for wrong, words in [(tp / (tp + fp), "PPV"), (tn / (tn + fp), "specificity"),
                         (tp / (tp + fn), "sensitivity"), (fn / (tn + fn), "1 - NPV"),
                         (100 * expected, "between 0 and 1"), (0.5, "called normal")]:
        ok, hint = _run("06.npv", wrong, confusion=CONFUSION)
        assert not ok and words in hint
        _no_number_in(hint, expected)


def test_ppv_at_prevalence_right_and_typical_mistakes():
    context = dict(sensitivity=0.9, specificity=0.8, prevalence=0.05, sample_prevalence=0.625)
    expected, npv = predictive_values(0.9, 0.8, 0.05)
    assert expected == pytest.approx(0.045 / (0.045 + 0.19))
    assert _run("06.ppv_at_prevalence", expected, **context)[0]
    for wrong, words in [(0.9, "sensitivity"), (npv, "NPV"),
                         (predictive_values(0.9, 0.8, 0.625)[0], "test set's own prevalence"),
                         (0.9 * 0.05, "only the true positives"), (0.5, "per 1,000 patients"),
                         (23.0, "between 0 and 1")]:
        ok, hint = _run("06.ppv_at_prevalence", wrong, **context)
        assert not ok and words in hint, (wrong, hint)
        _no_number_in(hint, expected)


@pytest.fixture(scope="module")
def scores():
    rng = np.random.default_rng(3)

    def split(n):
        y = (rng.random(n) < 0.6).astype(int)
        return y, 1 / (1 + np.exp(-(2.0 * (y - 0.5) + rng.normal(0, 1, n))))

    y_val, s_val = split(300)
    y_test, s_test = split(400)
    return dict(y_val=y_val, score_val=s_val, y_test=y_test, score_test=s_test, target=0.9)


def test_rule_out_threshold_right_and_typical_mistakes(scores):
    threshold = choose_threshold(scores["y_val"], scores["score_val"], ("sensitivity", 0.9))
    right = at_threshold(scores["y_test"], scores["score_test"], threshold)
    assert _run("06.rule_out_threshold", right.specificity, **scores) == (True, "")
    on_val = at_threshold(scores["y_val"], scores["score_val"], threshold).specificity
    on_test = choose_threshold(scores["y_test"], scores["score_test"], ("sensitivity", 0.9))
    cheat = at_threshold(scores["y_test"], scores["score_test"], on_test).specificity
    at_half = at_threshold(scores["y_test"], scores["score_test"], 0.5).specificity
    lower = at_threshold(scores["y_test"], scores["score_test"], threshold - 0.1).specificity
    cases = [(right.sensitivity, "test sensitivity"), (on_val, "validation films"),
             (cheat, "on the test films"), (at_half, "default threshold 0.5"), (lower, "higher threshold")]
    assert len({round(v, 3) for v, _ in cases} | {round(right.specificity, 3)}) == 6, "distinct cases"
    for wrong, words in cases:
        ok, hint = _run("06.rule_out_threshold", wrong, **scores)
        assert not ok and words in hint, (wrong, hint)
        _no_number_in(hint, right.specificity)


def test_check_prints_and_strict_mode_raises(monkeypatch, capsys):
    assert check("06.npv", 180 / 203, confusion=CONFUSION)
    assert "correct" in capsys.readouterr().out
    monkeypatch.setenv("RADLAB_STRICT", "1")
    with pytest.raises(AssertionError, match="Hint"):
        check("06.npv", 0.1, confusion=CONFUSION)
