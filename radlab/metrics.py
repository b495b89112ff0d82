"""Metrics radiologists use, on top of scikit-learn: AUC, sensitivity, specificity, top-k error.

Pure NumPy/scikit-learn; no Keras, no widgets. Every function validates its
inputs and says what is wrong (shape mismatch, one class only, NaNs) instead of
returning a silently meaningless number.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["BinaryReport", "binary_report", "top_k_error", "validate_binary"]


def validate_binary(y_true, y_score) -> tuple[np.ndarray, np.ndarray]:
    """Check labels and scores for a binary task and return them as flat arrays.

    Raises
    ------
    ValueError
        When shapes differ, labels are not 0/1, scores contain NaN/inf, or only
        one class is present (AUC and sensitivity/specificity are undefined then).
    """
    y_true = np.asarray(y_true)
    y_score = np.asarray(y_score, dtype=np.float64)
    if y_true.ndim == 2 and y_true.shape[1] == 1:
        y_true = y_true[:, 0]
    if y_score.ndim == 2 and y_score.shape[1] == 1:
        y_score = y_score[:, 0]
    if y_true.shape != y_score.shape or y_true.ndim != 1:
        raise ValueError(
            f"labels have shape {y_true.shape} but scores have shape {y_score.shape}: "
            "pass one score per case, e.g. model.predict(x)[:, 0]"
        )
    if not np.all(np.isfinite(y_score)):
        bad = int(np.sum(~np.isfinite(y_score)))
        raise ValueError(
            f"{bad} of {y_score.size} predictions are NaN or infinite: training diverged "
            "(lower the learning rate) or the input contains NaNs"
        )
    labels = np.unique(y_true)
    if not np.isin(labels, [0, 1]).all():
        raise ValueError(f"binary labels must be 0 or 1, got values {labels[:10].tolist()}")
    if labels.size < 2:
        raise ValueError(
            f"only one class ({int(labels[0])}) is present in these {y_true.size} cases: AUC, "
            "sensitivity and specificity need both positives and negatives. Use a stratified split."
        )
    return y_true.astype(int), y_score


@dataclass(frozen=True)
class BinaryReport:
    """Binary classification metrics at one threshold. Fractions in 0..1."""

    auc: float
    threshold: float
    accuracy: float
    sensitivity: float
    specificity: float
    ppv: float
    npv: float
    tp: int
    fp: int
    tn: int
    fn: int

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return (
            f"AUC {self.auc:.3f} | at threshold {self.threshold:.2f}: accuracy {self.accuracy:.3f}, "
            f"sensitivity {self.sensitivity:.3f}, specificity {self.specificity:.3f}, "
            f"PPV {self.ppv:.3f}, NPV {self.npv:.3f} (TP {self.tp}, FP {self.fp}, TN {self.tn}, FN {self.fn})"
        )


def _ratio(a: int, b: int) -> float:
    return a / b if b else float("nan")


def binary_report(y_true, y_score, threshold: float = 0.5) -> BinaryReport:
    """AUC (scikit-learn) plus the confusion-matrix metrics at ``threshold``.

    Parameters
    ----------
    y_true : array_like of 0/1, shape (n,)
        Reference labels (1 = finding present).
    y_score : array_like of float, shape (n,)
        Predicted probabilities or scores; a case is called positive when ``score >= threshold``.
    threshold : float, default 0.5

    Returns
    -------
    BinaryReport
        ``auc``, ``accuracy``, ``sensitivity`` (recall, true-positive rate),
        ``specificity`` (true-negative rate), ``ppv`` (precision), ``npv`` and the counts.
        PPV/NPV are at the prevalence of *this* sample.
    """
    from sklearn.metrics import confusion_matrix, roc_auc_score

    y_true, y_score = validate_binary(y_true, y_score)
    y_pred = (y_score >= threshold).astype(int)
    tn, fp, fn, tp = (int(v) for v in confusion_matrix(y_true, y_pred, labels=[0, 1]).ravel())
    return BinaryReport(
        auc=float(roc_auc_score(y_true, y_score)),
        threshold=float(threshold),
        accuracy=(tp + tn) / y_true.size,
        sensitivity=_ratio(tp, tp + fn),
        specificity=_ratio(tn, tn + fp),
        ppv=_ratio(tp, tp + fp),
        npv=_ratio(tn, tn + fn),
        tp=tp, fp=fp, tn=tn, fn=fn,
    )


def top_k_error(y_true, probabilities, k: int = 5) -> float:
    """Fraction of cases whose true class is not among the ``k`` most probable (ImageNet's top-5 error).

    Parameters
    ----------
    y_true : array_like of int, shape (n,)
        True class indices.
    probabilities : array_like, shape (n, n_classes)
        Predicted class probabilities (or any scores).
    k : int, default 5

    Returns
    -------
    float
        Between 0 and 1.
    """
    from sklearn.metrics import top_k_accuracy_score

    probabilities = np.asarray(probabilities)
    y_true = np.asarray(y_true).ravel()
    if probabilities.ndim != 2 or probabilities.shape[0] != y_true.size:
        raise ValueError(
            f"probabilities must be (n_cases, n_classes) with n_cases = {y_true.size}, "
            f"got {probabilities.shape}"
        )
    if not 1 <= k <= probabilities.shape[1]:
        raise ValueError(f"k must be between 1 and the number of classes ({probabilities.shape[1]}), got {k}")
    labels = np.arange(probabilities.shape[1])
    return 1.0 - float(top_k_accuracy_score(y_true, probabilities, k=k, labels=labels))
