"""`tenure demo`: load the demo workspace."""

from __future__ import annotations

import typer


def demo_command(seed: int = typer.Option(7, help="Random seed.")) -> None:
    """Load a realistic demo workspace."""
    raise typer.Exit(1)
