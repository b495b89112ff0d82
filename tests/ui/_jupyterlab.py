"""Drive JupyterLab in a test: a server process and a notebook opened in a browser page.

:class:`LabServer` starts and stops a JupyterLab server; :class:`Notebook` opens a
notebook in a Playwright page, runs it the way a learner does (Run > Run All Cells),
waits for it, and reads back what is on screen: each cell's prompt, source and
outputs, as the browser rendered them. :func:`problems` turns that into messages a
person can act on ("Widget failed to render: ... in cell 29 of 01_images_as_data.ipynb").

Used by ``tests/ui`` (``make test-ui``); needs jupyterlab, and playwright for pages.
"""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: Screenshots of the browser tests (git-ignored).
ARTIFACTS = REPO / "artifacts" / "ui"


def ui_enabled() -> bool:
    """True when the browser tests should run (``RADLAB_UI=1``, set by ``make test-ui``)."""
    return os.environ.get("RADLAB_UI", "") not in ("", "0")


#: JupyterLab user settings for the test server: {plugin id: settings}.
LAB_SETTINGS = {
    # Never save: running a notebook must not write outputs into the repository.
    "@jupyterlab/docmanager-extension:plugin": {"autosave": False},
    # Render every cell (JupyterLab 4 can leave off-screen cells out of the DOM).
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
    # No "get Jupyter news?" pop-up over the notebook, and no update check (network).
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false",
                                                     "checkForUpdates": False},
}
START_TIMEOUT_S = 120


# -- the JupyterLab server -----------------------------------------------------------------
def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_lab_settings(folder: Path) -> None:
    for plugin, values in LAB_SETTINGS.items():
        package, name = plugin.rsplit(":", 1)
        path = folder / package / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def _children(pid: int) -> list[int]:
    """Descendant process ids of ``pid`` (Linux /proc; empty elsewhere)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    out, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


class LabServer:
    """A JupyterLab server process for tests: start, talk to its REST API, stop.

    Parameters
    ----------
    root_dir : Path
        The folder JupyterLab serves (URLs ``/lab/tree/<path relative to it>``).
    python : str
        Interpreter whose environment provides JupyterLab, the kernel and the lab
        extensions (default: the one running the tests).
    env : dict, optional
        Extra environment variables for the server and its kernels.
    """

    def __init__(self, root_dir: Path, python: str = sys.executable, env: dict | None = None):
        self.root_dir = Path(root_dir)
        self.python = python
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.home = Path(tempfile.mkdtemp(prefix="radlab-ui-lab-"))
        self.log_path = self.home / "jupyterlab.log"
        self.extra_env = dict(env or {})
        self.process: subprocess.Popen | None = None
        self.started_in_s: float | None = None

    # -- life cycle -----------------------------------------------------------------------
    def command(self) -> list[str]:
        settings, workspaces = self.home / "settings", self.home / "workspaces"
        _write_lab_settings(settings)
        workspaces.mkdir(exist_ok=True)
        cmd = [
            self.python, "-m", "jupyterlab", "--no-browser",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}",
            f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={workspaces}",
            # Opening a notebook makes a checkpoint copy; keep it out of the repository.
            f"--FileCheckpoints.checkpoint_dir={self.home / 'checkpoints'}",
        ]
        if hasattr(os, "getuid") and os.getuid() == 0:
            cmd.append("--allow-root")  # Jupyter refuses root otherwise (containers, CI)
        return cmd

    def environment(self) -> dict:
        env = dict(os.environ)
        # A user's ~/.jupyter and ~/.ipython must not change what the test sees; JUPYTER_PATH
        # (extra extension folders) is kept on purpose, to test a given set of extensions.
        for name, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                          ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython")):
            env[name] = str(self.home / sub)
        env.pop("MPLBACKEND", None)  # the kernel picks the notebook backend, as for a learner
        env.pop("JUPYTER_TOKEN", None)
        env.update({"PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2"})
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = START_TIMEOUT_S) -> LabServer:
        t0 = time.perf_counter()
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                self.command(), cwd=self.root_dir, env=self.environment(),
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group, killed as one
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"JupyterLab exited with code {self.process.returncode} while starting.\n"
                    f"Command: {' '.join(self.command())}\n{self.log_tail()}")
            try:
                self.api("GET", "/api/status", timeout=2)
                break
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"JupyterLab did not answer {self.base_url}/api/status within {timeout:.0f} s.\n"
                    f"{self.log_tail()}")
            time.sleep(0.25)
        self.started_in_s = time.perf_counter() - t0
        return self

    def stop(self) -> None:
        proc = self.process
        if proc is None or proc.poll() is not None:
            return
        kernels = _children(proc.pid)  # kernels run in their own sessions: remember them
        try:
            self.api("POST", "/api/shutdown", timeout=5)  # stops the kernels, then itself
            proc.wait(timeout=20)
        except (OSError, urllib.error.URLError, subprocess.TimeoutExpired):
            pass
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if proc.poll() is not None:
                break
            try:
                os.killpg(proc.pid, sig)
                proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        for pid in kernels:  # a kernel that outlived the server
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            text = ["(no log)"]
        return f"--- last {len(text)} lines of {self.log_path} ---\n" + "\n".join(text)

    # -- REST API ---------------------------------------------------------------------------
    def url(self, path: str = "/lab") -> str:
        """A browser URL with the token, e.g. ``url("/lab/tree/notebooks/x.ipynb")``."""
        sep = "&" if "?" in path else "?"
        return f"{self.base_url}{path}{sep}token={self.token}"

    def api(self, method: str, path: str, body=None, timeout: float = 10):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base_url + path, data=data, method=method,
            headers={"Authorization": f"token {self.token}",
                     "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read().decode()
        return json.loads(text) if text.strip() else None

    def session_for(self, path: str) -> dict | None:
        """The kernel session of the notebook at ``path`` (relative to root_dir), if any."""
        for session in self.api("GET", "/api/sessions"):
            if session.get("path") == path:
                return session
        return None

    def close_session(self, path: str) -> None:
        """Shut down the notebook's kernel (frees memory between tests)."""
        session = self.session_for(path)
        if session:
            self.api("DELETE", f"/api/sessions/{session['id']}", timeout=30)



