"""radlab.diagrams: network drawings from real Keras models, neuron, activations and curves."""

from __future__ import annotations

import matplotlib

matplotlib.use("agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Circle  # noqa: E402

from radlab import diagrams  # noqa: E402
from radlab.diagrams import (  # noqa: E402
    draw_network,
    draw_neuron,
    network_layers,
    plot_activations,
    plot_depth_sweep,
    plot_gradient_descent,
    plot_history,
)
from radlab.experiments import DepthSweep, SweepRow  # noqa: E402
from radlab.toy import gradient_descent_path, line_fit  # noqa: E402


def _circles(fig):
    return [p for ax in fig.axes for p in ax.patches if isinstance(p, Circle)]


def _texts(fig):
    return " ".join(t.get_text() for ax in fig.axes for t in ax.texts)


@pytest.fixture(autouse=True)
def _no_pyplot_figures():
    before = plt.get_fignums()
    yield
    assert plt.get_fignums() == before, "diagrams must not register figures with pyplot"


@pytest.fixture(scope="module")
def tiny_mlp():
    from radlab.models import mlp

    return mlp((2, 2), n_classes=2, depth=1, width=3)  # 4 inputs, 3 hidden, 2 outputs


def test_network_layers_of_a_real_model(tiny_mlp):
    specs = network_layers(tiny_mlp)
    assert [(s.kind, s.units, s.activation) for s in specs] == [
        ("input", 4, None), ("hidden", 3, "relu"), ("output", 2, "softmax"),
    ]
    assert specs[0].shape == (2, 2)


def test_draw_network_draws_one_circle_per_neuron(tiny_mlp):
    fig = draw_network(tiny_mlp)
    assert isinstance(fig, Figure)
    assert len(_circles(fig)) == 4 + 3 + 2
    texts = _texts(fig)
    assert "Input layer" in texts and "4 pixels" in texts and "(2×2)" in texts
    assert "Hidden layer 1" in texts and "Output layer" in texts and "softmax" in texts
    # one line per weight between drawn neurons: 4*3 + 3*2
    (lines,) = fig.axes[0].collections
    assert len(lines.get_segments()) == 4 * 3 + 3 * 2
    assert f"{tiny_mlp.count_params():,}" in fig.axes[0].get_title()


def test_wide_layers_are_drawn_in_part_with_an_ellipsis():
    fig = draw_network([784, 64, 10], max_neurons=8)
    assert len(_circles(fig)) == 8 + 8 + 8
    texts = _texts(fig)
    assert texts.count("⋮") == 3
    assert "784 values" in texts and "64 neurons" in texts and "(8 drawn)" in texts
    assert len(_circles(draw_network([5, 3, 1], max_neurons=5))) == 9


def test_draw_network_accepts_an_axes_and_nested_models(tiny_mlp):
    import keras

    model = keras.Sequential([keras.Input((2, 2)), keras.layers.Normalization(axis=(1, 2)), tiny_mlp])
    assert [s.units for s in network_layers(model)] == [4, 3, 2]
    fig = Figure()
    ax = fig.add_subplot()
    assert draw_network(model, ax=ax) is fig
    assert len(_circles(fig)) == 9


def test_draw_network_refuses_convolutions_and_bad_input():
    from radlab.models import small_cnn

    with pytest.raises(ValueError, match="rl.describe"):
        draw_network(small_cnn((16, 16, 1), n_classes=1, depth=1))
    with pytest.raises(ValueError, match="at least an input and an output"):
        draw_network([5])
    with pytest.raises(ValueError, match="max_neurons"):
        draw_network([5, 2], max_neurons=1)
    with pytest.raises(TypeError, match="Keras model"):
        draw_network("mlp")


def test_draw_neuron_computes_the_output():
    fig = draw_neuron([0.5, -1.0, 2.0], [0.8, -0.4, 0.6], 0.1, "relu")
    title = fig.axes[0].get_title()
    assert "= 2.1" in title and "relu(z) = 2.1" in title
    assert len(_circles(fig)) == 3 + 1
    title = draw_neuron([1.0], [-2.0], 0.5, "relu").axes[0].get_title()
    assert "= -1.5" in title and "relu(z) = 0" in title
    with pytest.raises(ValueError, match="same length"):
        draw_neuron([1, 2], [1], 0.0)
    with pytest.raises(ValueError, match="unknown activation"):
        draw_neuron([1], [1], 0.0, "swish")


def test_activations_plot():
    fig = plot_activations()
    lines = [line for line in fig.axes[0].get_lines() if not line.get_label().startswith("_")]
    assert [line.get_label() for line in lines] == ["sigmoid", "tanh", "relu"]
    z, relu = lines[2].get_data()
    np.testing.assert_allclose(relu, np.maximum(z, 0))
    np.testing.assert_allclose(lines[0].get_ydata(), 1 / (1 + np.exp(-z)))
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_activations(["tanh"], ax=ax) is fig


def test_plot_gradient_descent():
    problem = line_fit()
    paths = [gradient_descent_path(lr, 20, problem=problem) for lr in (0.02, 0.2, 0.3)]
    fig = plot_gradient_descent(paths, problem)
    surface, losses = fig.axes[:2] if len(fig.axes) == 2 else (fig.axes[0], fig.axes[-1])
    labels = [line.get_label() for line in losses.get_lines()]
    assert "lr = 0.3 (diverged)" in labels and "lr = 0.2" in labels
    path_line = next(line for line in surface.get_lines() if line.get_label() == "lr = 0.02")
    np.testing.assert_allclose(path_line.get_xdata(), paths[0].weights[:, 0])
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_gradient_descent(paths[0], problem, ax=ax) is fig


def test_plot_history_marks_the_best_validation_epoch():
    history = {"accuracy": [0.6, 0.8, 0.9, 0.95], "val_accuracy": [0.6, 0.75, 0.7, 0.65],
               "loss": [0.7, 0.5, 0.3, 0.2], "val_loss": [0.7, 0.55, 0.6, 0.8]}
    fig = plot_history(history)
    assert len(fig.axes) == 2
    acc_ax, loss_ax = fig.axes
    labels = [line.get_label() for line in acc_ax.get_lines()]
    assert labels[:2] == ["training", "validation"] and "best validation (epoch 2)" in labels
    np.testing.assert_allclose(acc_ax.get_lines()[0].get_xdata(), [1, 2, 3, 4])
    assert "best validation (epoch 2)" in [line.get_label() for line in loss_ax.get_lines()]

    class History:  # what keras' History looks like
        pass

    h = History()
    h.history = history
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_history(h, "loss", ax=ax) is fig
    with pytest.raises(KeyError, match="auc"):
        plot_history(history, "auc")


def test_plot_depth_sweep():
    rows = tuple(SweepRow(d, 100 * d, 0.9, v, t, 0.01, 0.02, 3.0, 1.0)
                 for d, v, t in ((0, 0.7, 0.68), (1, 0.8, 0.79), (2, 0.82, 0.8)))
    sweep = DepthSweep(rows, (), width=16, chance=0.5)
    fig = plot_depth_sweep(sweep)
    ax = fig.axes[0]
    assert list(ax.get_xticks()) == [0, 1, 2]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("test" in t for t in legend) and any("validation" in t for t in legend)
    assert any("0.50" in t for t in legend)
    # without a test set only the validation curve is drawn
    rows = tuple(SweepRow(r.depth, r.params, r.train_accuracy, r.val_accuracy, float("nan"), 0.0,
                          float("nan"), 1.0, 1.0) for r in rows)
    legend = [t.get_text() for t in plot_depth_sweep(DepthSweep(rows, (), 16, 0.5)).axes[0].get_legend().get_texts()]
    assert not any("test" in t for t in legend)


def test_diagrams_does_not_import_keras():
    import subprocess
    import sys

    code = "import sys, radlab.diagrams; sys.exit('keras' in sys.modules or 'tensorflow' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
    assert diagrams.__all__
