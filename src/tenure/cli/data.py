"""`tenure import …` and `tenure export …`: the command groups that move data in and out.

The commands live in modules named for what they move (``import_csv``, ``vcard``, ``archive``)
and register themselves on these groups; ``tenure backup`` / ``tenure restore`` are in ``backup``.
"""

from __future__ import annotations

import typer

import_app = typer.Typer(
    help="Bring data in: CSV files, vCards, workspace archives.", no_args_is_help=True
)
export_app = typer.Typer(
    help="Take data out: CSV, vCards, workspace archives.", no_args_is_help=True
)
