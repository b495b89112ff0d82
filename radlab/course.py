"""Course plumbing for instructors and CI: notebook conventions and student copies.

Every notebook opens the same way (title, "What you will learn", "Time: ~N
min", then a setup cell calling ``rl.setup_notebook()``), is committed without
outputs, and stays small. :func:`notebook_problems` checks this and the test
suite runs it on every notebook. :func:`make_student_copies` removes cells
tagged ``solution`` with nbconvert's ``TagRemovePreprocessor``.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["MAX_NOTEBOOK_BYTES", "SOLUTION_TAG", "make_student_copies", "notebook_problems"]

MAX_NOTEBOOK_BYTES = 1_000_000
SOLUTION_TAG = "solution"
_TIME_RE = re.compile(r"Time:\s*~\s*\d+\s*min", re.IGNORECASE)
_NAME_RE = re.compile(r"^\d\d_[a-z0-9_]+\.ipynb$")


def notebook_problems(path: str | Path) -> list[str]:
    """List the ways a notebook breaks radlab's conventions (empty when it follows them).

    Parameters
    ----------
    path : str or Path
        The ``.ipynb`` file.

    Returns
    -------
    list of str
        One human-readable problem per entry.
    """
    import nbformat

    path = Path(path)
    problems = []
    if not _NAME_RE.match(path.name):
        problems.append(f"name should look like 'NN_topic.ipynb', got {path.name!r}")
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        problems.append(f"{size} bytes, over the {MAX_NOTEBOOK_BYTES}-byte limit")
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:
        return problems + [f"not a valid notebook: {exc}"]
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count")):
            problems.append(f"cell {i} has outputs or an execution count (strip them: make hooks)")
    markdown = [c for c in nb.cells if c.cell_type == "markdown"]
    code = [c for c in nb.cells if c.cell_type == "code"]
    if not markdown or nb.cells[0].cell_type != "markdown":
        problems.append("the first cell must be markdown with the title")
    else:
        head = markdown[0].source
        if not head.lstrip().startswith("# "):
            problems.append("the first markdown cell must start with a '# Title'")
        if "what you will learn" not in head.lower():
            problems.append("the first markdown cell needs a 'What you will learn' section")
        if not _TIME_RE.search(head):
            problems.append("the first markdown cell needs 'Time: ~N min'")
    if not code or "rl.setup_notebook(" not in code[0].source:
        problems.append("the first code cell must call rl.setup_notebook()")
    for i, cell in enumerate(code):
        tags = cell.get("metadata", {}).get("tags", [])
        if SOLUTION_TAG in tags and "rl.check(" in cell.source:
            problems.append(f"code cell {i}: a solution cell must not hold the check itself")
    return problems


def make_student_copies(src: str | Path = "notebooks", out: str | Path = "build/student") -> list[Path]:
    """Write copies of the notebooks without the cells tagged ``solution``.

    Parameters
    ----------
    src : str or Path
        Folder with the course notebooks.
    out : str or Path
        Folder for the student copies (created; existing copies are replaced).

    Returns
    -------
    list of Path
        The notebooks written.
    """
    import nbformat
    from nbconvert.preprocessors import ClearOutputPreprocessor, TagRemovePreprocessor
    from traitlets.config import Config

    src, out = Path(src), Path(out)
    notebooks = sorted(src.glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"no notebooks named NN_*.ipynb in {src.resolve()}")
    out.mkdir(parents=True, exist_ok=True)
    config = Config()
    config.TagRemovePreprocessor.remove_cell_tags = {SOLUTION_TAG}
    remove = TagRemovePreprocessor(config=config)
    clear = ClearOutputPreprocessor()
    written = []
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        nb, _ = remove.preprocess(nb, {})
        nb, _ = clear.preprocess(nb, {})
        target = out / path.name
        tmp = target.with_suffix(".ipynb.tmp")
        nbformat.write(nb, tmp)
        tmp.replace(target)
        written.append(target)
    return written
