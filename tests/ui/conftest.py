"""Fixtures for the browser tests: JupyterLab from this checkout's environment, headless Chromium.

``make test-ui`` runs these (it sets ``RADLAB_UI=1``); ``make test`` skips them.

* ``lab``: one JupyterLab server for the session, started with the Python that runs
  pytest (the project's ``.venv``), on a free loopback port with a random token and
  the repository as its root. Its settings live in a temporary folder: autosave is
  off (a test never writes outputs into a committed notebook), every cell stays in
  the DOM (``windowingMode: none``), and the news/update check is off (no network).
  It is always shut down: the REST ``/api/shutdown`` first (which stops the kernels),
  then SIGTERM/SIGKILL to its process group and to any kernel it left behind.
* ``browser``: Chromium driven by Playwright (sync API). Playwright's own browser
  download needs the internet, so this uses a system Chromium: ``$RADLAB_CHROMIUM``,
  else ``/usr/bin/chromium`` (Debian's ``apt-get install chromium``), else whatever
  Playwright has installed. Without one the tests are skipped with the fix in the
  reason, or fail when ``RADLAB_UI_STRICT=1`` (CI).
* ``page``: a page in a fresh browser context (1400 x 1000), closed after the test;
  ``open_page(browser)`` makes one for wider-scoped fixtures. When a test fails, every
  open page is saved as ``artifacts/ui/<test>-failure-<n>.png``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from _jupyterlab import ARTIFACTS, REPO, LabServer, open_page, ui_enabled

#: Debian's package; ``make test-ui`` installs it with apt-get when it is missing.
DEFAULT_CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps opening connections (updates,
# field trials, sync) that a closed network refuses, which slows start-up and spams logs.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # root in containers/CI; the page is our own loopback server
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",  # small /dev/shm in containers
]


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """A running JupyterLab server (see :class:`LabServer`); stopped after the session."""
    if not ui_enabled():
        pytest.skip("browser tests run with `make test-ui` (RADLAB_UI=1)")
    pytest.importorskip("jupyterlab")
    data_dir = tmp_path_factory.mktemp("radlab_ui_data")
    # Quick mode as in `make test`: notebooks pick their small training budget.
    server = LabServer(REPO, env={"RADLAB_QUICK": "1", "RADLAB_DATA_DIR": str(data_dir),
                                  "PYTHONHASHSEED": "0"})
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.home, ignore_errors=True)


# -- the browser ---------------------------------------------------------------------------
def chromium_path() -> str | None:
    """The Chromium to drive: $RADLAB_CHROMIUM, /usr/bin/chromium, or None (Playwright's own)."""
    path = os.environ.get("RADLAB_CHROMIUM") or DEFAULT_CHROMIUM
    return path if Path(path).exists() else None


def _no_browser(reason: str):
    message = (f"{reason}. Install Chromium (Debian/Ubuntu, as root: apt-get install -y chromium; "
               f"`make test-ui` does this) or point RADLAB_CHROMIUM at a Chromium/Chrome binary.")
    if os.environ.get("RADLAB_UI_STRICT", "") not in ("", "0"):
        pytest.fail(message)
    pytest.skip(message)


_BROWSERS: list = []  # the session's browser, for screenshots of failed tests


@pytest.fixture(scope="session")
def browser():
    if not ui_enabled():
        pytest.skip("browser tests run with `make test-ui` (RADLAB_UI=1)")
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        _no_browser("Playwright is not installed (pip install -e '.[test]')")
    executable = chromium_path()
    with sync_playwright() as playwright:
        try:
            # launch() gives Chromium a new, empty profile in a temporary folder (and
            # removes it on close); each test then gets its own context.
            chromium = playwright.chromium.launch(
                executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        except Error as exc:
            where = executable or "Playwright's bundled Chromium"
            _no_browser(f"Chromium could not start ({where}): {str(exc).splitlines()[0]}")
        _BROWSERS.append(chromium)
        try:
            yield chromium
        finally:
            _BROWSERS.remove(chromium)
            chromium.close()


@pytest.fixture
def page(browser):
    """A fresh page (see :func:`open_page`), closed after the test."""
    page = open_page(browser)
    yield page
    page.context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # A failed test leaves a screenshot of every open page (taken before fixtures close them).
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed or not _BROWSERS:
        return
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = item.name.replace("/", "_").replace("[", "-").rstrip("]")
    pages = [p for b in _BROWSERS for c in b.contexts for p in c.pages]
    for n, open_one in enumerate(pages):
        path = ARTIFACTS / f"{name}-failure-{n}.png"
        try:
            open_one.screenshot(path=str(path), full_page=True)
            report.sections.append(("screenshot", str(path)))
        except Exception:  # noqa: BLE001 - a screenshot must never hide the real failure
            pass
