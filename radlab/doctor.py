"""``radlab doctor``: check what breaks workshops, before the workshop.

Each probe returns a :class:`Check` (OK, WARN or FAIL, with a hint). The
report is a table; the exit status is non-zero when any check FAILs. Probes
read versions from package metadata and Jupyter's data paths, so the doctor
runs in a second or two and never starts a kernel.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Callable

__all__ = ["Check", "run_checks", "format_table", "main", "PROBES"]

OK, WARN, FAIL = "OK", "WARN", "FAIL"


@dataclass
class Check:
    """The result of one probe."""

    name: str
    status: str  # OK, WARN or FAIL
    detail: str
    hint: str = ""


# -- small readers, monkeypatched in the tests ---------------------------------
def package_version(dist: str) -> str | None:
    """Installed version of a distribution, or None when it is not installed."""
    try:
        return importlib_metadata.version(dist)
    except importlib_metadata.PackageNotFoundError:
        return None


def labextension_version(name: str) -> str | None:
    """Version of a JupyterLab prebuilt extension found on Jupyter's data path."""
    try:
        from jupyter_core.paths import jupyter_path
    except ImportError:
        return None
    for base in jupyter_path("labextensions"):
        pkg = Path(base, *name.split("/"), "package.json")
        if pkg.is_file():
            try:
                return json.loads(pkg.read_text())["version"]
            except (OSError, ValueError, KeyError):
                return "unreadable"
    return None


def on_colab() -> bool:
    """True inside Google Colab, whose front end is not JupyterLab."""
    return "COLAB_RELEASE_TAG" in os.environ or "google.colab" in sys.modules


def _major(version: str | None) -> int | None:
    try:
        return int(str(version).split(".")[0])
    except (TypeError, ValueError):
        return None


# -- probes -------------------------------------------------------------------
def check_python() -> Check:
    v = sys.version_info
    text = f"{v.major}.{v.minor}.{v.micro}"
    if v < (3, 10):
        return Check("Python", FAIL, text, "radlab needs Python 3.10 or newer.")
    return Check("Python", OK, f"{text} ({sys.executable})")


def check_tensorflow() -> Check:
    tf_version = package_version("tensorflow") or package_version("tensorflow-cpu")
    keras_version = package_version("keras")
    if tf_version is None:
        return Check("TensorFlow", FAIL, "not installed", "pip install -e . (or make lab) installs it.")
    if _major(tf_version) != 2:
        return Check("TensorFlow", FAIL, tf_version, "radlab needs TensorFlow 2.x.")
    if keras_version is None or (_major(keras_version) or 0) < 3:
        return Check(
            "TensorFlow", FAIL, f"TensorFlow {tf_version}, Keras {keras_version}",
            "radlab needs Keras 3: pip install -U 'keras>=3'.",
        )
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    detail = f"TensorFlow {tf_version}, Keras {keras_version} ({backend} backend)"
    if backend != "tensorflow":
        return Check("TensorFlow", WARN, detail, "radlab is tested with KERAS_BACKEND=tensorflow.")
    return Check("TensorFlow", OK, detail)


# ipywidgets major -> (jupyterlab_widgets major, major of its npm lab extension
# @jupyter-widgets/jupyterlab-manager). The Python and npm packages number differently.
_WIDGETS_PAIRS = {8: (3, 5), 7: (1, 3)}


def check_widgets() -> Check:
    ipw = package_version("ipywidgets")
    jlw = package_version("jupyterlab_widgets")
    ext = labextension_version("@jupyter-widgets/jupyterlab-manager")
    if ipw is None:
        return Check("ipywidgets", FAIL, "not installed", "pip install 'ipywidgets>=8'.")
    if on_colab():  # Colab renders widgets itself; no JupyterLab extension is involved
        return Check("ipywidgets", OK, f"ipywidgets {ipw} (Colab's own widget front end)")
    detail = f"ipywidgets {ipw}, jupyterlab_widgets {jlw}, lab extension {ext}"
    need = _WIDGETS_PAIRS.get(_major(ipw))
    if jlw is None or ext is None:
        return Check(
            "ipywidgets", FAIL, detail,
            "The JupyterLab widget manager is missing: pip install 'jupyterlab_widgets>=3' in the "
            "environment that runs JupyterLab, then restart JupyterLab.",
        )
    if need is not None and (_major(jlw), _major(ext)) != need:
        return Check(
            "ipywidgets", FAIL, detail,
            f"Mismatch: ipywidgets {_major(ipw)}.x needs jupyterlab_widgets {need[0]}.x (lab "
            f"extension {need[1]}.x). This causes "
            "'Error displaying widget: model not found'. Fix: pip install -U ipywidgets "
            "jupyterlab_widgets in the environment that runs JupyterLab, then restart it and "
            "reload the browser tab.",
        )
    return Check("ipywidgets", OK, detail)


