"""The gradient-descent explorer: headless construction, in-place updates, error routing."""

from __future__ import annotations

import matplotlib

matplotlib.use("agg")

import ipywidgets as widgets  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from radlab.toy import gradient_descent_path, line_fit  # noqa: E402
from radlab.widgets import _base  # noqa: E402
from radlab.widgets.gradient_descent import MAX_STEPS, gradient_descent_explorer  # noqa: E402

MODES = [False] + ([None] if _base.ipympl_available() else [])


pytestmark = pytest.mark.usefixtures("no_pyplot_figures")


@pytest.fixture(params=MODES, ids=lambda m: "static" if m is False else "ipympl")
def explorer(request):
    return gradient_descent_explorer(lr=0.02, steps=40, interactive=request.param)


def test_constructs_headless_with_its_state(explorer):
    assert isinstance(explorer, widgets.VBox)
    state = explorer.state
    assert state.lr == 0.02 and state.steps == 40
    assert state.lr_slider.value == pytest.approx(0.02) and state.steps_slider.value == 40
    assert state.errors in explorer.children and state.view.widget in explorer.children
    expected = gradient_descent_path(0.02, 40, problem=state.problem)
    np.testing.assert_allclose(state.path.weights, expected.weights)
    np.testing.assert_allclose(state.path_line.get_xdata(), expected.weights[:, 0])
    np.testing.assert_allclose(state.loss_line.get_ydata(), expected.losses)
    assert "not converged" in state.status.value
    if not state.view.interactive:
        assert state.view.widget.value[:4] == b"\x89PNG"


def test_slider_changes_update_lines_in_place(explorer):
    state = explorer.state
    figure, path_line, loss_line = state.figure, state.path_line, state.loss_line
    n_artists = len(state.surface_ax.get_lines()) + len(state.loss_ax.get_lines())
    before_png = None if state.view.interactive else state.view.widget.value

    state.lr_slider.value = 0.2
    assert state.lr == pytest.approx(0.2)
    expected = gradient_descent_path(state.lr, 40, problem=state.problem)
    np.testing.assert_allclose(path_line.get_ydata(), expected.weights[:, 1])
    assert "converged" in state.status.value and "not converged" not in state.status.value

    state.steps_slider.value = 120
    assert state.steps == 120 and len(loss_line.get_xdata()) == 121
    assert state.loss_ax.get_xlim() == (0, 120)

    # the same figure and artists, nothing added
    assert state.figure is figure and state.path_line is path_line and state.loss_line is loss_line
    assert len(state.surface_ax.get_lines()) + len(state.loss_ax.get_lines()) == n_artists
    if before_png is not None:
        assert state.view.widget.value != before_png
    assert not state.errors.outputs


def test_too_large_learning_rate_reports_divergence(explorer):
    state = explorer.state
    state.set_lr(0.5)
    assert state.lr_slider.value == pytest.approx(0.5)
    assert state.path.diverged and "Diverged" in state.status.value
    assert f"{state.problem.max_stable_lr:.3g}" in state.status.value
    bottom, top = state.loss_ax.get_ylim()
    assert np.isfinite(top) and top > state.path.losses[0]


def test_set_start_moves_the_path(explorer):
    state = explorer.state
    state.set_start(3.0, 0.0)
    np.testing.assert_array_equal(state.path.weights[0], [3.0, 0.0])
    np.testing.assert_array_equal(state.start_marker.get_xdata(), [3.0])
    assert state.path_line.get_xdata()[0] == 3.0


def test_callback_errors_go_to_the_output(explorer, monkeypatch):
    state = explorer.state

    def boom(*args, **kwargs):
        raise ZeroDivisionError("simulated failure")

    monkeypatch.setattr("radlab.widgets.gradient_descent.gradient_descent_path", boom)
    state.lr_slider.value = 0.1  # must not raise
    assert "ZeroDivisionError" in "".join(o["text"] for o in state.errors.outputs)
    monkeypatch.undo()
    state.steps_slider.value = 10
    assert state.steps == 10, "the widget keeps working after an error"


def test_custom_problem_and_bad_arguments():
    problem = line_fit(20, slope=-1.0, intercept=2.0, seed=3, start=(1.0, -1.0))
    state = gradient_descent_explorer(problem, lr=0.1, steps=5, interactive=False).state
    assert state.problem is problem
    np.testing.assert_array_equal(state.path.weights[0], [1.0, -1.0])
    with pytest.raises(ValueError, match="outside"):
        gradient_descent_explorer(lr=5.0, interactive=False)
    with pytest.raises(ValueError, match="steps"):
        gradient_descent_explorer(steps=MAX_STEPS + 1, interactive=False)
    with pytest.raises(TypeError, match="LineFit"):
        gradient_descent_explorer("bowl", interactive=False)
    with pytest.raises(ValueError, match="outside"):
        state.set_lr(0.0)
