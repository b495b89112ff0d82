"""rl.check: right answers pass, wrong ones get a hint (not the answer), strict mode raises."""

import numpy as np
import pytest

import radlab as rl
from radlab.exercises import check, exercise


@exercise("99.double", "Double the number")
def _double(answer, *, x):
    ok = answer == 2 * x
    return ok, "multiply, don't add" if answer == x + 2 else "look at the definition of 'double'"


def test_right_answer(monkeypatch, capsys):
    monkeypatch.delenv("RADLAB_STRICT", raising=False)
    result = check("99.double", 8, x=4)
    assert result and "correct" in capsys.readouterr().out


def test_wrong_answer_gives_hint_without_answer(monkeypatch, capsys):
    monkeypatch.delenv("RADLAB_STRICT", raising=False)
    result = check("99.double", 6, x=4)
    out = capsys.readouterr().out
    assert not result and "multiply, don't add" in out and "8" not in out


def test_not_attempted(monkeypatch, capsys):
    monkeypatch.delenv("RADLAB_STRICT", raising=False)
    assert not check("99.double", ..., x=4)
    assert "not answered yet" in capsys.readouterr().out


def test_strict_mode_raises(monkeypatch):
    monkeypatch.setenv("RADLAB_STRICT", "1")
    with pytest.raises(AssertionError, match="Hint"):
        check("99.double", 5, x=4)
    with pytest.raises(AssertionError, match="not answered"):
        check("99.double", None, x=4)


def test_checker_crash_becomes_hint(monkeypatch, capsys):
    monkeypatch.delenv("RADLAB_STRICT", raising=False)
    assert not check("99.double", np.zeros(3), x=4)  # ambiguous truth value inside the checker
    assert "could not be checked" in capsys.readouterr().out


def test_unknown_exercise():
    with pytest.raises(KeyError, match="no exercise"):
        rl.check("98.nothing", 1)
