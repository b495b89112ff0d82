"""The live training dashboard: history, Stop, throttling, errors, headless use."""

from __future__ import annotations

import types

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from radlab.training import fit  # noqa: E402
from radlab.widgets import dashboard as dashboard_module  # noqa: E402
from radlab.widgets.dashboard import Dashboard, dashboard  # noqa: E402


def _model(n_classes: int = 1):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Flatten(),
        keras.layers.Dense(n_classes, activation="sigmoid" if n_classes == 1 else "softmax"),
    ])
    model.compile(optimizer="sgd", metrics=["accuracy"], loss="binary_crossentropy"
                  if n_classes == 1 else "sparse_categorical_crossentropy")
    return model


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.random((64, 8, 8, 1), dtype=np.float32)
    y = (x.mean(axis=(1, 2, 3)) > 0.5).astype("int64")
    return x, y


def test_history_matches_keras_history_with_plain_model_fit(data):
    x, y = data
    board = Dashboard(mode="silent", batch_size=16)
    history = _model().fit(x, y, batch_size=16, epochs=3, validation_data=(x[:16], y[:16]),
                           callbacks=[board], verbose=0)
    assert board.history == history.history
    assert board.state.epoch == 3 and board.state.epochs == 3
    assert board.state.steps == 4 and not board.state.running and not board.state.stopped
    assert board.state.images_per_s > 0 and board.state.eta_s == 0.0


def test_stop_button_ends_training_after_the_current_batch(data):
    x, y = data
    board = Dashboard(mode="widget")
    batches = []

    def click_at_third_batch(batch, logs=None):
        batches.append(batch)
        if len(batches) == 3:
            board.stop_button.click()

    clicker = keras.callbacks.LambdaCallback(on_train_batch_end=click_at_third_batch)
    history = fit(_model(), (x, y), epochs=5, batch_size=8, dashboard=board, callbacks=[clicker])
    assert len(batches) == 3  # 8 batches per epoch x 5 epochs were requested
    assert len(history.history["loss"]) == 1
    assert board.state.stopped and board.state.stop_reason == "Stop button"
    assert board.stop_button.disabled
    assert "Stopped after epoch 1" in board._status.value


class _Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def _start(board, monkeypatch, *, steps, epochs=1):
    clock = _Clock()
    monkeypatch.setattr(dashboard_module, "time", types.SimpleNamespace(perf_counter=clock))
    board.set_model(_model())
    board.set_params({"epochs": epochs, "steps": steps, "verbose": 0})
    board.on_train_begin()
    board.on_epoch_begin(0)
    return clock


def test_batch_hook_refreshes_at_most_once_per_interval(monkeypatch):
    board = Dashboard(mode="widget", batch_size=32, refresh_s=0.5)
    changes = []
    board.progress.observe(changes.append, names="value")
    clock = _start(board, monkeypatch, steps=2000)
    for batch in range(1250):  # 1.25 simulated seconds, 1 ms per batch
        clock.now += 0.001
        board.on_train_batch_end(batch, {"loss": 0.5})
    assert board.state.progress_refreshes == 2  # after 0.5 s and 1.0 s
    assert len(changes) == 2
    # At the last refresh: 32 images per ms, and the batches left at 1 ms each.
    assert 1000 <= board.state.batch <= 1002
    assert board.state.images_per_s == pytest.approx(32_000, rel=1e-6)
    assert board.state.eta_s == pytest.approx((2000 - board.state.batch) * 0.001, rel=1e-6)
    assert "32,000 images/s" in board._status.value and "loss 0.5" in board._status.value


def test_many_quick_batches_cause_at_most_a_couple_of_refreshes():
    board = Dashboard(mode="widget", batch_size=8)
    board.set_model(_model())
    board.set_params({"epochs": 1, "steps": 20_000, "verbose": 0})
    board.on_train_begin()
    board.on_epoch_begin(0)
    for batch in range(20_000):
        board.on_train_batch_end(batch, {"loss": 1.0})
    assert board.state.progress_refreshes <= 2


def test_throughput_and_eta_across_epochs(monkeypatch):
    board = Dashboard(mode="silent", batch_size=10, refresh_s=0.5)
    clock = _start(board, monkeypatch, steps=100, epochs=3)
    for batch in range(100):
        clock.now += 0.01
        board.on_train_batch_end(batch)
    board.on_test_begin()
    clock.now += 0.5  # validation
    board.on_epoch_end(0, {"loss": 1.0})
    # Training part: 100 batches x 10 images in 1 s; the epoch with validation took 1.5 s.
    assert board.state.images_per_s == pytest.approx(1000.0)
    assert board.state.eta_s == pytest.approx(2 * 1.5)


