"""The ``textmanifold`` command line: thin wiring from arguments to the library.

Each area has its own module with a ``register(app)`` function, so the command groups
grow independently (one module, one idea). Errors a user can cause are
:class:`~textmanifold.errors.TextManifoldError`: :func:`main` prints them in one line
and exits with status 2, and so it does for a usage error (an unknown option, a value
out of range) and for any ``OSError`` on a path (a file that cannot be read or written),
naming the path, so that no path problem ends in a traceback.
"""

from __future__ import annotations

import inspect
import re
import sys

import typer

try:  # recent Typer carries its own copy of click; its exceptions are what it raises
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover - Typer on the click package
    from click import exceptions as click_exceptions

from ..errors import TextManifoldError

__all__ = ["app", "main"]

app = typer.Typer(
    name="textmanifold",
    help="Image retrieval on a text-augmented manifold (Using Text to Teach Image Retrieval).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register_all() -> None:
    # Imported here, not at the top, so that `textmanifold --help` stays fast and one
    # area's heavy imports (torch) load only when its command runs.
    from . import classes_commands, demo_commands, learn_commands, load_commands, synth_commands

    synth_commands.register(app)
    load_commands.register(app)
    learn_commands.register(app)
    classes_commands.register(app)
    demo_commands.register(app)
    from . import index_commands, manifold_commands, serve_commands

    manifold_commands.register(app)
    index_commands.register(app)
    serve_commands.register(app)


def _reflowed(docstring: str) -> str:
    """A docstring with each paragraph on one line: Typer's rich help keeps single line
    breaks, which would break the text at the source's line width."""
    paragraphs = inspect.cleandoc(docstring).split("\n\n")
    return "\n\n".join(re.sub(r"\s*\n\s*", " ", p.strip()) for p in paragraphs)


def _reflow_help(group: typer.Typer) -> None:
    for command in group.registered_commands:
        if command.help is None and command.callback is not None and command.callback.__doc__:
            command.help = _reflowed(command.callback.__doc__)
    for sub in group.registered_groups:
        _reflow_help(sub.typer_instance)


_register_all()
_reflow_help(app)


def _os_error_line(exc: OSError) -> str:
    """``<path>: <reason>`` for an OSError on a named path (both paths for a rename)."""
    reason = exc.strerror or str(exc)
    paths = [p for p in (exc.filename, exc.filename2) if p is not None]
    return f"{' -> '.join(str(p) for p in paths)}: {reason}" if paths else reason


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    sys.exit(2)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the app, turning user errors into one line.

    A :class:`TextManifoldError`, a usage error or an ``OSError`` prints one line
    ``error: ...`` on stderr and exits with status 2; Ctrl-C exits with 130.
    """
    try:
        status = app(args=argv, prog_name="textmanifold", standalone_mode=False)
    except click_exceptions.NoArgsIsHelpError as exc:
        exc.show()  # a group called alone: its help, as before
        sys.exit(exc.exit_code)
    except click_exceptions.ClickException as exc:
        _fail(" ".join(exc.format_message().split()))
    except TextManifoldError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(_os_error_line(exc))
    except (KeyboardInterrupt, typer.Abort):
        typer.echo("interrupted", err=True)
        sys.exit(130)
    sys.exit(status if isinstance(status, int) else 0)