def open_page(browser, width: int = 1400, height: int = 1000):
    """A page in a fresh browser context (no cookies or storage shared with other tests).

    ``page.console_errors`` collects the browser console's errors: the widget manager
    logs there why a widget failed to render. Close it with ``page.context.close()``.
    """
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
    return page


# -- a notebook in the browser -----------------------------------------------------------
#: Reads every cell of one notebook panel as rendered: what a learner sees.
_READ_CELLS_JS = """(panelId) => {
  const panel = document.getElementById(panelId);
  if (!panel) return null;
  return Array.from(panel.querySelectorAll('.jp-Cell')).map((cell, index) => ({
    index,
    code: cell.classList.contains('jp-CodeCell'),
    prompt: (cell.querySelector('.jp-InputArea-prompt') || {}).textContent || '',
    source: (cell.querySelector('.cm-content') || {}).innerText || '',
    outputs: Array.from(cell.querySelectorAll('.jp-OutputArea-output')).map(o => ({
      mime: o.getAttribute('data-mime-type'),
      text: (o.innerText || '').slice(0, 4000),
      widget: o.querySelector('.jupyter-widgets') !== null,
    })),
  }));
}"""

# The tab of an open document carries the id of its panel.
_PANEL_ID_JS = """(name) => {
  for (const tab of document.querySelectorAll('.lm-DockPanel-tabBar .lm-TabBar-tab')) {
    const label = tab.querySelector('.lm-TabBar-tabLabel');
    if (label && label.textContent.trim() === name) return tab.getAttribute('data-id');
  }
  return null;
}"""


