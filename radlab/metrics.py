"""Metrics radiologists use, on top of scikit-learn: AUC, sensitivity, specificity, top-k error.

Pure NumPy/scikit-learn; no Keras, no widgets. Every function validates its
inputs and says what is wrong (shape mismatch, one class only, NaNs) instead of
returning a silently meaningless number.

* :func:`binary_report` - AUC plus the confusion-matrix metrics at one threshold.
* :func:`roc_points`, :func:`at_threshold`, :func:`predictive_values` - the ROC
  curve, one operating point, and PPV/NPV at any prevalence (Bayes' rule).
* :func:`choose_threshold` - pick the threshold on the *validation* split.
* :func:`bootstrap_ci` - percentile bootstrap confidence interval of any metric.
* :func:`calibration` - reliability curve and expected calibration error.
* :func:`multilabel_auc` - one AUC per finding (ChestMNIST's 14 labels).
* :func:`plot_roc`, :func:`plot_reliability`, :func:`plot_confusion_matrix` -
  figures (matplotlib is imported inside them; ``ax=None`` makes a new figure).

Convention everywhere: a case is called positive when ``score >= threshold``
(scikit-learn's ``roc_curve`` uses the same rule).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

__all__ = [
    "BinaryReport",
    "Calibration",
    "MultilabelAUC",
    "OperatingPoint",
    "ROCPoints",
    "at_threshold",
    "binary_report",
    "bootstrap_ci",
    "calibration",
    "check_finite_scores",
    "choose_threshold",
    "multilabel_auc",
    "plot_confusion_matrix",
    "plot_reliability",
    "plot_roc",
    "predictive_values",
    "roc_points",
    "top_k_error",
    "validate_binary",
]


def check_finite_scores(y_score) -> None:
    """Raise a ValueError that says what to do when predictions contain NaN or infinity."""
    y_score = np.asarray(y_score, dtype=np.float64)
    if not np.all(np.isfinite(y_score)):
        bad = int(np.sum(~np.isfinite(y_score)))
        raise ValueError(
            f"{bad} of {y_score.size} predictions are NaN or infinite: training diverged "
            "(lower the learning rate) or the input contains NaNs"
        )


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
    check_finite_scores(y_score)
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


# ---------------------------------------------------------------------------
# ROC curve, operating points, predictive values
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ROCPoints:
    """An empirical ROC curve (from :func:`sklearn.metrics.roc_curve`).

    Attributes
    ----------
    fpr, tpr : ndarray
        False-positive rate (1 - specificity) and true-positive rate (sensitivity)
        at each threshold, both increasing from 0 to 1.
    thresholds : ndarray
        Decreasing; point ``i`` calls a case positive when ``score >= thresholds[i]``.
        The first is ``inf`` (nothing called positive: the point (0, 0)).
    auc : float
        Area under the curve.
    """

    fpr: np.ndarray = field(repr=False)
    tpr: np.ndarray = field(repr=False)
    thresholds: np.ndarray = field(repr=False)
    auc: float

    def __iter__(self):  # fpr, tpr, thresholds = roc_points(...) like scikit-learn
        return iter((self.fpr, self.tpr, self.thresholds))


def roc_points(y_true, y_score, *, drop_intermediate: bool = True) -> ROCPoints:
    """The ROC curve: sensitivity against 1 - specificity at every threshold.

    Parameters
    ----------
    y_true : array_like of 0/1, shape (n,)
    y_score : array_like of float, shape (n,)
        Probabilities or any scores, higher = more likely positive.
    drop_intermediate : bool, default True
        Drop thresholds that do not change the shape of the curve (scikit-learn's
        option); False keeps one point per distinct score.

    Returns
    -------
    ROCPoints
        ``fpr``, ``tpr``, ``thresholds`` and ``auc``; unpacks as
        ``fpr, tpr, thresholds = roc_points(y, score)``.
    """
    from sklearn.metrics import auc, roc_curve

    y_true, y_score = validate_binary(y_true, y_score)
    fpr, tpr, thresholds = roc_curve(y_true, y_score, drop_intermediate=drop_intermediate)
    return ROCPoints(fpr=fpr, tpr=tpr, thresholds=thresholds, auc=float(auc(fpr, tpr)))


def _check_prevalence(prevalence, name: str = "prevalence") -> np.ndarray:
    p = np.asarray(prevalence, dtype=np.float64)
    if not np.all((p > 0) & (p < 1)):
        raise ValueError(
            f"{name} must be a fraction strictly between 0 and 1 (e.g. 0.05 for 5 %), got {prevalence!r}"
        )
    return p


def predictive_values(sensitivity, specificity, prevalence):
    """PPV and NPV of a test at a given prevalence (Bayes' rule).

    ``PPV = sens * p / (sens * p + (1 - spec) * (1 - p))`` and
    ``NPV = spec * (1 - p) / (spec * (1 - p) + (1 - sens) * p)``.

    Parameters
    ----------
    sensitivity, specificity : float or array_like
        Fractions in 0..1.
    prevalence : float or array_like
        Fraction of the population with the finding, strictly between 0 and 1.

    Returns
    -------
    (ppv, npv) : floats (or arrays, broadcast)
        NaN where undefined (e.g. PPV when nothing is called positive).
    """
    sens = np.asarray(sensitivity, dtype=np.float64)
    spec = np.asarray(specificity, dtype=np.float64)
    for name, v in (("sensitivity", sens), ("specificity", spec)):
        if np.any((v < 0) | (v > 1)):
            raise ValueError(f"{name} must be a fraction in 0..1, got {v}")
    p = _check_prevalence(prevalence)
    with np.errstate(invalid="ignore", divide="ignore"):
        ppv = sens * p / (sens * p + (1 - spec) * (1 - p))
        npv = spec * (1 - p) / (spec * (1 - p) + (1 - sens) * p)
    if ppv.ndim == 0:
        return float(ppv), float(npv)
    return ppv, npv


@dataclass(frozen=True)
class OperatingPoint:
    """A classifier used at one threshold. Fractions in 0..1.

    ``ppv``/``npv`` are at the prevalence of the sample (``sample_prevalence``);
    ``ppv_at``/``npv_at`` at ``prevalence`` (Bayes' rule), which is the sample's
    own unless another was stated - e.g. a screening population.
    """

    threshold: float
    sensitivity: float
    specificity: float
    ppv: float
    npv: float
    sample_prevalence: float
    prevalence: float
    ppv_at: float
    npv_at: float
    tp: int
    fp: int
    tn: int
    fn: int

    @property
    def confusion(self) -> np.ndarray:
        """``[[TN, FP], [FN, TP]]`` (rows: truth 0/1, columns: called 0/1), as scikit-learn."""
        return np.array([[self.tn, self.fp], [self.fn, self.tp]])

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        text = (f"threshold {self.threshold:.3g}: sensitivity {self.sensitivity:.3f}, "
                f"specificity {self.specificity:.3f}, PPV {self.ppv:.3f}, NPV {self.npv:.3f} "
                f"at the sample's prevalence {self.sample_prevalence:.1%}")
        if self.prevalence != self.sample_prevalence:
            text += (f"; at prevalence {self.prevalence:.2%}: PPV {self.ppv_at:.3f}, "
                     f"NPV {self.npv_at:.3f}")
        return text


def at_threshold(y_true, y_score, threshold: float, prevalence: float | None = None) -> OperatingPoint:
    """Sensitivity, specificity, PPV and NPV at one threshold, also at a stated prevalence.

    Sensitivity and specificity do not depend on how common the finding is; PPV
    and NPV do. A test with 90 % sensitivity and specificity has a PPV of 50 % at
    10 % prevalence but only 8 % at 1 %.

    Parameters
    ----------
    y_true : array_like of 0/1, shape (n,)
    y_score : array_like of float, shape (n,)
    threshold : float
        A case is called positive when ``score >= threshold``.
    prevalence : float, optional
        Prevalence of the population the test will be used in, strictly between
        0 and 1 (0.01 = 1 %). Default: the sample's own.

    Returns
    -------
    OperatingPoint
        ``sensitivity``, ``specificity``, ``ppv``, ``npv`` (sample prevalence),
        ``ppv_at``, ``npv_at`` (at ``prevalence``), the counts and ``confusion``.
    """
    y_true, y_score = validate_binary(y_true, y_score)
    threshold = float(threshold)
    if np.isnan(threshold):
        raise ValueError("threshold is NaN; pass a number, e.g. one from choose_threshold(...)")
    called = y_score >= threshold
    positive = y_true == 1
    tp = int(np.sum(called & positive))
    fp = int(np.sum(called & ~positive))
    fn = int(np.sum(~called & positive))
    tn = int(np.sum(~called & ~positive))
    sens, spec = _ratio(tp, tp + fn), _ratio(tn, tn + fp)
    sample_p = (tp + fn) / y_true.size
    p = sample_p if prevalence is None else float(_check_prevalence(prevalence))
    ppv_at, npv_at = predictive_values(sens, spec, p)
    if prevalence is None:  # the counts themselves, exactly
        ppv_at, npv_at = _ratio(tp, tp + fp), _ratio(tn, tn + fn)
    return OperatingPoint(
        threshold=threshold, sensitivity=sens, specificity=spec, ppv=_ratio(tp, tp + fp),
        npv=_ratio(tn, tn + fn), sample_prevalence=sample_p, prevalence=p, ppv_at=ppv_at,
        npv_at=npv_at, tp=tp, fp=fp, tn=tn, fn=fn,
    )


def choose_threshold(y_val, score_val, rule: str | tuple[str, float] = "youden") -> float:
    """Pick a threshold on validation data (never on the test split).

    Parameters
    ----------
    y_val : array_like of 0/1, shape (n,)
    score_val : array_like of float, shape (n,)
    rule : str or (str, float), default "youden"
        * ``"youden"`` - maximise sensitivity + specificity - 1 (Youden's J).
        * ``"accuracy"`` - maximise accuracy on this split.
        * ``("sensitivity", 0.9)`` - the highest threshold (best specificity)
          that still reaches 90 % sensitivity: a rule-out / screening test.
        * ``("specificity", 0.9)`` - the lowest threshold (best sensitivity)
          with at least 90 % specificity: a rule-in test.

    Returns
    -------
    float
        Call a case positive when ``score >= threshold``. Always one of the
        scores, so it is finite.
    """
    roc = roc_points(y_val, score_val, drop_intermediate=False)
    y, _ = validate_binary(y_val, score_val)
    # Drop the first point (threshold inf: nothing positive).
    fpr, tpr, thresholds = roc.fpr[1:], roc.tpr[1:], roc.thresholds[1:]
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if isinstance(rule, str):
        if rule == "youden":
            return float(thresholds[np.argmax(tpr - fpr)])
        if rule == "accuracy":
            correct = tpr * n_pos + (1 - fpr) * n_neg
            return float(thresholds[np.argmax(correct)])
    elif isinstance(rule, (tuple, list)) and len(rule) == 2 and rule[0] in ("sensitivity", "specificity"):
        name, target = rule[0], float(rule[1])
        if not 0 < target <= 1:
            raise ValueError(f"the target {name} must be a fraction in (0, 1], e.g. 0.9; got {rule[1]!r}")
        if name == "sensitivity":
            # tpr increases along the curve: the first point that reaches the target.
            return float(thresholds[np.argmax(tpr >= target - 1e-12)])
        ok = np.flatnonzero(1 - fpr >= target - 1e-12)
        if ok.size == 0:
            raise ValueError(
                f"no threshold reaches specificity {target:g} on these {y.size} cases "
                "(ties at the highest score?); lower the target"
            )
        return float(thresholds[ok[-1]])
    raise ValueError(
        f"rule must be 'youden', 'accuracy', ('sensitivity', target) or ('specificity', target); "
        f"got {rule!r}"
    )


# ---------------------------------------------------------------------------
# bootstrap confidence intervals
# ---------------------------------------------------------------------------
def _auc_rows(y_rows: np.ndarray, s_rows: np.ndarray) -> np.ndarray:
    """AUC of each row (Mann-Whitney U with mid-ranks for ties); NaN for one-class rows."""
    from scipy.stats import rankdata

    ranks = rankdata(s_rows, axis=1)
    n_pos = y_rows.sum(axis=1)
    n_neg = y_rows.shape[1] - n_pos
    with np.errstate(invalid="ignore", divide="ignore"):
        u = (ranks * y_rows).sum(axis=1) - n_pos * (n_pos + 1) / 2
        return u / (n_pos * n_neg)


def bootstrap_ci(
    y_true,
    y_score,
    metric: str | Callable[[np.ndarray, np.ndarray], float] = "auc",
    *,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int | None = 0,
    stratified: bool = True,
) -> tuple[float, float, float]:
    """A percentile bootstrap confidence interval for a metric on one test set.

    The cases are resampled with replacement ``n_boot`` times; the metric of each
    resample gives its sampling distribution. Small test sets give wide
    intervals: that is the lesson.

    Parameters
    ----------
    y_true : array_like of 0/1, shape (n,)
    y_score : array_like of float, shape (n,)
    metric : "auc" or callable, default "auc"
        ``"auc"`` is computed for all resamples at once (rank formula, same
        value as scikit-learn's ``roc_auc_score``). A callable gets
        ``(y_true, y_score)`` of one resample and returns a float, e.g.
        ``lambda y, s: at_threshold(y, s, 0.5).sensitivity``.
    n_boot : int, default 1000
        Number of resamples.
    alpha : float, default 0.05
        1 - confidence level (0.05 -> a 95 % interval).
    seed : int or None, default 0
        Seed of the resampling; the same seed gives the same interval.
    stratified : bool, default True
        Resample positives and negatives separately, keeping their counts (every
        resample then has both classes). False resamples all cases together and
        skips resamples with one class only.

    Returns
    -------
    (estimate, low, high) : tuple of float
        The metric on the full sample and the interval's bounds.
    """
    from sklearn.metrics import roc_auc_score

    y, s = validate_binary(y_true, y_score)
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 10:
        raise ValueError(f"n_boot must be an integer >= 10 (1000 is usual), got {n_boot!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1 (0.05 for a 95 % interval), got {alpha!r}")
    if isinstance(metric, str):
        if metric != "auc":
            raise ValueError(f"metric must be 'auc' or a function f(y_true, y_score) -> float, got {metric!r}")
        function = None
        estimate = float(roc_auc_score(y, s))
    elif callable(metric):
        function = metric
        estimate = float(function(y, s))
    else:
        raise TypeError(f"metric must be 'auc' or a function f(y_true, y_score) -> float, got {metric!r}")

    rng = np.random.default_rng(seed)
    n = y.size
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    values = np.empty(int(n_boot))
    # Resample in chunks so that (rows x n) index arrays stay ~16 MB for big test sets.
    rows_per_chunk = max(1, 2_000_000 // n)
    for start in range(0, n_boot, rows_per_chunk):
        rows = min(rows_per_chunk, n_boot - start)
        if stratified:
            index = np.concatenate([
                pos[rng.integers(0, pos.size, (rows, pos.size))],
                neg[rng.integers(0, neg.size, (rows, neg.size))],
            ], axis=1)
        else:
            index = rng.integers(0, n, (rows, n))
        y_rows, s_rows = y[index], s[index]
        if function is None:
            values[start:start + rows] = _auc_rows(y_rows, s_rows)
        else:
            for r in range(rows):
                one_class = y_rows[r].min() == y_rows[r].max()
                values[start + r] = np.nan if one_class else float(function(y_rows[r], s_rows[r]))
    valid = values[np.isfinite(values)]
    if valid.size < max(10, n_boot // 2):
        raise ValueError(
            f"only {valid.size} of {n_boot} resamples gave a finite metric; the test set is too "
            "small or has too few cases of one class. Use stratified=True or more cases."
        )
    low, high = np.percentile(valid, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return estimate, float(low), float(high)


# ---------------------------------------------------------------------------
# calibration
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Calibration:
    """A reliability curve: observed frequency of the finding against predicted probability.

    Attributes
    ----------
    prob_pred : ndarray
        Mean predicted probability in each non-empty bin.
    prob_true : ndarray
        Fraction of positives in that bin.
    counts : ndarray of int
        Cases in that bin.
    bin_edges : ndarray
        The ``n_bins + 1`` edges (empty bins are left out of the three arrays above).
    ece : float
        Expected calibration error: ``sum(counts / n * |prob_true - prob_pred|)``,
        0 for a perfectly calibrated model.
    """

    prob_pred: np.ndarray = field(repr=False)
    prob_true: np.ndarray = field(repr=False)
    counts: np.ndarray = field(repr=False)
    bin_edges: np.ndarray = field(repr=False)
    ece: float


def calibration(y_true, prob, n_bins: int = 10, *, strategy: str = "uniform") -> Calibration:
    """Reliability curve (:func:`sklearn.calibration.calibration_curve`) and calibration error.

    Parameters
    ----------
    y_true : array_like of 0/1, shape (n,)
    prob : array_like of float in [0, 1], shape (n,)
        Predicted probabilities (a sigmoid output), not arbitrary scores.
    n_bins : int, default 10
    strategy : {"uniform", "quantile"}, default "uniform"
        Equal-width bins, or bins holding equal numbers of cases.

    Returns
    -------
    Calibration
        ``prob_pred``, ``prob_true``, ``counts``, ``bin_edges`` and ``ece``.
    """
    from sklearn.calibration import calibration_curve

    y, p = validate_binary(y_true, prob)
    if p.min() < 0 or p.max() > 1:
        raise ValueError(
            f"prob must be probabilities in [0, 1], got values from {p.min():.3g} to {p.max():.3g}; "
            "apply a sigmoid to logits first"
        )
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 2:
        raise ValueError(f"n_bins must be an integer >= 2, got {n_bins!r}")
    if strategy not in ("uniform", "quantile"):
        raise ValueError(f"strategy must be 'uniform' or 'quantile', got {strategy!r}")
    prob_true, prob_pred = calibration_curve(y, p, n_bins=n_bins, strategy=strategy)
    # The same bins as scikit-learn, to count the cases in each.
    if strategy == "quantile":
        edges = np.percentile(p, np.linspace(0, 100, n_bins + 1))
    else:
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    ids = np.searchsorted(edges[1:-1], p)
    counts = np.bincount(ids, minlength=len(edges))
    counts = counts[counts > 0]
    if counts.size != prob_true.size:  # pragma: no cover - scikit-learn changed its binning
        raise RuntimeError("bin counts do not match scikit-learn's calibration_curve")
    ece = float(np.sum(counts / y.size * np.abs(prob_true - prob_pred)))
    return Calibration(prob_pred=prob_pred, prob_true=prob_true, counts=counts, bin_edges=edges, ece=ece)


# ---------------------------------------------------------------------------
# multi-label
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class MultilabelAUC:
    """One AUC per finding of a multi-label task.

    Attributes
    ----------
    per_finding : dict
        Finding name -> AUC, for findings with both classes in the split.
    skipped : dict
        Finding name -> why it has no AUC (only one class present).
    mean : float
        Macro average over ``per_finding`` (NaN if none).
    """

    per_finding: dict
    skipped: dict
    mean: float

    def __str__(self) -> str:
        width = max((len(n) for n in [*self.per_finding, *self.skipped]), default=8)
        lines = [f"{name:<{width}}  AUC {auc:.3f}" for name, auc in self.per_finding.items()]
        lines.append(f"{'mean':<{width}}  AUC {self.mean:.3f} over {len(self.per_finding)} findings")
        for name, why in self.skipped.items():
            lines.append(f"{name:<{width}}  skipped: {why}")
        return "\n".join(lines)


def multilabel_auc(y_true, y_score, names: Sequence[str] | None = None) -> MultilabelAUC:
    """AUC for each finding of a multi-label task (e.g. ChestMNIST's 14 findings).

    A finding with only positives or only negatives in this split has no AUC; it
    is skipped and listed in ``skipped`` with the reason, instead of failing the
    whole table (rare findings such as hernia often have few positives).

    Parameters
    ----------
    y_true : array_like of 0/1, shape (n, k)
    y_score : array_like of float, shape (n, k)
        One column per finding (independent sigmoid outputs).
    names : sequence of str, optional
        Name of each column, default ``"finding 0"``, ``"finding 1"``...

    Returns
    -------
    MultilabelAUC
        ``per_finding``, ``skipped`` and the macro ``mean``; ``print`` it for a table.
    """
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y_true)
    s = np.asarray(y_score, dtype=np.float64)
    if y.ndim != 2 or y.shape != s.shape:
        raise ValueError(
            f"labels have shape {y.shape} but scores have shape {s.shape}: both must be "
            "(n_cases, n_findings), one column per finding"
        )
    k = y.shape[1]
    names = [f"finding {j}" for j in range(k)] if names is None else [str(n) for n in names]
    if len(names) != k:
        raise ValueError(f"{len(names)} names for {k} findings (columns); give one name per column")
    per_finding, skipped = {}, {}
    for j, name in enumerate(names):
        col = y[:, j]
        classes = np.unique(col)
        if classes.size == 2 and np.isin(classes, [0, 1]).all():
            yj, sj = validate_binary(col, s[:, j])
            per_finding[name] = float(roc_auc_score(yj, sj))
        elif classes.size == 1 and classes[0] in (0, 1):
            skipped[name] = (f"all {col.size} cases are {'positive' if classes[0] == 1 else 'negative'}"
                             " in this split, so AUC is undefined")
        else:
            validate_binary(col, s[:, j])  # raises the right error (labels not 0/1)
    mean = float(np.mean(list(per_finding.values()))) if per_finding else float("nan")
    return MultilabelAUC(per_finding=per_finding, skipped=skipped, mean=mean)


# ---------------------------------------------------------------------------
# figures
# ---------------------------------------------------------------------------
def _figure_and_axes(ax, figsize):
    if ax is not None:
        return ax.figure, ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def _unit_square(ax, xlabel: str, ylabel: str, title: str, diagonal_label: str) -> None:
    """Axes from 0 to 1 on both sides, square, with the dotted diagonal."""
    ax.plot([0, 1], [0, 1], ls=":", color="0.5", lw=1, label=diagonal_label)
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_aspect("equal")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)


def plot_roc(
    y_true,
    y_score,
    *,
    ci: bool = True,
    n_boot: int = 1000,
    threshold: float | None = None,
    label: str | None = None,
    ax: Any = None,
):
    """ROC curve with its AUC and a bootstrap 95 % confidence interval.

    Parameters
    ----------
    y_true : array_like of 0/1, shape (n,)
    y_score : array_like of float, shape (n,)
    ci : bool, default True
        Add the 95 % bootstrap interval of the AUC to the legend.
    n_boot : int, default 1000
    threshold : float, optional
        Mark the operating point at this threshold.
    label : str, optional
        Legend text before the AUC, e.g. the model's name.
    ax : matplotlib Axes, optional
        Draw here; default a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    roc = roc_points(y_true, y_score)
    fig, ax = _figure_and_axes(ax, (4.6, 4.4))
    text = f"AUC {roc.auc:.3f}"
    if ci:
        _, low, high = bootstrap_ci(y_true, y_score, "auc", n_boot=n_boot)
        text += f" (95 % CI {low:.3f}-{high:.3f})"
    if label:
        text = f"{label}: {text}"
    ax.plot(roc.fpr, roc.tpr, lw=2, label=text)
    _unit_square(ax, "1 - specificity (false-positive rate)", "sensitivity (true-positive rate)",
                 "ROC curve", "chance")
    if threshold is not None:
        point = at_threshold(y_true, y_score, threshold)
        ax.plot([1 - point.specificity], [point.sensitivity], "o", color="k", ms=7,
                label=f"threshold {threshold:.3g}")
    ax.legend(loc="lower right", fontsize=8)
    return fig


def plot_reliability(y_true, prob, n_bins: int = 10, *, strategy: str = "uniform", ax: Any = None):
    """Reliability diagram: observed frequency against predicted probability, with the ECE.

    Points on the diagonal are well calibrated; below it the model is
    over-confident. Marker area is proportional to the cases in each bin.

    Parameters
    ----------
    y_true : array_like of 0/1, shape (n,)
    prob : array_like of float in [0, 1], shape (n,)
    n_bins : int, default 10
    strategy : {"uniform", "quantile"}, default "uniform"
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    cal = calibration(y_true, prob, n_bins, strategy=strategy)
    fig, ax = _figure_and_axes(ax, (4.6, 4.4))
    _unit_square(ax, "predicted probability", "observed fraction positive", "Reliability diagram",
                 "perfect calibration")
    ax.plot(cal.prob_pred, cal.prob_true, "-", lw=1.5, label=f"model (ECE {cal.ece:.3f})")
    ax.scatter(cal.prob_pred, cal.prob_true, s=20 + 200 * cal.counts / cal.counts.max(), zorder=3)
    ax.legend(loc="upper left", fontsize=8)
    return fig


def plot_confusion_matrix(
    y_true,
    y_score,
    threshold: float = 0.5,
    *,
    class_names: Sequence[str] = ("normal", "finding"),
    ax: Any = None,
):
    """The 2 x 2 confusion matrix at a threshold, with counts and row percentages.

    Parameters
    ----------
    y_true : array_like of 0/1, shape (n,)
    y_score : array_like of float, shape (n,)
        Scores (or 0/1 predictions with ``threshold=0.5``).
    threshold : float, default 0.5
    class_names : (str, str), default ("normal", "finding")
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    point = at_threshold(y_true, y_score, threshold)
    if len(class_names) != 2:
        raise ValueError(f"class_names needs two names (negative, positive), got {class_names!r}")
    matrix = point.confusion
    fig, ax = _figure_and_axes(ax, (3.8, 3.4))
    rows = matrix.sum(axis=1, keepdims=True)
    ax.imshow(matrix / rows, cmap="Blues", vmin=0, vmax=1)
    for i in range(2):
        for j in range(2):
            share = matrix[i, j] / rows[i, 0]
            ax.text(j, i, f"{matrix[i, j]}\n{share:.0%}", ha="center", va="center",
                    color="white" if share > 0.5 else "black", fontsize=11)
    ax.set_xticks([0, 1], [f"called {class_names[0]}", f"called {class_names[1]}"])
    ax.set_yticks([0, 1], [f"truly {class_names[0]}", f"truly {class_names[1]}"])
    ax.set_title(f"Threshold {threshold:.3g}: sens {point.sensitivity:.2f}, spec {point.specificity:.2f}",
                 fontsize=9)
    return fig
