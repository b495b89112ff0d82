"""The notebooks in a real browser: JupyterLab + headless Chromium, driven by Playwright.

What unit tests and nbval cannot see: whether the front end shows the widgets. A
mismatch of ipywidgets (kernel) and jupyterlab_widgets (JupyterLab) leaves "Error
displaying widget: model not found" where the viewer should be, and a missing
extension leaves the widget's text repr; both pass every kernel-side test.

* every notebook in ``UI_NOTEBOOKS`` (default: 00 and 01, a newcomer's first run;
  ``UI_NOTEBOOKS=all`` for every notebook) runs with Run > Run All Cells in quick
  mode, and no output may hold a widget error, a widget shown as text or a traceback;
* the viewer of notebook 01 draws on its ipympl canvas, and dragging its Width slider
  changes the pixels on screen (the round trip browser -> kernel -> browser);
* a training cell's live dashboard draws its curves while training runs, and its
  Stop button ends training long before the requested epochs.

Run with ``make test-ui``. Screenshots go to ``artifacts/ui/`` (git-ignored).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import nbformat
import pytest

from _jupyterlab import (
    ARTIFACTS,
    REPO,
    Notebook,
    grey_pixels,
    mean_abs_difference,
    open_page,
    problems,
    ui_enabled,
)

pytestmark = [
    pytest.mark.ui,
    pytest.mark.slow,
    pytest.mark.skipif(not ui_enabled(), reason="drives JupyterLab in a browser: `make test-ui`"),
]

VIEWER_NOTEBOOK = "notebooks/01_images_as_data.ipynb"
NEWCOMER_NOTEBOOKS = ["notebooks/00_start_here.ipynb", VIEWER_NOTEBOOK]
#: Most seconds Run All may take for one notebook in quick mode.
RUN_ALL_TIMEOUT_S = float(os.environ.get("UI_RUN_ALL_TIMEOUT_S", 300))
#: Least mean grey-level change (0..255) of the viewer canvas after moving a slider.
MIN_PIXEL_CHANGE = 2.0


def _notebooks() -> list[str]:
    chosen = os.environ.get("UI_NOTEBOOKS", "").split()
    if chosen == ["all"]:
        return sorted(str(p.relative_to(REPO)) for p in (REPO / "notebooks").glob("[0-9]*.ipynb"))
    return chosen or NEWCOMER_NOTEBOOKS


@pytest.fixture(scope="module")
def run_notebook(browser, lab):
    """``run_notebook(path)``: open it in JupyterLab, Run All, wait; once per module.

    Returns the :class:`Notebook` (its page stays open for later tests) and the seconds
    Run All took. The committed file must be unchanged afterwards (autosave is off).
    """
    done: dict[str, tuple[Notebook, float]] = {}
    originals: dict[Path, bytes] = {}
    pages = []

    def run(path: str) -> tuple[Notebook, float]:
        if path not in done:
            originals[REPO / path] = (REPO / path).read_bytes()
            pages.append(open_page(browser))
            notebook = Notebook(pages[-1], lab, path).open()
            notebook.run_all()
            seconds = notebook.wait_until_done(RUN_ALL_TIMEOUT_S)
            _settle_widgets(notebook)
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            notebook.page.screenshot(path=str(ARTIFACTS / f"{Path(path).stem}.png"),
                                     full_page=True)
            done[path] = (notebook, seconds)
        return done[path]

    yield run
    changed = []
    for page in pages:
        page.context.close()
    for path in originals:
        lab.close_session(str(path.relative_to(REPO)))
    for file, content in originals.items():
        if file.read_bytes() != content:
            file.write_bytes(content)  # restore, then fail: a test must never edit the course
            changed.append(file.name)
    assert not changed, f"JupyterLab saved {changed} while testing (restored them)."


def _settle_widgets(notebook: Notebook, timeout: float = 15) -> None:
    # Widget views render asynchronously after their output arrives; give "Loading
    # widget..." placeholders a moment to become widgets (or errors) before judging.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        texts = [o["text"] for c in notebook.cells() for o in c.outputs]
        if not any("Loading widget" in t for t in texts):
            return
        time.sleep(0.5)


def _failure(messages: list[str], notebook: Notebook) -> str:
    # The console says why a widget failed ("Module @jupyter-widgets/controls, semver range
    # ^2.0.0 is not registered"): first lines only, each once.
    console = list(dict.fromkeys(line for e in notebook.page.console_errors
                                 for line in e.splitlines()[:2] if not line.strip().startswith("at ")))
    hint = ("\nBrowser console errors:\n  " + "\n  ".join(console[-6:])) if console else ""
    return "\n".join(messages) + hint


@pytest.mark.parametrize("path", _notebooks())
def test_notebook_runs_in_jupyterlab_and_its_widgets_render(run_notebook, path):
    notebook, seconds = run_notebook(path)
    cells = notebook.cells()
    found = problems(cells, notebook.name)
    assert not found, _failure(found, notebook)
    widget_outputs = sum(o["widget"] for c in cells for o in c.outputs)
    print(f"{notebook.name}: Run All in {seconds:.1f} s, {widget_outputs} widget outputs")


def _slider_handle(cell, label: str):
    """The handle of the ipywidgets slider whose description starts with ``label``."""
    slider = cell.locator(".widget-hslider").filter(
        has=cell.page.locator(".widget-label", has_text=re.compile(rf"^{re.escape(label)}")))
    return slider.locator("[role=slider]")


def _drag_to(page, handle, fraction: float) -> None:
    """Drag a slider handle with the mouse to ``fraction`` (0..1) of its track, as a user does."""
    track = handle.locator("xpath=ancestor::*[contains(@class, 'noUi-base')]").bounding_box()
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(track["x"] + fraction * track["width"], y, steps=8)
    page.mouse.up()


def test_viewer_canvas_redraws_when_the_width_slider_moves(run_notebook):
    notebook, _ = run_notebook(VIEWER_NOTEBOOK)
    page = notebook.page
    cell = notebook.cell("viewer = rl.show(head")
    canvas = cell.locator(".jupyter-matplotlib-canvas-div").first
    assert canvas.count(), (
        f"The viewer in {notebook.name} shows no ipympl canvas (.jupyter-matplotlib-canvas-div). "
        f"Its output reads: {cell.locator('.jp-Cell-outputArea').inner_text()[:300]!r}")
    canvas.scroll_into_view_if_needed()
    before = canvas.screenshot(path=str(ARTIFACTS / "viewer_before.png"))
    assert grey_pixels(before).std() > 10, "the viewer canvas is blank"

    handle = _slider_handle(cell, "Width")
    width_before = float(handle.get_attribute("aria-valuenow"))
    _drag_to(cell.page, handle, 0.75)

    deadline, change = time.monotonic() + 20, 0.0
    while time.monotonic() < deadline:
        after = canvas.screenshot()
        change = mean_abs_difference(before, after)
        if change > MIN_PIXEL_CHANGE:
            break
        time.sleep(0.5)
    (ARTIFACTS / "viewer_after.png").write_bytes(after)
    width_after = float(handle.get_attribute("aria-valuenow"))
    assert width_after > width_before, f"dragging did not move the Width slider ({width_before})"
    assert change > MIN_PIXEL_CHANGE, (
        f"Width {width_before:g} -> {width_after:g} HU, but the canvas did not change "
        f"(mean grey difference {change:.2f} <= {MIN_PIXEL_CHANGE}): the kernel did not redraw "
        f"or the frame never reached the browser. See artifacts/ui/viewer_*.png.")
    found = problems(notebook.cells(), notebook.name)  # e.g. a traceback from the callback
    assert not found, _failure(found, notebook)


# -- the training dashboard ----------------------------------------------------------------
EPOCHS = 2000  # many minutes of training: only the Stop button ends it within the test
#: Most seconds from the click on Stop to the end of the training cell. The dashboard
#: promises about half a second; its display budget can stretch the polling interval to
#: a few seconds, and the machine may be busy.
STOP_WITHIN_S = 10.0
SETUP_CELL = """\
# The live dashboard of rl.fit in a browser: curves while training, and Stop.
import radlab as rl
rl.setup_notebook()
import keras
import numpy as np