@dataclass
class Cell:
    """One cell as rendered in JupyterLab. ``number`` is 1-based, counting every cell,
    as JupyterLab's status bar does ("Cell 29/55")."""

    index: int
    code: bool
    prompt: str
    source: str
    outputs: list = field(default_factory=list)

    @property
    def number(self) -> int:
        return self.index + 1

    @property
    def execution_count(self) -> int | None:
        match = re.search(r"\[(\d+)\]", self.prompt)
        return int(match.group(1)) if match else None

    @property
    def running(self) -> bool:
        return "*" in self.prompt

    def describe(self, notebook: str) -> str:
        first = next((line.strip() for line in self.source.splitlines() if line.strip()), "")
        count = self.execution_count
        where = f"cell {self.number} of {notebook}"
        return f"{where} ([{count if count is not None else ' '}] `{first[:70]}`)"


class Notebook:
    """A notebook opened in JupyterLab in a Playwright page.

    Parameters
    ----------
    page : playwright.sync_api.Page
    lab : LabServer
    path : str
        The notebook's path relative to the server's root, e.g. ``"notebooks/01_x.ipynb"``.
    """

    def __init__(self, page, lab: LabServer, path: str):
        self.page, self.lab, self.path = page, lab, path
        self.name = Path(path).name
        self.panel_id: str | None = None

    def open(self, timeout: float = 90) -> Notebook:
        """Load JupyterLab with only this notebook open and wait until its kernel is idle."""
        # ?reset: start from an empty workspace, so no other notebook is restored beside it.
        self.page.goto(self.lab.url(f"/lab/tree/{self.path}?reset"))
        deadline = time.monotonic() + timeout
        while self.panel_id is None:
            self.panel_id = self.page.evaluate(_PANEL_ID_JS, self.name)
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"JupyterLab did not open {self.path} within {timeout:.0f} s "
                    f"(no tab named {self.name!r}).\n{self.lab.log_tail(20)}")
            time.sleep(0.25)
        self.panel.locator(".jp-Cell").first.wait_for()
        self.wait_for_kernel_idle(max(5.0, deadline - time.monotonic()))
        return self

    @property
    def panel(self):
        return self.page.locator(f"[id='{self.panel_id}']")

    def kernel_state(self) -> str | None:
        session = self.lab.session_for(self.path)
        return session["kernel"].get("execution_state") if session else None

    def wait_for_kernel_idle(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while (state := self.kernel_state()) != "idle":
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"The kernel of {self.name} is not ready after {timeout:.0f} s "
                    f"(state: {state}).\n{self.lab.log_tail(20)}")
            time.sleep(0.25)

    def cells(self) -> list[Cell]:
        raw = self.page.evaluate(_READ_CELLS_JS, self.panel_id) or []
        return [Cell(**c) for c in raw]

    def cell(self, source_start: str):
        """The locator of the first cell whose source starts with ``source_start``."""
        for c in self.cells():
            if c.source.lstrip().startswith(source_start):
                return self.panel.locator(".jp-Cell").nth(c.index)
        raise AssertionError(f"{self.name} has no cell starting with {source_start!r}")

    def run_all(self) -> None:
        """Run > Run All Cells, from the menu bar, as a learner does."""
        self.page.locator(f".lm-DockPanel-tabBar .lm-TabBar-tab[data-id='{self.panel_id}']").click()
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        self.page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()

    def wait_until_done(self, timeout: float, started_after: float = 20) -> float:
        """Wait until no cell is running and the kernel is idle; returns the seconds taken.

        Run All stops at the first cell that raises; the cells after it keep an empty
        prompt, which :func:`problems` reports.
        """
        t0 = time.monotonic()
        started = False
        while True:
            cells = [c for c in self.cells() if c.code]
            running = [c for c in cells if c.running]
            started = started or bool(running) or any(c.execution_count for c in cells)
            if started and not running and self.kernel_state() == "idle":
                return time.monotonic() - t0
            elapsed = time.monotonic() - t0
            if not started and elapsed > started_after:
                raise AssertionError(f"Run All Cells did not start any cell of {self.name} "
                                     f"within {started_after:.0f} s.")
            if elapsed > timeout:
                where = running[0].describe(self.name) if running else "no cell marked running"
                raise AssertionError(f"{self.name} did not finish within {timeout:.0f} s; "
                                     f"still running: {where}.")
            time.sleep(0.5)


