"""Email templates: saved after a check render, rendered over the contact, brief and trigger.

A template has a subject, a text body and an optional HTML body, each a Jinja2 template run in
the sandbox (``sandbox``; the HTML body autoescaped) with ``StrictUndefined``: a misspelled
name is an error, never an empty hole in an email. Saving renders every field over a sample
context, so syntax errors, unknown fields of ``contact``/``brief`` and unsafe constructs are a
422 naming the field at save time; the trigger's shape depends on the rule that sends, so it
is checked when the email is sent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from jinja2 import TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError

from tenure.db.models import Contact, EmailTemplate
from tenure.db.repositories.contacts import ContactRepository
from tenure.db.repositories.email import EmailTemplateRepository
from tenure.db.repositories.pagination import Page, check_limit, decode_cursor, encode_cursor
from tenure.domain import brief as B
from tenure.domain.access import Permission
from tenure.domain.errors import (
    DuplicateValue,
    FieldError,
    InvalidInput,
    PreconditionFailed,
)
from tenure.services import brief as brief_service
from tenure.services.context import Ctx
from tenure.services.email import sandbox
from tenure.services.email.text import html_to_text, one_line

MAX_NAME = 200
MAX_SUBJECT = 500
MAX_SOURCE = 200_000
FIELDS = ("name", "subject", "text_body", "html_body")


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


# --- the context a template sees -------------------------------------------------------------


def contact_context(contact: Contact) -> dict[str, Any]:
    emails = [str(e["email"]) for e in contact.emails]
    primary = next((str(e["email"]) for e in contact.emails if e.get("primary")), None)
    return {
        "id": contact.id,
        "kind": contact.kind,
        "display_name": contact.display_name,
        "name": contact.display_name,
        "given_name": contact.given_name or "",
        "family_name": contact.family_name or "",
        "first_name": contact.given_name or contact.display_name,
        "email": primary or (emails[0] if emails else ""),
        "emails": emails,
        "phones": [str(p["number"]) for p in contact.phones],
        "tags": list(contact.tags),
        "stage": contact.stage,
        "client_since": contact.client_since,
        "timezone": contact.timezone or "",
    }


def context_for(ctx: Ctx, contact: Contact, trigger: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "contact": contact_context(contact),
        "brief": dataclasses.asdict(brief_service.build(ctx, contact.id)),
        "trigger": dict(trigger),
    }


class _AnyTrigger:
    """Stands in for the trigger at save time: its shape depends on the rule that sends."""

    def __getattr__(self, name: str) -> _AnyTrigger:
        if name.startswith("_"):
            raise AttributeError(name)
        return self

    def __getitem__(self, key: object) -> _AnyTrigger:
        return self

    def __call__(self, *args: object, **kwargs: object) -> _AnyTrigger:
        return self

    def __iter__(self) -> Any:
        return iter([self])

    def __len__(self) -> int:
        return 1

    def __str__(self) -> str:
        return "trigger"

    def __int__(self) -> int:
        return 1

    def __float__(self) -> float:
        return 1.0

    def __round__(self, ndigits: int | None = None) -> int:
        return 1

    def _any(self, *args: object) -> _AnyTrigger:
        return self

    def _false(self, other: object) -> bool:
        return False

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _any
    __truediv__ = __rtruediv__ = __floordiv__ = __mod__ = __neg__ = _any
    __lt__ = __le__ = __gt__ = __ge__ = _false


def sample_context() -> dict[str, Any]:
    """What a template is checked against when saved: every field a real render has."""
    now = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
    day = date(2025, 3, 1)
    contact = {
        "id": 1,
        "kind": "person",
        "display_name": "Ada Lovelace",
        "name": "Ada Lovelace",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "first_name": "Ada",
        "email": "ada@example.com",
        "emails": ["ada@example.com"],
        "phones": ["+442079460000"],
        "tags": ["vip"],
        "stage": "client",
        "client_since": day,
        "timezone": "Europe/London",
    }
    brief = B.Brief(
        contact_id=1,
        generated_at=now,
        who=B.Who(
            "Ada Lovelace", "person", ("Analytical Ltd (CTO)",), "Sam", "Europe/London", now,
            "email", ("ada@example.com",), ("+442079460000",),
        ),
        relationship=B.Relationship(
            "client", day, 320, (B.SpellLine(day, None, None),),
            (B.AgreementLine(1, "Retainer", "subscription", day, None, 120000, "GBP", "month"),),
        ),
        knowledge=(
            B.KnowledgeLine(1, "preference", "preferred_channel", "email", True, False, now),
        ),
        since_last_time=(B.EventLine("agreement.confirmed", now, "Retainer confirmed"),),
        since=now,
        recent_interactions=(B.InteractionLine(1, "email", "outbound", now, "Sam", "Hello"),),
        open_items=(B.ItemLine("task", 1, "Send the report", now, False, ""),),
        health=B.HealthLine(80, "good", ("+10: recent contact",)),
        cadence=B.CadenceLine(30, now, day, 0),
    )  # fmt: skip
    return {"contact": contact, "brief": dataclasses.asdict(brief), "trigger": _AnyTrigger()}


# --- rendering -------------------------------------------------------------------------------


def _problem(field: str, exc: Exception) -> FieldError:
    if isinstance(exc, TemplateSyntaxError):
        return FieldError(field, "template-syntax", f"line {exc.lineno}: {exc.message}")
    if isinstance(exc, SecurityError):
        return FieldError(field, "template-unsafe", f"not allowed in a template: {exc}")
    if isinstance(exc, UndefinedError):
        return FieldError(field, "template-undefined", f"{exc.message} (fields are case-sensitive)")
    return FieldError(field, "template-error", f"{type(exc).__name__}: {exc}")


def render_sources(
    sources: Mapping[str, str], context: dict[str, Any], *, prefix: str = ""
) -> Rendered:
    """Render subject, text_body and html_body; every failing field is named in one error."""
    out: dict[str, str] = {}
    errors: list[FieldError] = []
    for field in ("subject", "text_body", "html_body"):
        source = sources.get(field) or ""
        try:
            out[field] = sandbox.render(source, context, html=field == "html_body")
        except Exception as exc:  # a template is user code: any failure is its author's to fix
            errors.append(_problem(prefix + field, exc))
    if errors:
        raise InvalidInput(errors)
    text = out["text_body"]
    if not text.strip() and out["html_body"].strip():
        text = html_to_text(out["html_body"])
    return Rendered(one_line(out["subject"], MAX_SUBJECT), text, out["html_body"])


def render_template(template: EmailTemplate, context: dict[str, Any]) -> Rendered:
    sources = {
        "subject": template.subject,
        "text_body": template.text_body,
        "html_body": template.html_body,
    }
    return render_sources(sources, context, prefix=f"template[{template.name}].")


# --- CRUD ------------------------------------------------------------------------------------


def _repo(ctx: Ctx) -> EmailTemplateRepository:
    return EmailTemplateRepository(ctx.session, ctx.workspace_id)


def _check(ctx: Ctx, values: dict[str, str], *, template_id: int | None) -> None:
    errors: list[FieldError] = []
    name = values["name"]
    if not name or len(name) > MAX_NAME:
        errors.append(FieldError("name", "length", f"between 1 and {MAX_NAME} characters"))
    elif (taken := _repo(ctx).by_name(name)) is not None and taken.id != template_id:
        raise DuplicateValue(f"a template named {name!r} exists", field="name", id=taken.id)
    if not values["subject"].strip():
        errors.append(FieldError("subject", "required", "a template needs a subject"))
    if len(values["subject"]) > MAX_SUBJECT:
        errors.append(FieldError("subject", "max-length", f"at most {MAX_SUBJECT} characters"))
    if not values["text_body"].strip() and not values["html_body"].strip():
        errors.append(FieldError("text_body", "required", "give a text body, an HTML one, or both"))
    for field in FIELDS:
        if len(values[field]) > MAX_SOURCE:
            errors.append(FieldError(field, "max-length", f"at most {MAX_SOURCE} characters"))
        if "\0" in values[field]:
            errors.append(FieldError(field, "no-nul", "must not contain NUL"))
    if errors:
        raise InvalidInput(errors)
    render_sources(values, sample_context())


def create_template(
    ctx: Ctx, *, name: str, subject: str, text_body: str = "", html_body: str = ""
) -> EmailTemplate:
    ctx.require(Permission.WRITE)
    values = {
        "name": name.strip(),
        "subject": subject,
        "text_body": text_body,
        "html_body": html_body,
    }
    _check(ctx, values, template_id=None)
    template = EmailTemplate(**values, created_at=ctx.now, updated_at=ctx.now)
    _repo(ctx).add(template)
    ctx.session.flush()
    return template


def update_template(
    ctx: Ctx, template_id: int, *, expected_version: int, changes: Mapping[str, str]
) -> EmailTemplate:
    ctx.require(Permission.WRITE)
    unknown = sorted(set(changes) - set(FIELDS))
    if unknown:
        raise InvalidInput([FieldError(n, "read-only", "cannot be changed") for n in unknown])
    template = _repo(ctx).get(template_id, for_update=True)
    _expect(template, expected_version)
    values = {field: str(getattr(template, field)) for field in FIELDS}
    values.update({k: (v.strip() if k == "name" else v) for k, v in changes.items()})
    _check(ctx, values, template_id=template.id)
    if any(getattr(template, k) != v for k, v in values.items()):
        for key, value in values.items():
            setattr(template, key, value)
        template.updated_at = ctx.now
        ctx.session.flush()  # bumps the version
    return template


def delete_template(ctx: Ctx, template_id: int, *, expected_version: int) -> None:
    """Messages already sent keep their log rows (their ``template_id`` becomes empty)."""
    ctx.require(Permission.WRITE)
    template = _repo(ctx).get(template_id, for_update=True)
    _expect(template, expected_version)
    ctx.session.delete(template)
    ctx.session.flush()


def _expect(template: EmailTemplate, expected_version: int) -> None:
    if template.version != expected_version:
        raise PreconditionFailed(
            f"email template {template.id} is at version {template.version}, "
            f"not {expected_version}",
            current_version=template.version,
        )


def get_template(ctx: Ctx, template_id: int) -> EmailTemplate:
    ctx.require(Permission.READ)
    return _repo(ctx).get(template_id)


def list_templates(ctx: Ctx, *, cursor: str | None = None, limit: int = 50) -> Page:
    """Templates by name."""
    ctx.require(Permission.READ)
    check_limit(limit)
    after = decode_cursor(cursor, arity=2, types=(str, int)) if cursor else None
    rows = list(_repo(ctx).page(after=after, limit=limit))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1].name, rows[-1].id])
    return Page(rows, next_cursor)


def preview(
    ctx: Ctx, template_id: int, *, contact_id: int, trigger: Mapping[str, Any] | None = None
) -> Rendered:
    """What the template would send to this contact now; sends and changes nothing."""
    ctx.require(Permission.READ)
    template = _repo(ctx).get(template_id)
    contact = ContactRepository(ctx.session, ctx.workspace_id).get(contact_id)
    return render_template(template, context_for(ctx, contact, trigger or {}))
