"""Run-time environment: notebook setup, quick mode, data directory, device.

Nothing here runs at import time. TensorFlow is imported only inside the
functions that need it, so ``import radlab`` stays fast.
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import random
import sys
import tempfile
from pathlib import Path
from typing import Any, TypeVar

from ._version import __version__

__all__ = [
    "budget",
    "data_dir",
    "device_info",
    "environment_line",
    "is_quick",
    "setup_notebook",
]

T = TypeVar("T")

QUICK_ENV = "RADLAB_QUICK"
DATA_ENV = "RADLAB_DATA_DIR"
_TRUE = {"1", "true", "yes", "on"}


def is_quick() -> bool:
    """Return True when quick mode is on (``RADLAB_QUICK=1``).

    Quick mode is what the test suite and learners on slow laptops use: every
    notebook picks its small training budgets through :func:`budget`.
    """
    return os.environ.get(QUICK_ENV, "").strip().lower() in _TRUE


def budget(full: T, quick: T) -> T:
    """Pick a run-length setting: ``quick`` in quick mode, else ``full``.

    Parameters
    ----------
    full : any
        Value for a complete run (e.g. 20 epochs).
    quick : any
        Value for a quick run, used when ``RADLAB_QUICK=1`` (the tests set it).

    Returns
    -------
    any
        ``quick`` or ``full``.

    Examples
    --------
    >>> epochs = budget(full=20, quick=1)
    """
    return quick if is_quick() else full


def _project_root() -> Path | None:
    """The source checkout that holds this package, if radlab runs from one."""
    root = Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").is_file() and (root / "notebooks").is_dir():
        return root
    return None


def data_dir() -> Path:
    """Return the directory where radlab caches downloads.

    ``$RADLAB_DATA_DIR`` when set; otherwise ``data/`` in the radlab checkout,
    or ``~/radlab_data`` when radlab was installed from a wheel. The directory
    is not created here: :func:`radlab.data.fetch` creates it when it first
    writes.

    Returns
    -------
    pathlib.Path
        Absolute path of the data directory.
    """
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser().resolve()
    root = _project_root()
    if root is not None:
        return root / "data"
    return Path.home() / "radlab_data"


@contextlib.contextmanager
def _native_stderr_captured():
    """Hold back what C/C++ code writes to stderr (fd 2) while TensorFlow starts.

    TensorFlow logs through absl before ``TF_CPP_MIN_LOG_LEVEL`` takes effect
    ("oneDNN custom operations are on", "failed call to cuInit" on machines
    without a GPU). Jupyter forwards fd 2 into the notebook, where these lines
    look like errors to a learner. If the block raises, the captured text is
    written back so nothing that explains the failure is lost.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        fd = sys.__stderr__.fileno() if sys.__stderr__ else 2
        saved = os.dup(fd)
    except (OSError, ValueError, AttributeError):  # no real stderr (e.g. some IDEs)
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), fd)
        try:
            yield
        except BaseException:
            os.dup2(saved, fd)
            capture.seek(0)
            os.write(fd, capture.read())
            raise
        finally:
            os.dup2(saved, fd)
            os.close(saved)


def import_tensorflow():
    """Import TensorFlow (and Keras) without its start-up noise; returns the module."""
    if "tensorflow" not in sys.modules:
        with _native_stderr_captured():
            import keras  # noqa: F401  (Keras 3 imports TensorFlow as its backend)
            import tensorflow as tf

            tf.config.list_physical_devices("GPU")  # CUDA probing logs happen here, once
            # On CPUs without AVX-512, oneDNN logs "oneDNN supports DT_BOOL only on platforms
            # with AVX-512" (as an error, "E0000 ...") the first time a boolean tensor is
            # transposed, e.g. by the multi-label AUC metric mid-training. It is logged once
            # per process: let it happen here, where it is held back.
            tf.transpose(tf.constant([[True, False]]))
    _quiet_retracing_warnings()
    return sys.modules["tensorflow"]


