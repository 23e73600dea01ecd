"""`tenure email import FILE.eml|FILE.mbox`"""

from __future__ import annotations

import mailbox
import re
from collections.abc import Iterator
from pathlib import Path

import typer
from rich.progress import Progress

from tenure.cli.runtime import (
    JsonOption,
    WorkspaceOption,
    console,
    err_console,
    handle_errors,
    print_json,
    workspace_ctx,
)
from tenure.services import email

app = typer.Typer(help="Email: import received messages.", no_args_is_help=True)

MBOX_SUFFIXES = frozenset({".mbox", ".mbx"})
_FROM_ESCAPE = re.compile(rb"(?m)^>(>*From )")


def is_mbox(path: Path) -> bool:
    """An mbox by its name, or by its first line (``From `` starts every message in one)."""
    if path.suffix.lower() in MBOX_SUFFIXES:
        return True
    with path.open("rb") as handle:
        return handle.read(5) == b"From "


def messages_of(path: Path) -> tuple[int, Iterator[bytes]]:
    """How many messages the file holds, and their raw bytes one at a time."""
    if not is_mbox(path):
        return 1, iter([path.read_bytes()])
    box = mailbox.mbox(path, create=False)
    keys = list(box.keys())

    def each() -> Iterator[bytes]:
        try:
            for key in keys:
                # mboxrd: a body line ">From " (">>From " …) was escaped when stored.
                yield _FROM_ESCAPE.sub(rb"\1", box.get_bytes(key))
        finally:
            box.close()

    return len(keys), each()


@app.command("import")
@handle_errors
def import_command(
    file: Path = typer.Argument(..., help="One message (.eml) or a mailbox (.mbox)."),
    workspace: str = WorkspaceOption,
    as_json: bool = JsonOption,
) -> None:
    """Log received messages on the contacts they are from or to, as POST /inbound/email
    does: duplicates (by Message-ID) and messages that match no contact are skipped.
    Exits 2 when some message could not be read."""
    if not file.is_file():
        err_console.print(f"[red]error:[/red] {file} is not a file", highlight=False)
        raise typer.Exit(2)
    try:
        total, raws = messages_of(file)
    except (OSError, mailbox.Error) as exc:
        err_console.print(f"[red]error:[/red] cannot read {file}: {exc}", highlight=False)
        raise typer.Exit(2) from None
    with workspace_ctx(workspace) as ctx:
        if as_json or total < 2:
            report = email.import_messages(ctx, raws)
        else:
            with Progress(console=err_console, transient=True) as progress:
                task = progress.add_task("importing", total=total)

                def counted() -> Iterator[bytes]:
                    for raw in raws:
                        yield raw
                        progress.advance(task)

                report = email.import_messages(ctx, counted())
    if as_json:
        print_json(report.as_dict())
    else:
        console.print(
            f"{report.imported} imported ({report.interactions} interactions), "
            f"{report.duplicates} duplicates, {report.unmatched} unmatched, "
            f"{report.rejected} rejected",
            highlight=False,
        )
        for line in report.errors:
            err_console.print(f"  {line}", highlight=False)
    if report.rejected:
        raise typer.Exit(2)
