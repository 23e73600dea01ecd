"""The shapes many CLI commands share: `show ID` of one record, and a page of records.

A `show` command is the same for every record kind (load one by id inside a read-only unit of
work, turn it into a dict, print it as fields or JSON), so it is registered by one factory
instead of being written out per kind.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

import typer
from rich.table import Table

from tenure.cli.runtime import (
    JsonOption,
    WorkspaceOption,
    console,
    handle_errors,
    print_json,
    workspace_ctx,
)
from tenure.services.context import Ctx

T = TypeVar("T")

#: The paging options of a list command (keyset pages of at most 200).
LimitOption = typer.Option(50, min=1, max=200)
CursorOption = typer.Option(None)


def cell(value: Any) -> str:
    """A value as a table cell or a field: times to the minute, nothing for None."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return "" if value is None else str(value)


def print_fields(data: Mapping[str, Any]) -> None:
    for key, value in data.items():
        console.print(f"[bold]{key}[/bold]: {cell(value)}", highlight=False)


def print_page(
    items: list[dict[str, Any]], next_cursor: str | None, as_json: bool, columns: tuple[str, ...]
) -> None:
    """One page of a list: JSON with the next cursor, or a table and how to get more."""
    if as_json:
        print_json({"items": items, "next_cursor": next_cursor})
        return
    table = Table(*columns)
    for item in items:
        table.add_row(*(cell(item[c]) for c in columns))
    console.print(table)
    if next_cursor:
        console.print(f"more: --cursor {next_cursor}")


def add_show_command(
    app: typer.Typer,
    *,
    argument: str,
    get: Callable[[Ctx, int], T],
    to_dict: Callable[[T], dict[str, Any]],
    help: str | None = None,
    render: Callable[[dict[str, Any]], None] = print_fields,
) -> None:
    """Register `show ARGUMENT [--workspace] [--json]` on ``app``: ``get(ctx, id)`` loads the
    record (NotFound: exit code 3), ``to_dict`` turns it into what is printed, inside the unit
    of work (relationships may still be loaded); ``render`` prints it for people."""

    def show(**params: Any) -> None:
        with workspace_ctx(params["workspace"], write=False) as ctx:
            data = to_dict(get(ctx, params[argument]))
        if params["as_json"]:
            print_json(data)
        else:
            render(data)

    # Typer reads the parameters from the signature; the argument's name is the one the help
    # shows (e.g. SCHEDULE_ID), so it is set per command rather than written out per kind.
    show.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(
                argument,
                inspect.Parameter.KEYWORD_ONLY,
                default=typer.Argument(...),
                annotation=int,
            ),
            inspect.Parameter(
                "workspace", inspect.Parameter.KEYWORD_ONLY, default=WorkspaceOption, annotation=str
            ),
            inspect.Parameter(
                "as_json", inspect.Parameter.KEYWORD_ONLY, default=JsonOption, annotation=bool
            ),
        ]
    )
    show.__doc__ = help
    app.command("show")(handle_errors(show))
