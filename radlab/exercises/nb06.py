"""Exercises of notebook 06 (disease classification): NPV from a confusion matrix, PPV at a
stated prevalence, and a rule-out threshold chosen on validation."""

from __future__ import annotations

import numpy as np

from ..metrics import at_threshold, choose_threshold, predictive_values
from . import exercise

_TOLERANCE = 0.005


def _fraction(answer) -> float | None:
    value = float(np.asarray(answer, dtype=np.float64).reshape(()))
    return value if np.isfinite(value) else None


def _close(a: float, b: float) -> bool:
    return bool(np.isfinite(b) and abs(a - b) <= _TOLERANCE)


@exercise("06.npv", "NPV from a confusion matrix")
def npv_from_confusion(answer, *, confusion):
    (tn, fp), (fn, tp) = np.asarray(confusion, dtype=np.int64)
    value = _fraction(answer)
    if value is None:
        return False, "give the NPV as a number"
    if value > 1:
        return False, "give a fraction between 0 and 1 (0.9, not 90)"
    expected = tn / (tn + fn)
    if _close(value, expected):
        return True, ""
    wrong = {
        "that is the PPV: of the films called positive, how many truly are. NPV is about the films "
        "called negative": tp / (tp + fp),
        "that is the specificity (of the truly normal films, how many were called normal); NPV "
        "reads the 'called normal' column instead": tn / (tn + fp),
        "that is the sensitivity; NPV is about the films the model called normal": tp / (tp + fn),
        "that is the accuracy; NPV looks only at the films called normal": (tn + tp) / (tn + fp + fn + tp),
        "that is 1 - NPV: the share of missed findings among the films called normal": fn / (tn + fn),
    }
    for hint, number in wrong.items():
        if (tn + fp + fn + tp) and _close(value, number):
            return False, hint
    return False, ("NPV = of all films called normal (the 'called normal' column), the share "
                   "that truly are normal; the matrix is [[TN, FP], [FN, TP]]")


@exercise("06.ppv_at_prevalence", "PPV at another prevalence (Bayes' rule)")
def ppv_at_prevalence(answer, *, sensitivity, specificity, prevalence, sample_prevalence=None):
    value = _fraction(answer)
    if value is None:
        return False, "give the PPV as a number"
    if not 0 <= value <= 1:
        return False, "give a fraction between 0 and 1 (0.3, not 30)"
    expected, npv = predictive_values(sensitivity, specificity, prevalence)
    if _close(value, expected):
        return True, ""
    if _close(value, sensitivity):
        return False, ("that is the sensitivity, P(called positive | disease); PPV turns it round: "
                       "P(disease | called positive)")
    if _close(value, npv):
        return False, "that is the NPV; PPV is about the films called positive"
    if sample_prevalence is not None and _close(value, predictive_values(sensitivity, specificity,
                                                                         sample_prevalence)[0]):
        return False, ("that is the PPV at the test set's own prevalence; use the prevalence of the "
                       "population the model would be used in")
    if _close(value, sensitivity * prevalence):
        return False, ("sensitivity x prevalence is only the true positives; divide by all positives "
                       "(true positives + false positives)")
    return False, ("per 1,000 patients: how many have the finding (prevalence), how many of them are "
                   "called positive (sensitivity), how many of the others are falsely called positive "
                   "(1 - specificity); PPV = true positives / all positives")


@exercise("06.rule_out_threshold", "A rule-out threshold, chosen on validation")
def rule_out_threshold(answer, *, y_val, score_val, y_test, score_test, target=0.9):
    value = _fraction(answer)
    if value is None:
        return False, "give the test specificity as a number"
    threshold = choose_threshold(y_val, score_val, ("sensitivity", target))
    expected = at_threshold(y_test, score_test, threshold)
    if _close(value, expected.specificity):
        return True, ""
    if _close(value, expected.sensitivity):
        return False, "that is the test sensitivity; the question asks for its specificity"
    if _close(value, at_threshold(y_val, score_val, threshold).specificity):
        return False, "that is on the validation films; apply the threshold to the test films"
    on_test = choose_threshold(y_test, score_test, ("sensitivity", target))
    if _close(value, at_threshold(y_test, score_test, on_test).specificity):
        return False, ("you chose the threshold on the test films: choose it on validation, then "
                       "measure on test (otherwise the test result is optimistic)")
    if _close(value, at_threshold(y_test, score_test, 0.5).specificity):
        return False, "that is at the default threshold 0.5; choose one for the sensitivity target first"
    if value < expected.specificity:
        return False, ("a higher threshold still reaches the sensitivity target on validation and "
                       "gives better specificity: take the highest such threshold")
    return False, (f"choose the highest threshold with validation sensitivity >= {target:g} "
                   "(rl.metrics.choose_threshold can do it), then compute the specificity on the test films")
