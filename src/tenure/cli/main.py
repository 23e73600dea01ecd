"""`tenure`: the command-line entry point."""

from __future__ import annotations

import typer

from tenure.cli import (
    admin,
    analytics,
    archive,
    automation,
    backup,
    contacts,
    continuity,
    data,
    db,
    demo,
    email,
    import_csv,
    privacy,
    scheduling,
    search,
    serve,
    vcard,
    webhooks,
    worker,
)

app = typer.Typer(
    name="tenure",
    help="Tenure: client management for ongoing client relationships.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.add_typer(admin.workspace_app, name="workspace")
app.add_typer(admin.token_app, name="token")
app.add_typer(admin.user_app, name="user")
app.add_typer(contacts.app, name="contacts")
app.add_typer(scheduling.schedules_app, name="schedules")
app.add_typer(scheduling.activities_app, name="activities")
app.add_typer(scheduling.deliveries_app, name="deliveries")
app.add_typer(scheduling.cases_app, name="cases")
app.command("timeline")(contacts.timeline_command)
app.command("agenda")(scheduling.agenda_command)
app.command("brief")(continuity.brief_command)
app.add_typer(continuity.health_app, name="health")
app.add_typer(worker.jobs_app, name="jobs")
app.add_typer(webhooks.app, name="webhooks")
app.add_typer(email.app, name="email")
app.add_typer(automation.rules_app, name="rules")
app.add_typer(automation.playbooks_app, name="playbooks")
app.add_typer(analytics.app, name="analytics")
app.add_typer(search.app, name="search")
app.add_typer(data.import_app, name="import")
app.add_typer(data.export_app, name="export")
# Modules that register commands on the groups above (or on `app` through `register`).
_COMMAND_MODULES = (archive, backup, import_csv, privacy, vcard)
app.command("backup")(backup.backup_command)
app.command("restore")(backup.restore_command)
app.command("audit")(privacy.audit_command)
app.command("worker")(worker.worker_command)
app.command("serve")(serve.serve)
app.command("demo")(demo.demo_command)


def main() -> None:
    app()
