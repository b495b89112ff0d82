"""Checkers of notebook 02's exercises: right answers pass, wrong ones get a useful hint."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from radlab.exercises import check


@pytest.fixture(autouse=True)
def _lenient(monkeypatch):
    monkeypatch.delenv("RADLAB_STRICT", raising=False)


def test_threshold(capsys):
    scores = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 0.05, 0.15, 0.25, 0.35, 0.45])
    labels = np.array([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
    # 8 of the 10 positives are >= 0.3: the best threshold with sensitivity 0.8
    assert check("02.threshold", 0.3, scores=scores, labels=labels)
    assert not check("02.threshold", 0.5, scores=scores, labels=labels)
    assert "lower the threshold" in capsys.readouterr().out
    # sensitivity 1.0, but more false alarms than needed
    assert not check("02.threshold", 0.0, scores=scores, labels=labels)
    assert "higher threshold" in capsys.readouterr().out


def test_glcm_contrast(capsys):
    from skimage.feature import graycomatrix, graycoprops

    tiny = np.array([[0, 1, 2, 3], [0, 2, 3, 3], [2, 1, 1, 1], [3, 0, 3, 0]], dtype=np.uint8)
    glcm = graycomatrix(tiny, [1], [0], levels=4, symmetric=True, normed=True)
    right = graycoprops(glcm, "contrast")
    assert check("02.glcm_contrast", right[0, 0], image=tiny, levels=4)
    assert check("02.glcm_contrast", right, image=tiny, levels=4)  # a (1, 1) array is one number
    raw = graycomatrix(tiny, [1], [0], levels=4)[:, :, 0, 0].astype(float)
    i, j = np.indices(raw.shape)
    assert not check("02.glcm_contrast", (raw * (i - j) ** 2).sum(), image=tiny, levels=4)
    assert "normed=True" in capsys.readouterr().out
    vertical = graycoprops(graycomatrix(tiny, [1], [np.pi / 2], levels=4, symmetric=True, normed=True), "contrast")
    assert not check("02.glcm_contrast", vertical[0, 0], image=tiny, levels=4)
    assert "angle pi/2" in capsys.readouterr().out
    assert not check("02.glcm_contrast", [1.0, 2.0], image=tiny, levels=4)
    assert "one number" in capsys.readouterr().out


def test_two_features(capsys):
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(100), np.ones(100)].astype(int)
    x = rng.normal(size=(200, 3))
    x[:, 0] += 2.0 * y  # informative
    good = LogisticRegression().fit(x[:, :2], y)
    assert check("02.two_features", good, x_val=x[:, :2], y_val=y)
    useless = LogisticRegression().fit(x[:, 1:], y)
    assert not check("02.two_features", useless, x_val=x[:, 1:], y_val=y)
    assert "below 0.75" in capsys.readouterr().out
    three = LogisticRegression().fit(x, y)
    assert not check("02.two_features", three, x_val=x, y_val=y)
    assert "3 features" in capsys.readouterr().out
    assert not check("02.two_features", LogisticRegression(), x_val=x[:, :2], y_val=y)
    assert "not been fitted" in capsys.readouterr().out
    assert not check("02.two_features", 0.9, x_val=x[:, :2], y_val=y)
    assert "fitted model" in capsys.readouterr().out
