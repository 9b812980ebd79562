"""Commands for generated data and Collections: ``cci generate``, ``collection info|validate``."""

from __future__ import annotations

import typer

cci_app = typer.Typer(help="CLEVR-Change-Iterative (CCI): generate the dataset.",
                      no_args_is_help=True)
collection_app = typer.Typer(help="Inspect and validate a Collection directory.",
                             no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(cci_app, name="cci")
    app.add_typer(collection_app, name="collection")
