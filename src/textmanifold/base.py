"""scikit-learn's parameter protocol for the project's estimators, without depending on it.

An estimator stores its constructor arguments verbatim, under the same names, and its
learned state in attributes ending with ``_`` (DESIGN.md, Conventions). :class:`ParamsMixin`
then gives ``get_params``, ``set_params`` and a readable ``repr``, which is what
``sklearn.base.clone``, grid searches and pipelines need.
"""

from __future__ import annotations

import inspect
from typing import Any

from .errors import InputError


class ParamsMixin:
    """``get_params`` / ``set_params`` / ``__repr__`` from the ``__init__`` signature."""

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [
            p.name
            for p in signature.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor parameters and their current values.

        Parameters
        ----------
        deep : bool, default True
            Accepted for scikit-learn compatibility; no parameter here is an estimator.

        Returns
        -------
        dict
        """
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> ParamsMixin:
        """Set constructor parameters; they take effect at the next ``fit`` (or query,
        where the estimator says so).

        Returns
        -------
        self

        Raises
        ------
        InputError
            A name that is not a parameter of this estimator.
        """
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise InputError(
                    f"{type(self).__name__} has no parameter {name!r}; "
                    f"its parameters are: {', '.join(valid)}"
                )
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        """``Name(param=value, ...)`` listing the parameters that differ from the default."""
        defaults = {
            p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()
        }
        changed = [
            f"{name}={value!r}"
            for name, value in self.get_params().items()
            if not _same(value, defaults.get(name, inspect.Parameter.empty))
        ]
        return f"{type(self).__name__}({', '.join(changed)})"


def _same(value: Any, default: Any) -> bool:
    try:
        return bool(value is default or value == default)
    except Exception:  # an array or other value whose == is not a bool
        return False
