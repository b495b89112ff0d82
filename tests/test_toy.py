"""radlab.toy: the two-weight loss surface, its exact gradient, and gradient descent paths."""

from __future__ import annotations

import numpy as np
import pytest

from radlab.toy import DIVERGENCE_FACTOR, LineFit, gradient_descent_path, line_fit


@pytest.fixture
def problem():
    return line_fit()


def test_loss_is_the_mean_squared_error_of_the_line(problem):
    rng = np.random.default_rng(1)
    weights = rng.normal(0, 3, (5, 2))
    direct = [np.mean((w * problem.x + b - problem.y) ** 2) for w, b in weights]
    np.testing.assert_allclose(problem.loss(weights), direct, rtol=1e-10)
    np.testing.assert_allclose(problem.predict(weights[0]), weights[0, 0] * problem.x + weights[0, 1])


def test_gradient_matches_finite_differences(problem):
    rng = np.random.default_rng(2)
    h = 1e-6
    for weights in rng.normal(0, 3, (6, 2)):
        numeric = [(problem.loss(weights + h * e) - problem.loss(weights - h * e)) / (2 * h) for e in np.eye(2)]
        np.testing.assert_allclose(problem.gradient(weights), numeric, rtol=1e-6, atol=1e-6)


def test_gradient_and_loss_work_on_grids(problem):
    w, b, loss = problem.loss_grid(n=17)
    assert w.shape == b.shape == loss.shape == (17, 17)
    grads = problem.gradient(np.stack([w, b], axis=-1))
    assert grads.shape == (17, 17, 2)
    # the grid spans the start and the minimum
    w0, w1, b0, b1 = problem.bounds()
    for point in (problem.start, problem.minimum):
        assert w0 < point[0] < w1 and b0 < point[1] < b1


def test_minimum_is_the_least_squares_line(problem):
    slope, intercept = np.polyfit(problem.x, problem.y, 1)
    np.testing.assert_allclose(problem.minimum, [slope, intercept], rtol=1e-9)
    np.testing.assert_allclose(problem.gradient(problem.minimum), 0.0, atol=1e-9)
    assert problem.min_loss == pytest.approx(np.mean((slope * problem.x + intercept - problem.y) ** 2))
    # close to the true line the points were drawn around (slope 2, intercept 1)
    assert abs(slope - 2.0) < 0.3 and abs(intercept - 1.0) < 0.5


def test_hessian_and_stability_limit(problem):
    h = 1e-4
    numeric = np.array([(problem.gradient(problem.start + h * e) - problem.gradient(problem.start - h * e)) / (2 * h)
                        for e in np.eye(2)])
    np.testing.assert_allclose(problem.hessian, numeric, rtol=1e-6)
    low, high = problem.curvatures
    assert 0 < low < high
    assert problem.max_stable_lr == pytest.approx(2 / high)
    # the bowl is elongated: that is what makes small learning rates slow
    assert high / low > 10


def test_path_shapes_and_first_step(problem):
    path = gradient_descent_path(0.05, 30, problem=problem)
    assert path.weights.shape == (31, 2) and path.losses.shape == (31,)
    assert path.steps == 30 and path.lr == 0.05
    np.testing.assert_array_equal(path.weights[0], problem.start)
    np.testing.assert_allclose(path.weights[1], problem.start - 0.05 * problem.gradient(problem.start))
    np.testing.assert_allclose(path.losses, problem.loss(path.weights))
    zero = gradient_descent_path(0.05, 0, problem=problem)
    assert zero.weights.shape == (1, 2) and zero.loss_reduction == 0.0


def test_a_good_learning_rate_converges(problem):
    path = gradient_descent_path(0.2, 50, problem=problem)
    assert not path.diverged
    assert path.loss_reduction > 0.9
    assert np.all(np.diff(path.losses) <= 1e-12), "below the limit the loss never goes up"
    assert path.steps_to_converge() is not None and path.steps_to_converge() <= 30
    np.testing.assert_allclose(path.weights[-1], problem.minimum, atol=0.1)


def test_a_tiny_learning_rate_is_slow(problem):
    path = gradient_descent_path(0.01, 50, problem=problem)
    assert not path.diverged
    assert path.final_loss < path.losses[0]
    assert path.steps_to_converge() is None
    assert path.excess()[-1] > 0.05


def test_a_large_learning_rate_diverges(problem):
    lr = 1.1 * problem.max_stable_lr
    path = gradient_descent_path(lr, 200, problem=problem)
    assert path.diverged and path.loss_reduction < 0
    # the loss grows until the run is stopped; the rest is NaN
    finite = path.losses[np.isfinite(path.losses)]
    assert finite.max() <= DIVERGENCE_FACTOR * path.losses[0]
    assert np.isnan(path.losses[-1]) and np.isnan(path.weights[-1]).all()
    assert path.final_loss == float("inf")
    # just under the limit still converges (slowly, oscillating)
    assert not gradient_descent_path(0.97 * problem.max_stable_lr, 200, problem=problem).diverged


def test_start_and_problem_arguments():
    problem = line_fit(20, slope=-1.0, intercept=0.5, noise=0.0, x_range=(-1, 1), start=(3, 3), seed=5)
    np.testing.assert_allclose(problem.minimum, [-1.0, 0.5], atol=1e-9)
    assert problem.min_loss == pytest.approx(0.0, abs=1e-12)
    path = gradient_descent_path(0.3, 100, start=(0.0, 0.0), problem=problem)
    np.testing.assert_array_equal(path.weights[0], [0.0, 0.0])
    assert path.final_loss < 1e-8
    assert line_fit(seed=1).x.tolist() != line_fit(seed=2).x.tolist()
    assert line_fit(seed=3).x.tolist() == line_fit(seed=3).x.tolist()


@pytest.mark.parametrize("kwargs, message", [
    ({"lr": 0, "steps": 5}, "positive"),
    ({"lr": -0.1, "steps": 5}, "positive"),
    ({"lr": float("nan"), "steps": 5}, "positive"),
    ({"lr": 0.1, "steps": -1}, "steps"),
    ({"lr": 0.1, "steps": 2.5}, "steps"),
    ({"lr": 0.1, "steps": 5, "start": (1, 2, 3)}, "length 2"),
    ({"lr": 0.1, "steps": 5, "start": (np.inf, 0)}, "finite"),
])
def test_bad_arguments_get_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        gradient_descent_path(**kwargs)


def test_bad_problems_are_refused():
    with pytest.raises(ValueError, match="all x are equal"):
        LineFit(np.ones(5), np.arange(5.0))
    with pytest.raises(ValueError, match="one y per x"):
        LineFit(np.arange(5.0), np.arange(4.0))
    with pytest.raises(ValueError, match="finite"):
        LineFit(np.array([0.0, np.nan]), np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="n must be"):
        line_fit(1)
    with pytest.raises(ValueError, match="last axis"):
        line_fit().loss(np.zeros(3))