def check_ipympl() -> Check:
    version = package_version("ipympl")
    if version is None:
        return Check("ipympl", FAIL, "not installed", "pip install ipympl (interactive figures).")
    if on_colab():
        return Check(
            "ipympl", OK, f"ipympl {version} (Colab)",
            "radlab enables Colab's custom widget manager for interactive figures.",
        )
    ext = labextension_version("jupyter-matplotlib")
    detail = f"ipympl {version}, lab extension jupyter-matplotlib {ext}"
    if ext is None:
        return Check(
            "ipympl", FAIL, detail,
            "ipympl's JupyterLab extension is not registered: reinstall ipympl in the environment "
            "that runs JupyterLab and restart it.",
        )
    return Check("ipympl", OK, detail)


def check_device() -> Check:
    from .env import device_info

    info = device_info()
    if info["kind"] == "GPU":
        mem = f", {info['memory_gb']} GB" if info.get("memory_gb") else ""
        return Check("Device", OK, f"GPU {info['name']}{mem}")
    return Check("Device", WARN, f"CPU only ({info['cores']} cores)", info.get("hint") or "")


def check_data_dir() -> Check:
    from .env import data_dir

    path = data_dir()
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".radlab-write-test-"):
            pass
    except OSError as exc:
        return Check(
            "Data directory", FAIL, f"{path} is not writable ({exc.strerror or exc})",
            "Set RADLAB_DATA_DIR to a writable folder, e.g. export RADLAB_DATA_DIR=~/radlab_data",
        )
    files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    files = [p for p in files if p.name != "README.md"]
    if files:
        total = sum(p.stat().st_size for p in files) / 2**20
        names = ", ".join(p.name for p in files[:6]) + (" ..." if len(files) > 6 else "")
        return Check("Data directory", OK, f"{path} (writable); cached: {names} ({total:.1f} MB)")
    return Check(
        "Data directory", OK, f"{path} (writable); nothing downloaded yet",
        "Optional: `radlab fetch --list` shows what can be pre-downloaded.",
    )


PROBES: list[Callable[[], Check]] = [
    check_python, check_tensorflow, check_widgets, check_ipympl, check_device, check_data_dir,
]


def run_checks(probes: list[Callable[[], Check]] | None = None) -> list[Check]:
    """Run every probe; a probe that crashes becomes a FAIL row, not a crash."""
    results = []
    for probe in probes if probes is not None else PROBES:
        try:
            results.append(probe())
        except Exception as exc:  # the doctor must always finish its report
            name = probe.__name__.removeprefix("check_").replace("_", " ").title()
            results.append(Check(name, FAIL, f"probe crashed: {type(exc).__name__}: {exc}"))
    return results


def format_table(results: list[Check]) -> str:
    """Render checks as a fixed-width text table with hints underneath."""
    width = max(len(r.name) for r in results)
    lines = [f"{'Check'.ljust(width)}  Status  Details", f"{'-' * width}  ------  -------"]
    for r in results:
        lines.append(f"{r.name.ljust(width)}  {r.status.ljust(6)}  {r.detail}")
        if r.hint and r.status != OK:
            lines.append(f"{''.ljust(width)}          -> {r.hint}")
    return "\n".join(lines)


def main(brief: bool = False) -> int:
    """Print the report; return 1 when something is broken, else 0."""
    results = run_checks()
    failed = [r for r in results if r.status == FAIL]
    if not (brief and not failed):
        print(format_table(results))
    if failed:
        print(f"\n{len(failed)} problem(s) found: fix the FAIL rows above before the workshop.")
        return 1
    print("radlab doctor: all good." if not brief else "radlab doctor: environment OK.")
    return 0
