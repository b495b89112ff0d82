"""ROC points, operating points at a prevalence, thresholds, bootstrap CIs, calibration,
multi-label AUC and the metric figures: hand-checkable cases and bad inputs."""

from __future__ import annotations

import matplotlib

matplotlib.use("agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

from radlab import metrics as m  # noqa: E402

# 4 negatives, 4 positives; at 0.5: TP 3, FP 1, TN 3, FN 1; AUC 15/16.
Y = [0, 0, 0, 1, 1, 1, 1, 0]
S = [0.1, 0.6, 0.2, 0.9, 0.8, 0.4, 0.7, 0.3]


def test_roc_points_match_the_counts():
    roc = m.roc_points(Y, S, drop_intermediate=False)
    assert roc.auc == pytest.approx(15 / 16)
    assert roc.thresholds[0] == np.inf and (roc.fpr[0], roc.tpr[0]) == (0, 0)
    assert (roc.fpr[-1], roc.tpr[-1]) == (1, 1)
    i = int(np.flatnonzero(roc.thresholds == 0.6)[0])  # 0.9, 0.8, 0.7, 0.6 called positive
    assert (roc.tpr[i], roc.fpr[i]) == (0.75, 0.25)
    fpr, tpr, thresholds = roc  # unpacks like scikit-learn
    assert fpr is roc.fpr


def test_at_threshold_counts_and_bayes_at_another_prevalence():
    point = m.at_threshold(Y, S, 0.5)
    assert (point.tp, point.fp, point.tn, point.fn) == (3, 1, 3, 1)
    assert point.sensitivity == point.specificity == point.ppv == point.npv == 0.75
    assert point.sample_prevalence == 0.5 and point.ppv_at == 0.75
    np.testing.assert_array_equal(point.confusion, [[3, 1], [1, 3]])
    # sens = spec = 0.75 at 10 % prevalence: PPV = 0.075 / (0.075 + 0.225) = 0.25
    low = m.at_threshold(Y, S, 0.5, prevalence=0.1)
    assert low.ppv_at == pytest.approx(0.25) and low.npv_at == pytest.approx(0.675 / 0.7)
    assert low.ppv == 0.75  # the sample's own value is still reported
    assert "PPV 0.250" in str(low)


def test_predictive_values_classic_example_and_vectorised():
    # 90 % sensitivity and specificity: PPV 50 % at 10 % prevalence, ~8.3 % at 1 %.
    assert m.predictive_values(0.9, 0.9, 0.1) == pytest.approx((0.5, 0.81 / 0.82))
    ppv, npv = m.predictive_values(0.9, 0.9, np.array([0.01, 0.1, 0.5]))
    np.testing.assert_allclose(ppv, [0.009 / 0.108, 0.5, 0.9])
    assert np.all(np.diff(npv) < 0)


@pytest.mark.parametrize("prevalence", [0, 1, 1.5, -0.1])
def test_prevalence_must_be_a_fraction(prevalence):
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        m.at_threshold(Y, S, 0.5, prevalence=prevalence)


def test_choose_threshold_rules():
    assert m.choose_threshold(Y, S, "youden") == 0.7       # sens 0.75, spec 1.0 (first best J)
    assert m.choose_threshold(Y, S, "accuracy") == 0.7     # 7 of 8 correct
    assert m.choose_threshold(Y, S, ("sensitivity", 1.0)) == 0.4  # highest t with all positives
    assert m.choose_threshold(Y, S, ("sensitivity", 0.5)) == 0.8
    assert m.choose_threshold(Y, S, ("specificity", 0.75)) == 0.4  # lowest t with spec >= 0.75
    t = m.choose_threshold(Y, S, ("specificity", 1.0))
    assert m.at_threshold(Y, S, t).specificity == 1.0


@pytest.mark.parametrize("rule", ["f1", ("sensitivity", 1.5), ("ppv", 0.9), 3])
def test_choose_threshold_rejects_unknown_rules(rule):
    with pytest.raises(ValueError, match="rule|target"):
        m.choose_threshold(Y, S, rule)


def test_bootstrap_auc_matches_sklearn_and_is_reproducible():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    s = y + rng.normal(0, 1.2, 300)
    s[:50] = np.round(s[:50])  # ties: the rank formula must use mid-ranks like scikit-learn
    est, low, high = m.bootstrap_ci(y, s, n_boot=400, seed=3)
    assert est == pytest.approx(roc_auc_score(y, s))
    assert low < est < high and 0.03 < high - low < 0.25
    assert m.bootstrap_ci(y, s, n_boot=400, seed=3) == (est, low, high)
    # the vectorised AUC of one resample equals scikit-learn's
    idx = rng.integers(0, 300, (3, 300))
    np.testing.assert_allclose(m._auc_rows(y[idx], s[idx]),
                               [roc_auc_score(y[i], s[i]) for i in idx])
    # a callable metric, and a wider interval with fewer cases
    sens = lambda yy, ss: m.at_threshold(yy, ss, 0.5).sensitivity  # noqa: E731
    est2, low2, high2 = m.bootstrap_ci(y, s, sens, n_boot=200, stratified=False)
    assert low2 <= est2 <= high2
    _, low3, high3 = m.bootstrap_ci(y[:40], s[:40], n_boot=400)
    assert high3 - low3 > high - low


def test_bootstrap_perfect_separation_gives_a_point_interval():
    assert m.bootstrap_ci([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], n_boot=50) == (1.0, 1.0, 1.0)


@pytest.mark.parametrize("kwargs, match", [
    ({"metric": "f1"}, "metric"), ({"n_boot": 5}, "n_boot"), ({"alpha": 1.5}, "alpha"),
])
def test_bootstrap_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        m.bootstrap_ci(Y, S, **kwargs)


def test_calibration_and_ece_by_hand():
    y = [0, 0, 1, 1, 1, 0]
    p = [0.1, 0.1, 0.1, 0.9, 0.9, 0.9]
    cal = m.calibration(y, p, n_bins=2)
    np.testing.assert_allclose(cal.prob_pred, [0.1, 0.9])
    np.testing.assert_allclose(cal.prob_true, [1 / 3, 2 / 3])
    np.testing.assert_array_equal(cal.counts, [3, 3])
    assert cal.ece == pytest.approx(0.5 * abs(1 / 3 - 0.1) + 0.5 * abs(2 / 3 - 0.9))
    # a perfectly calibrated model in large samples has a small ECE
    rng = np.random.default_rng(0)
    prob = rng.uniform(0, 1, 20000)
    assert m.calibration(rng.uniform(0, 1, 20000) < prob, prob).ece < 0.02
    q = m.calibration(y, p, n_bins=2, strategy="quantile")
    assert q.counts.sum() == 6


def test_calibration_rejects_scores_outside_0_1():
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        m.calibration(Y, np.array(S) * 3)
    with pytest.raises(ValueError, match="n_bins"):
        m.calibration(Y, S, n_bins=1)


def test_multilabel_auc_skips_single_class_findings_with_a_note():
    y = np.array([[0, 1, 0], [1, 1, 0], [0, 1, 0], [1, 1, 0]])
    s = np.array([[0.1, 0.5, 0.2], [0.9, 0.4, 0.1], [0.2, 0.3, 0.3], [0.4, 0.2, 0.2]])
    result = m.multilabel_auc(y, s, names=["effusion", "edema", "hernia"])
    assert result.per_finding == {"effusion": 1.0}
    assert set(result.skipped) == {"edema", "hernia"}
    assert "all 4 cases are positive" in result.skipped["edema"]
    assert "negative" in result.skipped["hernia"]
    assert result.mean == 1.0 and "hernia" in str(result) and "skipped" in str(result)


@pytest.mark.parametrize("y, s, names, match", [
    (np.zeros((4, 2)), np.zeros((4, 3)), None, "shape"),
    (np.zeros(4), np.zeros(4), None, "shape"),
    (np.array([[0, 1], [1, 0]]), np.zeros((2, 2)), ["a"], "names"),
    (np.array([[0, 2], [1, 0]]), np.zeros((2, 2)), None, "0 or 1"),
    (np.array([[0, 1], [1, 0]]), np.array([[0.1, np.nan], [0.2, 0.3]]), None, "NaN"),
])
def test_multilabel_auc_bad_input(y, s, names, match):
    with pytest.raises(ValueError, match=match):
        m.multilabel_auc(y, s, names)


@pytest.mark.parametrize("function", [m.at_threshold, m.roc_points, m.bootstrap_ci, m.choose_threshold])
def test_new_functions_validate_like_binary_report(function):
    args = (0.5,) if function is m.at_threshold else ()
    with pytest.raises(ValueError, match="only one class"):
        function([1, 1, 1], [0.1, 0.2, 0.3], *args)
    with pytest.raises(ValueError, match="shape"):
        function([0, 1, 1], [0.1, 0.2], *args)


def test_plots_return_figures_and_draw_on_given_axes():
    before = plt.get_fignums()
    fig = m.plot_roc(Y, S, n_boot=50, threshold=0.5, label="ResNet")
    assert isinstance(fig, Figure)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend[0].startswith("ResNet: AUC 0.938 (95 % CI")
    marker = fig.axes[0].get_lines()[-1]
    assert (marker.get_xdata()[0], marker.get_ydata()[0]) == (0.25, 0.75)
    fig2 = Figure()
    axes = fig2.subplots(1, 2)
    assert m.plot_reliability(Y, S, n_bins=5, ax=axes[0]) is fig2
    assert m.plot_confusion_matrix(Y, S, 0.5, class_names=("normal", "pneumonia"), ax=axes[1]) is fig2
    texts = [t.get_text() for t in axes[1].texts]
    assert texts == ["3\n75%", "1\n25%", "1\n25%", "3\n75%"]
    assert plt.get_fignums() == before  # no pyplot figures
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()  # renders without error
