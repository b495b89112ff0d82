"""rl.fit and the pure maths behind the training dashboard."""

from __future__ import annotations

import math

import numpy as np
import pytest

from radlab.errors import RadlabError
from radlab.training import (
    ModelNotCompiledError,
    device_summary,
    device_text,
    eta_seconds,
    fit,
    format_duration,
    format_epoch_line,
    images_per_second,
    next_refresh_time,
    ordered_metrics,
    precision_policy,
)

# -- pure helpers ---------------------------------------------------------------------------


def test_images_per_second():
    assert images_per_second(10 * 32, 2.0) == 160.0
    assert images_per_second(100, 0.0) is None
    assert images_per_second(0, 1.0) is None
    assert images_per_second(None, 1.0) is None


def test_eta_within_and_after_the_current_epoch():
    # 50 batches at 0.1 s, then two epochs measured at 12 s each (validation included).
    assert eta_seconds(batches_left=50, epochs_left=2, seconds_per_batch=0.1,
                       seconds_per_epoch=12.0) == pytest.approx(29.0)
    # No epoch measured yet: later epochs are steps x seconds per batch.
    assert eta_seconds(batches_left=10, epochs_left=1, seconds_per_batch=0.5,
                       steps_per_epoch=40) == pytest.approx(5.0 + 20.0)
    assert eta_seconds(batches_left=0, epochs_left=0, seconds_per_batch=None) == 0.0
    assert eta_seconds(batches_left=0, epochs_left=3, seconds_per_batch=None,
                       seconds_per_epoch=2.0) == pytest.approx(6.0)


def test_eta_unknown_when_nothing_measured():
    assert eta_seconds(batches_left=5, epochs_left=0, seconds_per_batch=None) is None
    assert eta_seconds(batches_left=0, epochs_left=2, seconds_per_batch=0.1) is None
    with pytest.raises(ValueError):
        eta_seconds(batches_left=-1, epochs_left=0, seconds_per_batch=0.1)


def test_next_refresh_time_keeps_refreshes_within_budget():
    # A cheap refresh waits the interval; an expensive one waits cost / budget.
    assert next_refresh_time(10.0, 0.001, interval=0.5, budget=0.02) == pytest.approx(10.5)
    assert next_refresh_time(10.0, 0.040, interval=0.5, budget=0.02) == pytest.approx(12.0)
    with pytest.raises(ValueError):
        next_refresh_time(0.0, 0.1, interval=0.5, budget=0.0)


@pytest.mark.parametrize("seconds, text", [
    (None, "?"), (float("nan"), "?"), (3.21, "3.2 s"), (45.4, "45 s"), (200, "3 min 20 s"),
    (3600 + 5 * 60 + 10, "1 h 05 min"), (-1, "0.0 s"),
])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_metrics_are_ordered_loss_first_then_validation():
    keys = ["accuracy", "auc", "loss", "val_accuracy", "val_auc", "val_loss"]
    assert ordered_metrics(keys) == [
        "loss", "accuracy", "auc", "val_loss", "val_accuracy", "val_auc"]


def test_format_epoch_line():
    line = format_epoch_line(2, 10, {"accuracy": 0.5, "loss": 0.6931}, seconds=3.1,
                             images_per_s=1234.4, eta_s=25)
    assert line.startswith("epoch  2/10  loss 0.6931  accuracy 0.5000")
    assert "3.1 s" in line and "1,234 img/s" in line and "ETA 25 s" in line
    last = format_epoch_line(10, 10, {"loss": 1e-5}, eta_s=0.0)
    assert "ETA" not in last and "loss 1e-05" in last


def test_device_summary_on_this_machine():
    summary = device_summary()
    assert summary["kind"] in {"CPU", "GPU"}
    assert summary["cores"] >= 1
    assert summary["precision"] == precision_policy()
    if summary["kind"] == "CPU":
        assert summary["memory_used_gb"] is None
        assert summary["text"].startswith("CPU | ")


def test_device_text_shows_gpu_memory_and_mixed_precision():
    text = device_text({"kind": "GPU", "name": "NVIDIA A100", "cores": 8,
                        "memory_used_gb": 3.21, "memory_peak_gb": 5.0, "memory_total_gb": 40.0,
                        "precision": "mixed_float16"})
    assert text == "GPU NVIDIA A100 | memory 3.2 / 40 GB (peak 5.0 GB) | mixed_float16"
    assert device_text({"kind": "CPU", "name": "x86_64", "cores": 2,
                        "precision": "float32"}) == "CPU | 2 cores"


# -- fit ----------------------------------------------------------------------------------


