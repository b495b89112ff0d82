"""Quick mode, budgets, the data directory and notebook set-up."""

from pathlib import Path

import numpy as np

import radlab as rl
from radlab import env


def test_budget_follows_quick_mode(monkeypatch):
    monkeypatch.setenv("RADLAB_QUICK", "1")
    assert rl.budget(full=20, quick=1) == 1
    monkeypatch.setenv("RADLAB_QUICK", "0")
    assert rl.budget(full=20, quick=1) == 20
    monkeypatch.delenv("RADLAB_QUICK")
    assert rl.budget(full=[1, 2], quick=[1]) == [1, 2]


def test_data_dir_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("RADLAB_DATA_DIR", str(tmp_path / "cache"))
    assert rl.data_dir() == tmp_path / "cache"
    assert not (tmp_path / "cache").exists()  # asking does not create it


def test_data_dir_defaults_to_checkout_data(monkeypatch):
    monkeypatch.delenv("RADLAB_DATA_DIR")
    root = Path(env.__file__).resolve().parent.parent
    assert rl.data_dir() == root / "data"


def test_device_info_falls_back_to_cpu_when_tensorflow_breaks(monkeypatch):
    import tensorflow as tf

    def broken(*args, **kwargs):
        raise RuntimeError("CUDA driver exploded")

    monkeypatch.setattr(tf.config, "list_physical_devices", broken)
    info = rl.device_info()
    assert info["kind"] == "CPU" and "CUDA driver exploded" in info["hint"]


def test_device_info_reports_gpu(monkeypatch):
    import tensorflow as tf

    class FakeGPU:
        name = "/physical_device:GPU:0"

    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind: [FakeGPU()])
    monkeypatch.setattr(
        tf.config.experimental, "get_device_details", lambda d: {"device_name": "NVIDIA Test"}
    )
    monkeypatch.setattr(env, "_gpu_total_memory_gb", lambda: 16.0)
    info = rl.device_info()
    assert (info["kind"], info["name"], info["memory_gb"], info["hint"]) == (
        "GPU", "NVIDIA Test", 16.0, None)
    assert "GPU NVIDIA Test (16.0 GB)" in env.environment_line(info)


def test_setup_notebook_seeds_and_reports(capsys, monkeypatch):
    monkeypatch.setenv("RADLAB_QUICK", "1")
    assert rl.setup_notebook(seed=7) is None  # nothing for the setup cell to echo
    first = np.random.rand(3)
    rl.setup_notebook(seed=7, verbose=False)
    assert np.array_equal(first, np.random.rand(3))
    line = capsys.readouterr().out.splitlines()[0]
    for part in ("radlab", "TensorFlow", "Keras", "backend", "CPU", "quick mode ON"):
        assert part in line
    import matplotlib as mpl

    assert mpl.rcParams["image.cmap"] == "gray"


def test_native_stderr_is_held_back_and_replayed_on_error(capfd):
    import os

    with env._native_stderr_captured():
        os.write(2, b"oneDNN chatter\n")
    assert "oneDNN chatter" not in capfd.readouterr().err
    try:
        with env._native_stderr_captured():
            os.write(2, b"the real reason\n")
            raise RuntimeError("import failed")
    except RuntimeError:
        pass
    assert "the real reason" in capfd.readouterr().err


def test_import_tensorflow_holds_back_runtime_onednn_notice():
    """A later boolean transpose (multi-label AUC) must not print oneDNN's DT_BOOL notice."""
    import subprocess
    import sys

    code = ("from radlab.env import import_tensorflow\n"
            "tf = import_tensorflow()\n"
            "tf.transpose(tf.constant([[True, False], [False, True]]))\n"
            "print('done')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "done" in done.stdout, done.stderr[-2000:]
    assert "DT_BOOL" not in done.stderr and "E0000" not in done.stderr, done.stderr[-2000:]


def test_retracing_hint_is_filtered_but_other_tensorflow_warnings_are_not(caplog):
    import logging

    from radlab.env import import_tensorflow

    import_tensorflow()
    log = logging.getLogger("tensorflow")
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        log.warning("5 out of the last 5 calls to <function f> triggered tf.function retracing. ...")
        log.warning("something else went wrong")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["something else went wrong"]
