"""The project's exceptions.

Every error a user can cause (a missing file, malformed JSON, a NaN vector, a wrong
dimension) is raised as a :class:`TextManifoldError` whose message names what is wrong
in one line. The CLI prints that line and exits with status 2; it never shows a
traceback for these.
"""

from __future__ import annotations


class TextManifoldError(Exception):
    """Base class: a problem with the user's input or environment, told in one line."""


class InputError(TextManifoldError, ValueError):
    """An argument or array is invalid (shape, NaN, zero norm, unknown label...)."""


class DataFormatError(TextManifoldError):
    """A file exists but does not hold what its format promises (bad JSON, missing field)."""


class MissingFileError(TextManifoldError, FileNotFoundError):
    """A file or directory the operation needs is not there."""


class NotFittedError(InputError, AttributeError):
    """An estimator was used before ``fit`` (like scikit-learn's, a ValueError and an
    AttributeError, so ``hasattr``-style checks and ``except ValueError`` both work)."""