def _model(seed: int = 1, n_classes: int = 1):
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Flatten(),
        keras.layers.Dense(4, activation="relu"),
        keras.layers.Dense(n_classes, activation="sigmoid" if n_classes == 1 else "softmax"),
    ])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="binary_crossentropy"
                  if n_classes == 1 else "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


@pytest.fixture(scope="module")
def arrays():
    rng = np.random.default_rng(0)
    x = rng.random((64, 8, 8), dtype=np.float32)
    y = (x.mean(axis=(1, 2)) > 0.5).astype("int64")
    return x, y


class _Phantoms:
    """Anything with .x and .y, like radlab.data.PhantomSet."""

    def __init__(self, x, y):
        self.x, self.y = x[..., None], y


def test_fit_accepts_arrays_datasets_and_objects_with_x_y(arrays):
    from radlab.data import as_dataset

    x, y = arrays
    for data, val in [
        ((x, y), (x[:16], y[:16])),
        (as_dataset(x, y, 16), as_dataset(x[:16], y[:16], 16, shuffle=False)),
        (_Phantoms(x, y), _Phantoms(x[:16], y[:16])),
    ]:
        history = fit(_model(), data, validation_data=val, epochs=2, batch_size=16,
                      dashboard=False)
        assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
        assert len(history.history["loss"]) == 2
        assert all(math.isfinite(v) for v in history.history["val_loss"])


def test_fit_with_a_real_phantom_set():
    chest_phantoms = pytest.importorskip("radlab.data.synthetic").chest_phantoms
    phantoms = chest_phantoms(24, size=32, seed=0)
    import keras

    model = keras.Sequential([keras.Input((32, 32, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy")
    history = fit(model, phantoms, epochs=1, batch_size=8, dashboard=False)
    assert len(history.history["loss"]) == 1


def _final_weights(arrays, seed):
    x, y = arrays
    history = fit(_model(seed=1), (x, y), epochs=2, batch_size=8, seed=seed, dashboard=False)
    return history.model.get_weights(), history.history["loss"][-1]


def test_fit_is_deterministic_with_the_same_seed(arrays):
    weights_a, loss_a = _final_weights(arrays, seed=3)
    weights_b, loss_b = _final_weights(arrays, seed=3)
    weights_c, loss_c = _final_weights(arrays, seed=4)  # another batch order
    assert loss_a == loss_b
    assert all(np.array_equal(a, b) for a, b in zip(weights_a, weights_b))
    assert not all(np.array_equal(a, c) for a, c in zip(weights_a, weights_c))


def test_uncompiled_model_gives_a_clear_error(arrays):
    import keras

    model = keras.Sequential([keras.Input((8, 8)), keras.layers.Flatten(), keras.layers.Dense(1)])
    with pytest.raises(ModelNotCompiledError, match=r"model\.compile") as info:
        fit(model, arrays, epochs=1, dashboard=False)
    assert isinstance(info.value, RadlabError)


def test_bad_inputs_are_explained(arrays):
    from radlab.data import as_dataset

    x, y = arrays
    with pytest.raises(TypeError, match="labels"):
        fit(_model(), x, epochs=1, dashboard=False)
    with pytest.raises(ValueError, match="augment"):
        fit(_model(), as_dataset(x, y, 8), epochs=1, augment="radiograph", dashboard=False)
    with pytest.raises(ValueError, match="epochs"):
        fit(_model(), arrays, epochs=0, dashboard=False)
    with pytest.raises(TypeError, match="keras.Model"):
        fit("not a model", arrays, epochs=1)


def test_fit_adds_a_dashboard_that_prints_one_line_per_epoch(arrays, capsys):
    history = fit(_model(), arrays, epochs=2, batch_size=16)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch")]
    assert len(lines) == 2 and lines[0].startswith("epoch 1/2  loss ")
    assert len(history.history["loss"]) == 2


def test_fit_gives_its_batch_size_to_the_dashboard(arrays):
    from radlab.widgets.dashboard import Dashboard

    board = Dashboard(mode="silent")
    fit(_model(), arrays, epochs=1, batch_size=16, dashboard=board)
    assert board.batch_size == 16
    assert board.state.steps == 4
    assert board.state.images_per_s == pytest.approx(16 * board.state.batches_per_s)


def test_interrupt_returns_the_history_so_far(arrays):
    import keras

    from radlab.widgets.dashboard import Dashboard

    def interrupt(epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt

    board = Dashboard(mode="silent")
    history = fit(_model(), arrays, epochs=5, batch_size=16, dashboard=board,
                  callbacks=[keras.callbacks.LambdaCallback(on_epoch_begin=interrupt)])
    assert len(history.history["loss"]) == 1
    assert board.state.stopped and board.state.stop_reason == "interrupted"
