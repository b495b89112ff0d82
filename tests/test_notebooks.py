"""Notebook conventions, checked on every notebook in notebooks/.

nbval executes the notebooks themselves (``make test`` passes notebooks/ with
--nbval-lax); this file checks how they are written and committed.
"""

import json
import re
from pathlib import Path

import nbformat
import pytest

from radlab.course import make_student_copies, notebook_problems

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks_starting_at_00():
    names = [p.name for p in NOTEBOOKS]
    assert names and names[0] == "00_start_here.ipynb"
    numbers = [int(n[:2]) for n in names]
    assert numbers == sorted(set(numbers)), f"duplicate notebook numbers in {names}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_follows_conventions(path):
    assert notebook_problems(path) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_training_length_comes_from_budget(path):
    source = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    for match in re.finditer(r"\bepochs\s*=\s*(\d+)", source):
        pytest.fail(f"{path.name}: hard-coded epochs={match.group(1)}; use rl.budget(full=..., quick=...)")


def _write_nb(path, cells):
    nb = nbformat.v4.new_notebook(cells=cells)
    nbformat.write(nb, path)
    return path


def test_problems_are_reported(tmp_path):
    bad = _write_nb(tmp_path / "05_bad.ipynb", [
        nbformat.v4.new_markdown_cell("Title without hash"),
        nbformat.v4.new_code_cell("import radlab as rl", execution_count=3),
    ])
    problems = "\n".join(notebook_problems(bad))
    for text in ("'# Title'", "What you will learn", "Time: ~N min", "execution count", "setup_notebook"):
        assert text in problems


def test_oversized_notebook_is_reported(tmp_path):
    big = _write_nb(tmp_path / "07_big.ipynb", [
        nbformat.v4.new_markdown_cell("# T\n\n## What you will learn\n\nTime: ~5 min"),
        nbformat.v4.new_code_cell("import radlab as rl\nrl.setup_notebook()"),
        nbformat.v4.new_raw_cell("x" * 1_100_000),
    ])
    assert any("limit" in p for p in notebook_problems(big))


def test_student_copies_drop_solution_cells(tmp_path):
    src = tmp_path / "nbs"
    src.mkdir()
    solution = nbformat.v4.new_code_cell("answer = 42")
    solution.metadata["tags"] = ["solution"]
    _write_nb(src / "01_demo.ipynb", [
        nbformat.v4.new_markdown_cell("# Demo\n\nWhat you will learn\n\nTime: ~1 min"),
        nbformat.v4.new_code_cell("import radlab as rl\nrl.setup_notebook()"),
        nbformat.v4.new_code_cell("answer = ...  # your code"),
        solution,
        nbformat.v4.new_code_cell("rl.check('00.size_mm', answer)"),
    ])
    (written,) = make_student_copies(src, tmp_path / "student")
    text = written.read_text()
    assert "answer = 42" not in text and "your code" in text and "rl.check" in text
    assert len(json.loads(text)["cells"]) == 4


def test_real_notebooks_have_student_versions(tmp_path):
    written = make_student_copies(NOTEBOOKS[0].parent, tmp_path)
    assert [p.name for p in written] == [p.name for p in NOTEBOOKS]
    for original, copy in zip(NOTEBOOKS, written):
        tags = [t for c in nbformat.read(copy, as_version=4).cells for t in c.metadata.get("tags", [])]
        assert "solution" not in tags, copy.name
