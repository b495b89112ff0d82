"""Exercises of notebook 03 (neural networks)."""

import numpy as np

from . import exercise


def _number(answer) -> float:
    value = np.asarray(answer, dtype=np.float64)
    if value.shape != ():
        raise ValueError(f"expected one number, got an array of shape {value.shape}")
    return float(value)


@exercise("03.learning_rate", "A learning rate that converges quickly")
def learning_rate(answer, *, problem, steps):
    from ..toy import gradient_descent_path

    lr = _number(answer)
    if not np.isfinite(lr) or lr <= 0:
        return False, "a learning rate is a positive number, such as 0.05"
    path = gradient_descent_path(lr, steps, problem=problem)
    if path.diverged:
        return False, (f"with lr = {lr:g} the loss grew instead of shrinking: every step overshoots "
                       "the valley. Try a smaller learning rate (watch the path in the widget)")
    done = path.steps_to_converge(0.01)
    if done is None:
        left = path.excess()[-1]
        return False, (f"after {steps} steps the loss is still {left:.0%} of the way from the minimum: "
                       f"the steps are too small. Try a larger learning rate")
    return True, ""


@exercise("03.dense_params", "Weights and biases of a Dense layer")
def dense_params(answer, *, layer):
    count = _number(answer)
    inputs = int(layer.kernel.shape[0])
    units = int(layer.units)
    expected = layer.count_params()
    if count == expected:
        return True, ""
    if count == inputs * units:
        return False, "you counted the weights; every neuron also has one bias"
    if count == inputs * units + inputs:
        return False, "there is one bias per neuron, not per input"
    if count in (inputs + units, inputs, units):
        return False, (f"every one of the {units:,} neurons is connected to every one of the "
                       f"{inputs:,} inputs, with its own weight")
    return False, f"each of the {units:,} neurons has one weight per input ({inputs:,} inputs) plus one bias"


@exercise("03.top5", "Top-5 error by hand")
def top5(answer, *, y_true, probabilities):
    from ..metrics import top_k_error

    value = _number(answer)
    y_true = np.asarray(y_true).ravel()
    expected = top_k_error(y_true, probabilities, k=5)
    if np.isclose(value, expected):
        return True, ""
    n = y_true.size
    if np.isclose(value, expected * n) and value > 1:
        return False, f"give the error as a fraction of the {n} cases (between 0 and 1), not a count"
    if np.isclose(value, 1 - expected):
        return False, "that is the top-5 accuracy; the error is the fraction of cases the top 5 miss"
    if np.isclose(value, top_k_error(y_true, probabilities, k=1)):
        return False, "that is the top-1 error: a case counts as right if its true class is among the five highest"
    return False, ("for each case, sort its class probabilities, take the 5 highest, and check whether "
                   "the true class is one of them; the error is the fraction of cases where it is not")
