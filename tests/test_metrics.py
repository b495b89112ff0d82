import numpy as np
import pytest

from radlab.metrics import binary_report, top_k_error


def test_binary_report_counts_and_rates():
    y = [0, 0, 0, 1, 1, 1, 1, 0]
    s = [0.1, 0.6, 0.2, 0.9, 0.8, 0.4, 0.7, 0.3]
    r = binary_report(y, s, threshold=0.5)
    assert (r.tp, r.fp, r.tn, r.fn) == (3, 1, 3, 1)
    assert r.sensitivity == pytest.approx(0.75) and r.specificity == pytest.approx(0.75)
    assert r.ppv == pytest.approx(0.75) and r.accuracy == pytest.approx(0.75)
    assert r.auc == pytest.approx(15 / 16)
    assert "AUC 0.938" in str(r)


@pytest.mark.parametrize("y, s, match", [
    ([0, 1, 1], [0.1, 0.2], "shape"),
    ([1, 1, 1], [0.1, 0.2, 0.3], "only one class"),
    ([0, 1, 1], [0.1, np.nan, 0.3], "NaN"),
    ([0, 2, 1], [0.1, 0.2, 0.3], "0 or 1"),
])
def test_binary_report_rejects_bad_input(y, s, match):
    with pytest.raises(ValueError, match=match):
        binary_report(y, s)


def test_top_k_error():
    p = np.array([[0.5, 0.3, 0.2], [0.1, 0.2, 0.7], [0.6, 0.3, 0.1]])
    y = [1, 0, 0]
    assert top_k_error(y, p, k=1) == pytest.approx(2 / 3)
    assert top_k_error(y, p, k=2) == pytest.approx(1 / 3)
    assert top_k_error(y, p, k=3) == 0.0
    with pytest.raises(ValueError, match="k must be"):
        top_k_error(y, p, k=4)
