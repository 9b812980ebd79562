"""Package namespaces whose public names load on first use (PEP 562).

``textmanifold.models`` pulls in torch, ``textmanifold.viz`` matplotlib and
``textmanifold.evaluate`` the whole geodesic core; a package ``__init__`` that imported
them eagerly would make ``import textmanifold.models.curves`` (or the CLI's ``--help``)
pay for all of it. :func:`lazy_exports` gives such a package its ``__getattr__`` and
``__dir__``: ``textmanifold.models.JointModel`` imports :mod:`textmanifold.models.joint`
the first time it is read, and the package's ``__all__`` still lists every public name.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: dict[str, Iterable[str]]
) -> tuple[Callable[[str], object], Callable[[], list[str]], list[str]]:
    """The ``__getattr__``, ``__dir__`` and ``__all__`` of a lazily exporting package.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    exports : dict of str to iterable of str
        Each submodule (its name relative to ``package``) with the public names it
        defines, which the package re-exports.

    Returns
    -------
    getattr_ : callable
        Module ``__getattr__``: imports the defining submodule on first access and caches
        the value in the package's namespace; other names raise ``AttributeError``.
    dir_ : callable
        Module ``__dir__``: the namespace's names and every export.
    all_ : list of str
        The exported names, sorted, for ``__all__``.
    """
    owner = {name: module for module, names in exports.items() for name in names}

    def getattr_(name: str) -> object:
        if name not in owner:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{owner[name]}"), name)
        setattr(sys.modules[package], name, value)  # later reads skip __getattr__
        return value

    def dir_() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(owner))

    return getattr_, dir_, sorted(owner)