def test_errors_in_a_refresh_go_to_the_output_and_training_goes_on(data, monkeypatch):
    x, y = data

    def broken(self):
        raise RuntimeError("plotting went wrong")

    monkeypatch.setattr(Dashboard, "_draw_curves", broken)
    board = Dashboard(mode="widget", curves_s=0)
    history = fit(_model(), (x, y), epochs=2, batch_size=16, dashboard=board)
    assert len(history.history["loss"]) == 2
    assert board.state.errors >= 1
    texts = "".join(out["text"] for out in board.errors.outputs)
    assert "RuntimeError: plotting went wrong" in texts


def test_errors_without_widgets_are_warned_once(monkeypatch):
    board = Dashboard(mode="silent", refresh_s=0)

    def broken(self, batch, logs, now):
        raise ValueError("bad")

    monkeypatch.setattr(Dashboard, "_update_progress_state", broken)
    board.set_model(_model())
    board.set_params({"epochs": 1, "steps": 3, "verbose": 0})
    board.on_train_begin()
    board.on_epoch_begin(0)
    with pytest.warns(RuntimeWarning, match="training goes on"):
        for batch in range(3):
            board._next_progress = 0.0
            board.on_train_batch_end(batch)
    assert board.state.errors == 3


def test_curves_have_one_plot_per_metric_with_training_and_validation(data):
    x, y = data
    board = Dashboard(mode="widget", curves_s=0)
    history = fit(_model(), (x, y), validation_data=(x[:16], y[:16]), epochs=3, batch_size=16,
                  dashboard=board)
    titles = [ax.texts[0].get_text() for ax in board.figure.axes if ax.get_visible()]
    assert titles == ["loss", "accuracy"]
    train_line, val_line = board.figure.axes[0].get_lines()
    assert list(train_line.get_xdata()) == [1, 2, 3]
    np.testing.assert_allclose(train_line.get_ydata(), history.history["loss"])
    np.testing.assert_allclose(val_line.get_ydata(), history.history["val_loss"])
    assert board._plot_box.children[0].value[:8] == b"\x89PNG\r\n\x1a\n"
    assert board.progress.value == board.progress.max and board.progress.bar_style == "success"


def test_sample_panel_shows_predicted_probabilities(data):
    x, y = data
    board = dashboard(samples=(x[:3], y[:3]), class_names=["normal", "pneumonia"],
                      mode="widget", curves_s=0)
    model = _model()
    fit(model, (x, y), epochs=1, batch_size=16, dashboard=board)
    p = model.predict(x[:3], verbose=0)[:, 0]
    for i, label in enumerate(board._sample_html):
        assert f"P(pneumonia) {p[i]:.2f}" in label.value
        colour = "#1a7f37" if (p[i] >= 0.5) == bool(y[i]) else "#cf222e"
        assert colour in label.value


def test_sample_panel_names_the_top_class_of_a_softmax(data):
    x, _ = data
    y = np.array([0, 1, 2])
    board = Dashboard(samples=(x[:3, ..., 0], y), class_names=["a", "b", "c"], mode="widget")
    model = _model(n_classes=3)
    fit(model, (x[:12], np.arange(12) % 3), epochs=1, batch_size=4, dashboard=board)
    p = model.predict(x[:3], verbose=0)
    for i, label in enumerate(board._sample_html):
        top = int(np.argmax(p[i]))
        assert f"{'abc'[top]} {p[i, top]:.2f}" in label.value


def test_headless_construction_and_display():
    board = Dashboard()  # pytest has no kernel: a terminal dashboard
    assert board.mode == "text" and board._container is None
    bundle = board._repr_mimebundle_()  # building the widget works without a front end
    assert "text/plain" in bundle
    assert board.widget is board.container
    assert Dashboard(mode="silent").stop_button.description == "Stop"  # built on first use
    assert board.widget.state is board.state
    assert "not started" in repr(board)


def test_bad_arguments():
    with pytest.raises(ValueError, match="mode"):
        Dashboard(mode="fancy")
    with pytest.raises(ValueError, match="budget"):
        Dashboard(budget=0)
    with pytest.raises(ValueError, match="labels"):
        Dashboard(samples=(np.zeros((3, 8, 8)), np.zeros(2)))
    with pytest.raises(TypeError, match="samples"):
        Dashboard(samples=np.zeros((3, 8, 8)))


def test_gpu_memory_and_precision_are_shown(monkeypatch):
    gpu = {"kind": "GPU", "name": "NVIDIA H100", "cores": 16, "memory_total_gb": 80.0,
           "memory_used_gb": 0.5, "memory_peak_gb": 0.5, "precision": "mixed_float16",
           "text": "GPU NVIDIA H100"}
    monkeypatch.setattr(dashboard_module, "device_summary", lambda model=None: dict(gpu))
    monkeypatch.setattr(dashboard_module, "gpu_memory_gb", lambda: (1.5, 2.25))
    board = Dashboard(mode="widget", batch_size=8)
    clock = _start(board, monkeypatch, steps=10)
    clock.now += 1.0
    board.on_train_batch_end(0)
    assert ("GPU NVIDIA H100 | memory 1.5 / 80 GB (peak 2.2 GB) | mixed_float16"
            in board._device_html.value)
