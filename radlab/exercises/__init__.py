"""Self-checking exercises: ``rl.check("01.hu", answer, ...)``.

Each notebook's exercises live in a module here (``nb01.py`` for notebook 01,
...), registered under ids such as ``"01.hu"``. A checker compares the
learner's answer with what the notebook's own data implies and returns a hint
when it is wrong, never the answer itself.

Solutions are in notebook cells tagged ``solution``; ``radlab student-copies``
removes them. With ``RADLAB_STRICT=1`` (set by ``make test``) a failed or
unanswered check raises, so a broken solution fails the build; learners never
see an exception, only the hint.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from typing import Any, Callable

__all__ = ["CheckResult", "check", "exercise", "EXERCISES"]

Checker = Callable[..., "tuple[bool, str]"]


@dataclass(frozen=True)
class _Exercise:
    id: str
    title: str
    checker: Checker


EXERCISES: dict[str, _Exercise] = {}


def exercise(exercise_id: str, title: str) -> Callable[[Checker], Checker]:
    """Register a checker ``f(answer, **context) -> (ok, hint)`` under an id like ``"01.hu"``."""

    def register(func: Checker) -> Checker:
        EXERCISES[exercise_id] = _Exercise(exercise_id, title, func)
        return func

    return register


@dataclass(frozen=True)
class CheckResult:
    """Outcome of :func:`check`; truthy when the answer is right."""

    exercise_id: str
    ok: bool
    message: str

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return self.message


def _lookup(exercise_id: str) -> _Exercise:
    if exercise_id not in EXERCISES:
        prefix = exercise_id.split(".", 1)[0]
        try:
            importlib.import_module(f"radlab.exercises.nb{prefix}")
        except ModuleNotFoundError:
            pass
    try:
        return EXERCISES[exercise_id]
    except KeyError:
        raise KeyError(f"no exercise {exercise_id!r}; known: {', '.join(sorted(EXERCISES))}") from None


def _strict() -> bool:
    return os.environ.get("RADLAB_STRICT", "").strip().lower() in {"1", "true", "yes", "on"}


def check(exercise_id: str, answer: Any, **context: Any) -> CheckResult:
    """Check an exercise answer and print whether it is right, with a hint if not.

    Parameters
    ----------
    exercise_id : str
        The exercise, e.g. ``"01.hu"`` (notebook 01, exercise "hu").
    answer : any
        Your answer. ``None`` or ``...`` means "not attempted yet".
    **context
        The notebook data the checker needs (e.g. the raw pixel values).

    Returns
    -------
    CheckResult
        Truthy when the answer is right.

    Raises
    ------
    AssertionError
        Only when ``RADLAB_STRICT=1`` (the test suite) and the answer is wrong
        or missing.
    """
    ex = _lookup(exercise_id)
    if answer is None or answer is Ellipsis:
        ok, message = False, f"[{ex.id}] {ex.title}: not answered yet - replace the ... and run again."
    else:
        try:
            ok, hint = ex.checker(answer, **context)
        except Exception as exc:  # a malformed answer deserves a hint, not a traceback
            ok, hint = False, f"your answer could not be checked ({type(exc).__name__}: {exc})"
        message = f"[{ex.id}] {ex.title}: " + ("correct, well done." if ok else f"not yet. Hint: {hint}")
    print(("✔ " if ok else "✘ ") + message)
    if not ok and _strict():
        raise AssertionError(message)
    return CheckResult(ex.id, ok, message)