# -- what counts as a problem --------------------------------------------------------------
#: Texts the Jupyter widget manager shows in place of a widget that failed.
WIDGET_ERRORS = ("Error displaying widget", "Failed to load model class",
                 "Could not create a view", "Error creating view", "model not found",
                 "Loading widget...")
#: An ipywidgets repr shown as text: the front end had no widget renderer at all.
_WIDGET_AS_TEXT = re.compile(
    r"^\s*\w*(Box|Canvas|Output|Image|Progress|Slider|HTML|Button|Dropdown|Tab|Accordion|Widget)"
    r"\((children|value|layout|toolbar|description|options|outputs|figure)=")
_PRINTED = {"application/vnd.jupyter.stdout", "application/vnd.jupyter.stderr", "text/plain",
            "text/markdown", "text/html", "text/latex"}
_TRACEBACK = re.compile(r"^\w+(Error|Exception)\b", re.MULTILINE)


def _first_line_with(text: str, needle: str) -> str:
    for line in text.splitlines():
        if needle in line:
            return line.strip()
    return text.strip().splitlines()[0] if text.strip() else needle


def problems(cells: list[Cell], notebook: str, require_all_run: bool = True) -> list[str]:
    """Messages for everything a learner would see go wrong in these cells.

    Widgets that did not render (an error in their place, or their text repr because
    no widget renderer is installed), Python tracebacks, and code cells that never ran
    (Run All stops at an error). Each message names the cell as the status bar counts it.
    """
    found: list[str] = []
    for cell in cells:
        seen: set[str] = set()

        def add(message: str) -> None:
            if message not in seen:
                seen.add(message)
                found.append(message)

        for out in cell.outputs:
            text = out["text"]
            # Printed text may mention these errors (radlab doctor does); only a widget's
            # own output area shows them in its place.
            printed = out["mime"] in _PRINTED
            for marker in () if printed else WIDGET_ERRORS:
                if marker in text:
                    add(f"Widget failed to render: {_first_line_with(text, marker)!r} "
                        f"in {cell.describe(notebook)}")
                    break
            if _WIDGET_AS_TEXT.match(text):
                add(f"Widget shown as text, not rendered: {text.strip()[:60]!r}... in "
                    f"{cell.describe(notebook)}. The JupyterLab widget extension is missing: "
                    f"is jupyterlab_widgets installed where JupyterLab runs?")
            # Errors render as stderr; a printed "ValueError: ..." on stdout is not one.
            if "Traceback (most recent call last)" in text or (
                    out["mime"] == "application/vnd.jupyter.stderr" and _TRACEBACK.search(text)):
                last = [line for line in text.strip().splitlines() if line.strip()][-1]
                add(f"Python error in {cell.describe(notebook)}: {last.strip()[:200]}")
    if require_all_run:
        not_run = [c for c in cells if c.code and c.execution_count is None]
        if not_run:
            found.append(f"{len(not_run)} code cell(s) of {notebook} did not run, from "
                         f"{not_run[0].describe(notebook)} on (Run All stops at an error).")
    return found


# -- pixels ------------------------------------------------------------------------------------
def grey_pixels(png: bytes):
    """A PNG screenshot as a float array of grey values 0..255."""
    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("L"), dtype=np.float64)


def mean_abs_difference(png_a: bytes, png_b: bytes) -> float:
    """Mean absolute grey-level difference (0..255) of two same-size screenshots."""
    import numpy as np

    a, b = grey_pixels(png_a), grey_pixels(png_b)
    if a.shape != b.shape:
        return 255.0
    return float(np.abs(a - b).mean())
