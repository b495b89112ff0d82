"""PEP 562 lazy attributes, shared by radlab's packages so importing them stays cheap."""

from __future__ import annotations

import importlib
from typing import Any, Callable, Mapping


def lazy_attributes(
    package: str, names: Mapping[str, str], namespace: dict[str, Any], submodules: frozenset = frozenset()
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Build a package's ``__getattr__`` and ``__dir__``.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    names : mapping
        Public name -> module that defines it; imported on first access.
    namespace : dict
        The package's ``globals()``; resolved names are cached there.
    submodules : frozenset of str
        Submodules reachable as attributes (``radlab.data``), imported on first access.
    """

    def __getattr__(name: str) -> Any:
        if name in submodules:
            return importlib.import_module(f"{package}.{name}")
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value  # later lookups skip __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names) | set(submodules))

    return __getattr__, __dir__