class _RetracingFilter(logging.Filter):
    """Drops TensorFlow's "N out of the last M calls ... triggered tf.function retracing".

    Keras traces ``predict`` once per model. A lesson that trains and scores many
    small models on purpose (a depth sweep, a data-efficiency curve) trips this
    performance hint, which reads like a problem to a learner but is none.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


def _quiet_retracing_warnings() -> None:
    log = logging.getLogger("tensorflow")
    if not any(isinstance(f, _RetracingFilter) for f in log.filters):
        log.addFilter(_RetracingFilter())


def device_info() -> dict[str, Any]:
    """Describe the compute device TensorFlow will use.

    Never raises: a missing or broken GPU falls back to the CPU with a hint.

    Returns
    -------
    dict
        ``kind`` ("GPU" or "CPU"), ``name``, ``memory_gb`` (GPU only, or None),
        ``cores`` (CPU count) and ``hint`` (advice when no GPU is seen, or None).
    """
    cores = os.cpu_count() or 1
    info: dict[str, Any] = {
        "kind": "CPU",
        "name": platform.processor() or platform.machine(),
        "memory_gb": None,
        "cores": cores,
        "hint": None,
    }
    try:
        tf = import_tensorflow()
        gpus = tf.config.list_physical_devices("GPU")
    except Exception as exc:  # a broken CUDA install must not stop a lesson
        info["hint"] = f"TensorFlow could not list GPUs ({exc}); using the CPU."
        return info
    if not gpus:
        info["hint"] = (
            "No GPU visible to TensorFlow: everything runs on the CPU (quick mode keeps "
            "notebooks to minutes). On Colab choose Runtime > Change runtime type > GPU; "
            "on Linux with an NVIDIA card install the extra: pip install 'radlab[gpu]'."
        )
        return info
    info["kind"] = "GPU"
    info["name"] = gpus[0].name
    try:
        details = tf.config.experimental.get_device_details(gpus[0])
        info["name"] = details.get("device_name", info["name"])
    except Exception:
        pass
    info["memory_gb"] = _gpu_total_memory_gb()
    if len(gpus) > 1:
        info["name"] = f"{info['name']} (x{len(gpus)})"
    return info


def _gpu_total_memory_gb() -> float | None:
    """Total memory of the first NVIDIA GPU in GB, from nvidia-smi; None if unknown."""
    import shutil
    import subprocess

    exe = shutil.which("nvidia-smi")
    if not exe:
        return None
    try:
        out = subprocess.run(
            [exe, "--query-gpu=memory.total", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout
        return round(float(out.splitlines()[0]) / 1024, 1)
    except Exception:
        return None


def environment_line(device: dict[str, Any] | None = None) -> str:
    """One line describing versions, backend, device and quick mode."""
    import keras
    import tensorflow as tf

    device = device or device_info()
    if device["kind"] == "GPU":
        where = f"GPU {device['name']}"
        if device.get("memory_gb"):
            where += f" ({device['memory_gb']} GB)"
    else:
        where = f"CPU ({device['cores']} cores)"
    policy = keras.mixed_precision.dtype_policy().name
    extra = f" | precision {policy}" if policy != "float32" else ""
    return (
        f"radlab {__version__} | TensorFlow {tf.__version__} | Keras {keras.__version__} "
        f"({keras.backend.backend()} backend) | {where}{extra} | "
        f"quick mode {'ON' if is_quick() else 'off'}"
    )


def _plot_style() -> None:
    import matplotlib as mpl

    mpl.rcParams.update(
        {
            "figure.dpi": 100,
            "figure.figsize": (6.0, 4.0),
            "image.cmap": "gray",
            "image.interpolation": "nearest",
            "axes.grid": False,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "font.size": 10,
        }
    )


def _enable_inline_figures() -> None:
    """Show returned matplotlib figures inline in a Jupyter kernel.

    radlab's plot helpers build figures without pyplot, and the inline display
    hook is only installed once ``%matplotlib inline`` has run (or pyplot was
    imported), so without this a returned figure prints as ``<Figure ...>``.
    A learner who chose the interactive ``%matplotlib widget`` keeps it.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return
    import matplotlib

    backend = matplotlib.get_backend().lower()
    if "ipympl" in backend or "widget" in backend:
        return
    shell.run_line_magic("matplotlib", "inline")


def setup_notebook(seed: int = 0, *, verbose: bool = True) -> None:
    """Prepare a notebook: seeds, plot style, and one environment line.

    Call it in the first code cell of every notebook. It seeds Python's
    ``random``, NumPy and Keras (which seeds TensorFlow), sets radlab's plot
    style (grey colour map, nearest-neighbour images), and prints radlab,
    TensorFlow and Keras versions, the Keras backend, the device and whether
    quick mode is on. In a Jupyter kernel it also turns on inline figures.

    Parameters
    ----------
    seed : int, default 0
        Seed for all random number generators.
    verbose : bool, default True
        Print the environment line.

    Returns
    -------
    None
        Nothing, so the setup cell shows only the environment line; the same
        facts are available from :func:`device_info` and :func:`is_quick`.
    """
    import numpy as np

    import_tensorflow()
    random.seed(seed)
    np.random.seed(seed)
    import keras

    keras.utils.set_random_seed(seed)
    _enable_inline_figures()
    _plot_style()
    device = device_info()
    line = environment_line(device)
    if verbose:
        print(line)
        if device["hint"]:
            print("  hint:", device["hint"])
    return None
