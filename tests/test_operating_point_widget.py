"""The operating-point explorer: headless construction, in-place marker updates,
PPV/NPV by Bayes' rule at the chosen prevalence, and error routing."""

from __future__ import annotations

import matplotlib

matplotlib.use("agg")

import ipywidgets as widgets  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from radlab.metrics import at_threshold, roc_points  # noqa: E402
from radlab.widgets import _base  # noqa: E402
from radlab.widgets.operating_point import operating_point_explorer  # noqa: E402

MODES = [False] + ([None] if _base.ipympl_available() else [])

rng = np.random.default_rng(0)
Y = rng.integers(0, 2, 200)
S = 1 / (1 + np.exp(-(2.5 * (Y - 0.5) + rng.normal(0, 1, 200))))


pytestmark = pytest.mark.usefixtures("no_pyplot_figures")


@pytest.fixture(params=MODES, ids=lambda m: "static" if m is False else "ipympl")
def explorer(request):
    return operating_point_explorer(Y, S, interactive=request.param)


def _errors(state) -> str:
    return "".join(o.get("text", "") for o in state.errors.outputs)


def test_constructs_headless_with_its_state(explorer):
    assert isinstance(explorer, widgets.VBox)
    state = explorer.state
    assert state.threshold == 0.5 and state.prevalence == pytest.approx(Y.mean())
    expected = at_threshold(Y, S, 0.5)
    assert state.point.tp == expected.tp and state.point.sensitivity == expected.sensitivity
    np.testing.assert_allclose(state.roc_line.get_xdata(), roc_points(Y, S).fpr)
    np.testing.assert_allclose(state.marker.get_xdata(), [1 - expected.specificity])
    np.testing.assert_allclose(state.marker.get_ydata(), [expected.sensitivity])
    assert f"TP {expected.tp}" in state.confusion.value and f"FN {expected.fn}" in state.confusion.value
    assert state.errors in explorer.children and not state.errors.outputs
    if not state.view.interactive:
        assert state.view.widget.value[:4] == b"\x89PNG"


def test_threshold_change_moves_the_marker_in_place(explorer):
    state = explorer.state
    figure, marker, n_lines = state.figure, state.marker, len(state.ax.get_lines())
    before_png = None if state.view.interactive else state.view.widget.value
    state.threshold_slider.value = 0.8
    point = at_threshold(Y, S, 0.8)
    assert state.threshold == pytest.approx(0.8)
    assert state.point.fp == point.fp and state.point.tp == point.tp
    assert state.figure is figure and state.marker is marker and len(state.ax.get_lines()) == n_lines
    np.testing.assert_allclose(marker.get_data(), [[1 - point.specificity], [point.sensitivity]])
    assert f"FP {point.fp}" in state.confusion.value
    if before_png is not None:
        assert state.view.widget.value != before_png  # the PNG was re-rendered
    # from code: the slider follows without re-entering the observer
    state.set_threshold(0.3)
    assert state.threshold_slider.value == pytest.approx(0.3)
    assert state.point.tp == at_threshold(Y, S, 0.3).tp
    assert not state.errors.outputs


def test_prevalence_change_updates_ppv_npv_by_bayes(explorer):
    state = explorer.state
    marker_before = np.array(state.marker.get_data())
    state.prevalence_slider.value = 0.01
    sens, spec, p = state.point.sensitivity, state.point.specificity, state.prevalence
    assert p == pytest.approx(0.01)
    assert state.point.ppv_at == pytest.approx(sens * p / (sens * p + (1 - spec) * (1 - p)))
    assert state.point.npv_at == pytest.approx(spec * (1 - p) / (spec * (1 - p) + (1 - sens) * p))
    assert state.point.ppv_at < state.point.ppv  # a rare finding: most positives are false
    assert f"{state.point.ppv_at:.1%}" in state.summary.value
    np.testing.assert_array_equal(state.marker.get_data(), marker_before)  # curve unchanged
    state.set_prevalence(0.3)
    assert state.prevalence_slider.value == pytest.approx(0.3, rel=0.03)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        state.set_prevalence(0)


def test_offered_thresholds_and_starting_prevalence():
    explorer = operating_point_explorer(Y, S, prevalence=0.05, thresholds=[0.2, 0.5, 0.9],
                                        interactive=False)
    state = explorer.state
    assert isinstance(state.threshold_slider, widgets.SelectionSlider)
    assert state.threshold == 0.5 and state.prevalence == 0.05
    state.threshold_slider.value = 0.9
    assert state.point.tp == at_threshold(Y, S, 0.9).tp
    with pytest.raises(ValueError, match="not one of the offered"):
        state.set_threshold(0.4)


def test_callback_errors_go_to_the_output(explorer, monkeypatch):
    state = explorer.state

    def boom(*args, **kwargs):
        raise ZeroDivisionError("simulated failure")

    monkeypatch.setattr("radlab.widgets.operating_point.at_threshold", boom)
    state.threshold_slider.value = 0.7  # must not raise
    assert "ZeroDivisionError" in _errors(state)
    monkeypatch.undo()
    state.threshold_slider.value = 0.6
    assert state.point.threshold == pytest.approx(0.6)


@pytest.mark.parametrize("kwargs, match", [
    ({"y_true": [1, 1, 1], "y_score": [0.1, 0.2, 0.3]}, "only one class"),
    ({"y_true": [0, 1], "y_score": [0.1, 0.2, 0.3]}, "shape"),
    ({"prevalence": 1.0}, "strictly between"),
    ({"thresholds": [0.5, np.nan]}, "finite"),
])
def test_bad_input_raises_clear_errors(kwargs, match):
    args = {"y_true": Y, "y_score": S, **kwargs}
    with pytest.raises(ValueError, match=match):
        operating_point_explorer(args.pop("y_true"), args.pop("y_score"), interactive=False, **args)


def test_thresholds_and_prevalences_beyond_the_slider_range_are_not_clamped():
    explorer = operating_point_explorer(Y, S, threshold=1.5, interactive=False)
    state = explorer.state
    assert state.threshold == 1.5 and state.threshold_slider.value == pytest.approx(1.5)
    assert state.point.tp + state.point.fp == 0, "nothing scores >= 1.5"
    state.set_threshold(-0.5)
    assert state.threshold_slider.value == pytest.approx(-0.5) and state.point.fn + state.point.tn == 0
    state.set_prevalence(0.9)  # above the slider's 50 % top
    assert state.prevalence_slider.value == pytest.approx(0.9, rel=1e-3)
    assert state.point.ppv_at == pytest.approx(at_threshold(Y, S, -0.5, prevalence=0.9).ppv_at)
    state.set_prevalence(0.0005)  # below its 0.1 % bottom
    assert state.prevalence_slider.value == pytest.approx(0.0005, rel=1e-3)