rng = np.random.default_rng(0)
x = rng.random((IMAGES, 16, 16, 1)).astype("float32")
y = (x.mean(axis=(1, 2, 3)) > 0.5).astype("float32")
model = keras.Sequential([keras.Input((16, 16, 1)), keras.layers.Flatten(),
                          keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])"""
TRAIN_CELL = f"""\
EPOCHS = {EPOCHS}
history = rl.fit(model, (x, y), validation_data=(x[:64], y[:64]), epochs=EPOCHS,
                 batch_size=8, dashboard=True)
print(f"epochs run: {{len(history.history['loss'])}} of {{EPOCHS}}")"""


@pytest.fixture
def dashboard_notebook(lab, request):
    """A two-cell training notebook under artifacts/ui/ (in the server's root, git-ignored)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(SETUP_CELL.replace("IMAGES", str(request.param))),
                nbformat.v4.new_code_cell(TRAIN_CELL)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"dashboard_stop_{request.param}.ipynb"
    nbformat.write(nb, path)
    relative = str(path.relative_to(REPO))
    yield relative
    lab.close_session(relative)


@pytest.mark.parametrize("dashboard_notebook", [
    # 4096 images, batches of 8: epochs of ~1 s, so progress refreshes fall inside epochs.
    pytest.param(4096, id="1s-epochs"),
    # Epochs shorter than the dashboard's refresh interval (tiny models, quick mode).
    pytest.param(512, id="0.1s-epochs"),
], indirect=True)
def test_dashboard_draws_curves_and_its_stop_button_ends_training(page, lab, dashboard_notebook):
    notebook = Notebook(page, lab, dashboard_notebook).open()
    notebook.run_all()
    cell = notebook.cell("EPOCHS =")
    prompt = cell.locator(".jp-InputArea-prompt")
    stop = cell.locator("button", has_text="Stop")
    stop.wait_for(timeout=120_000)  # TensorFlow's import and the first epoch come first
    tag = Path(dashboard_notebook).stem

    # Curves: an ipywidgets.Image whose PNG shows lines and text, not a blank square.
    curves = cell.locator("img.widget-image").first
    deadline, drawn = time.monotonic() + 120, None
    while time.monotonic() < deadline:
        found = problems(notebook.cells(), notebook.name, require_all_run=False)
        assert not found, _failure(found, notebook)
        if curves.count() and curves.evaluate("img => img.complete && img.naturalWidth > 0"):
            drawn = grey_pixels(curves.screenshot(path=str(ARTIFACTS / f"{tag}_curves.png")))
            if drawn.std() > 10:
                break
        time.sleep(1)
    assert drawn is not None, "The dashboard showed no curve image within 120 s of training."
    assert drawn.std() > 10, f"The curve image is (nearly) blank: grey std {drawn.std():.1f}"
    assert prompt.inner_text().strip() == "[*]:", "training ended before Stop was clicked"

    assert stop.is_enabled(), "the Stop button is disabled while training runs"
    t0 = time.monotonic()
    stop.click()
    while "*" in prompt.inner_text() and time.monotonic() - t0 < 90:
        time.sleep(0.2)
    seconds = time.monotonic() - t0
    page.screenshot(path=str(ARTIFACTS / f"{tag}_stopped.png"), full_page=True)
    assert "*" not in prompt.inner_text(), "training went on for 90 s after Stop was clicked"

    output = cell.locator(".jp-Cell-outputArea").inner_text()
    match = re.search(r"epochs run: (\d+) of (\d+)", output)
    assert match, f"the training cell printed no history length; its output:\n{output[-800:]}"
    epochs_run = int(match.group(1))
    assert 0 < epochs_run < EPOCHS, output[-800:]
    found = problems(notebook.cells(), notebook.name)
    assert not found, _failure(found, notebook)
    print(f"{tag}: Stop ended training after {epochs_run}/{EPOCHS} epochs, "
          f"{seconds:.1f} s after the click")
    assert seconds <= STOP_WITHIN_S, (
        f"Stop took {seconds:.1f} s to end training (more than {STOP_WITHIN_S:g} s): the "
        f"dashboard does not poll for the click often enough.")


# -- the operating-point explorer (notebook 06) --------------------------------------------
EXPLORER_CELL = """\
# The operating-point explorer of notebook 06 in a browser, on scores of a made-up classifier.
import numpy as np
import radlab as rl
rl.setup_notebook()
rng = np.random.default_rng(0)
y_true = np.r_[np.zeros(300), np.ones(200)].astype(int)
y_score = 1 / (1 + np.exp(-(rng.normal(size=500) + 2.0 * y_true - 1.0)))
explorer = rl.widgets.operating_point_explorer(y_true, y_score, threshold=0.2)
explorer"""


@pytest.fixture
def explorer_notebook(lab):
    """A one-cell notebook showing the explorer, under artifacts/ui/ (git-ignored)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(EXPLORER_CELL)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "operating_point.ipynb"
    nbformat.write(nb, path)
    relative = str(path.relative_to(REPO))
    yield relative
    lab.close_session(relative)


def _wait_for_change(read, before, timeout: float = 20, stable_s: float = 1.0):
    """Poll ``read()`` until it differs from ``before`` and then holds still for ``stable_s``.

    A dragged slider with ``continuous_update`` sends intermediate values, and their
    updates arrive one after another: only the settled value is the slider's last one.
    """
    deadline, value = time.monotonic() + timeout, read()
    while value == before and time.monotonic() < deadline:
        time.sleep(0.25)
        value = read()
    held_since = time.monotonic()
    while time.monotonic() - held_since < stable_s and time.monotonic() < deadline:
        time.sleep(0.25)
        latest = read()
        if latest != value:
            value, held_since = latest, time.monotonic()
    return value


def test_operating_point_explorer_responds_live_to_its_sliders(page, lab, explorer_notebook):
    notebook = Notebook(page, lab, explorer_notebook).open()
    notebook.run_all()
    notebook.wait_until_done(RUN_ALL_TIMEOUT_S)
    _settle_widgets(notebook)
    found = problems(notebook.cells(), notebook.name)
    assert not found, _failure(found, notebook)
    cell = notebook.cell("# The operating-point explorer")
    canvas = cell.locator(".jupyter-matplotlib-canvas-div").first
    assert canvas.count(), ("the explorer shows no ipympl canvas; its output reads: "
                            f"{cell.locator('.jp-Cell-outputArea').inner_text()[:300]!r}")
    table = cell.locator(".widget-html table").first
    summary = cell.locator(".widget-html", has_text="at prevalence").first
    roc_before = canvas.screenshot(path=str(ARTIFACTS / "operating_point_before.png"))
    table_before, summary_before = table.inner_text(), summary.inner_text()
    counts_before = [int(v) for v in re.findall(r"(?:TN|FP|FN|TP) (\d+)", table_before)]
    assert sum(counts_before) == 500, f"the confusion matrix does not add up to 500 cases: {table_before!r}"

    # Threshold 0.2 -> high: fewer positive calls, so TP + FP falls and the marker moves.
    _drag_to(page, _slider_handle(cell, "Threshold"), 0.8)
    table_after = _wait_for_change(table.inner_text, table_before)
    counts_after = [int(v) for v in re.findall(r"(?:TN|FP|FN|TP) (\d+)", table_after)]
    tn, fp, fn, tp = counts_before
    tn2, fp2, fn2, tp2 = counts_after
    assert tp2 + fp2 < tp + fp, f"a higher threshold must call fewer cases positive: {table_before!r} -> {table_after!r}"
    assert sum(counts_after) == 500
    roc_after, change = roc_before, 0.0
    deadline = time.monotonic() + 20
    while change <= 0.05 and time.monotonic() < deadline:
        roc_after = canvas.screenshot()
        change = mean_abs_difference(roc_before, roc_after)
        time.sleep(0.25)
    (ARTIFACTS / "operating_point_after.png").write_bytes(roc_after)
    assert change > 0.05, ("the confusion matrix changed but the ROC marker did not move on the canvas "
                           f"(mean grey difference {change:.3f}); see artifacts/ui/operating_point_*.png")

    # Prevalence: PPV at the stated prevalence changes; the confusion matrix does not.
    summary_mid = summary.inner_text()
    assert summary_mid != summary_before
    _drag_to(page, _slider_handle(cell, "Prevalence"), 0.05)
    summary_after = _wait_for_change(summary.inner_text, summary_mid)
    ppv = [re.search(r"at prevalence ([\d.]+)%: PPV ([\d.]+)%", text) for text in (summary_mid, summary_after)]
    assert all(ppv), f"no 'at prevalence ..: PPV ..' line in {summary_mid!r} / {summary_after!r}"
    (p_mid, ppv_mid), (p_low, ppv_low) = ((float(m.group(1)), float(m.group(2))) for m in ppv)
    assert p_low < p_mid and ppv_low < ppv_mid, (
        f"moving prevalence {p_mid}% -> {p_low}% must lower the PPV: {ppv_mid}% -> {ppv_low}%")
    assert table.inner_text() == table_after, "prevalence must not change the confusion matrix"
    found = problems(notebook.cells(), notebook.name)
    assert not found, _failure(found, notebook)
