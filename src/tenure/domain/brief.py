"""The continuity brief: "what must I know before I talk to this client?"

The brief is assembled by ``services.brief`` from a constant number of queries into these
plain values; this module renders it as Markdown (for `Accept: text/markdown`, the CLI and
copy-paste into a call note).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class Who:
    name: str
    kind: str
    organizations: tuple[str, ...]
    owner: str | None
    timezone: str
    local_time: datetime
    preferred_channel: str | None
    emails: tuple[str, ...]
    phones: tuple[str, ...]


@dataclass(frozen=True)
class SpellLine:
    started_on: date
    ended_on: date | None
    end_reason: str | None


@dataclass(frozen=True)
class AgreementLine:
    id: int
    title: str
    kind: str
    renews_on: date | None
    ends_on: date | None
    value_minor: int | None
    currency: str | None
    billing_period: str


@dataclass(frozen=True)
class Relationship:
    stage: str
    client_since: date | None
    tenure_days: int
    spells: tuple[SpellLine, ...]
    active_agreements: tuple[AgreementLine, ...]


@dataclass(frozen=True)
class KnowledgeLine:
    id: int
    kind: str
    key: str | None
    text: str
    pinned: bool
    stale: bool
    last_confirmed_at: datetime


@dataclass(frozen=True)
class EventLine:
    type: str
    occurred_at: datetime
    summary: str


@dataclass(frozen=True)
class InteractionLine:
    id: int
    channel: str
    direction: str
    occurred_at: datetime
    author: str | None
    subject: str


@dataclass(frozen=True)
class ItemLine:
    """An open commitment, task, appointment, delivery or case, in one line."""

    kind: str
    id: int
    title: str
    when: datetime | date | None
    overdue: bool = False
    detail: str = ""


@dataclass(frozen=True)
class HealthLine:
    score: int | None
    band: str | None
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class CadenceLine:
    cadence_days: int | None
    last_touch_at: datetime | None
    next_touch_due: date | None
    overdue_days: int


@dataclass(frozen=True)
class Brief:
    contact_id: int
    generated_at: datetime
    who: Who
    relationship: Relationship
    knowledge: tuple[KnowledgeLine, ...]
    since_last_time: tuple[EventLine, ...]
    since: datetime | None
    recent_interactions: tuple[InteractionLine, ...]
    open_items: tuple[ItemLine, ...] = field(default_factory=tuple)
    health: HealthLine | None = None
    cadence: CadenceLine | None = None


def _money(value_minor: int | None, currency: str | None) -> str:
    if value_minor is None or currency is None:
        return ""
    return f"{value_minor / 100:,.2f} {currency}"


def _md(text: str) -> str:
    """Escape what Markdown would read as formatting in user text."""
    out = text.replace("\\", "\\\\")
    for ch in "`*_[]<>#|":
        out = out.replace(ch, "\\" + ch)
    return " ".join(out.split())


def render_markdown(brief: Brief) -> str:
    sections = (
        _header(brief),
        _who(brief.who),
        _relationship(brief.relationship),
        _knowledge(brief.knowledge),
        _since(brief),
        _interactions(brief.recent_interactions),
        _open(brief.open_items),
        _health(brief.health),
        _cadence(brief.cadence),
    )
    return "\n\n".join("\n".join(lines) for lines in sections if lines) + "\n"


def _header(brief: Brief) -> list[str]:
    r = brief.relationship
    facts = [f"**{r.stage.replace('_', ' ')}**"]
    if r.client_since:
        facts.append(f"client since {r.client_since}")
    facts.append(f"tenure {r.tenure_days} days")
    if brief.health and brief.health.score is not None:
        facts.append(f"health {brief.health.score} ({brief.health.band})")
    return [f"# {_md(brief.who.name)}", "", " · ".join(facts)]


def _who(w: Who) -> list[str]:
    lines = ["## Who"]
    if w.organizations:
        lines.append(f"- Works at: {_md(', '.join(w.organizations))}")
    lines.append(f"- Owner: {_md(w.owner or 'nobody')}")
    lines.append(f"- Local time: {w.local_time:%a %d %b %H:%M} ({w.timezone})")
    if w.preferred_channel:
        lines.append(f"- Prefers: {_md(w.preferred_channel)}")
    if w.emails:
        lines.append(f"- Email: {_md(', '.join(w.emails))}")
    if w.phones:
        lines.append(f"- Phone: {_md(', '.join(w.phones))}")
    return lines


def _relationship(r: Relationship) -> list[str]:
    lines = ["## Relationship"]
    for spell in r.spells:
        end = f"{spell.ended_on} ({spell.end_reason})" if spell.ended_on else "now"
        lines.append(f"- Client {spell.started_on} → {_md(end)}")
    for a in r.active_agreements:
        value = _money(a.value_minor, a.currency)
        parts = [a.kind]
        if value:
            parts.append(f"{value}/{a.billing_period}")
        if a.renews_on:
            parts.append(f"renews {a.renews_on}")
        if a.ends_on:
            parts.append(f"ends {a.ends_on}")
        lines.append(f"- Agreement: {_md(a.title)} ({', '.join(parts)})")
    return lines if len(lines) > 1 else []


def _knowledge(entries: tuple[KnowledgeLine, ...]) -> list[str]:
    if not entries:
        return []
    lines = ["## What we know"]
    for k in entries:
        pin = "(pinned) " if k.pinned else ""
        stale = " _(not confirmed lately: check it)_" if k.stale else ""
        lines.append(f"- {pin}**{k.kind.replace('_', ' ')}**: {_md(k.text)}{stale}")
    return lines


def _since(brief: Brief) -> list[str]:
    title = "## Since last time" + (f" ({brief.since:%Y-%m-%d})" if brief.since else "")
    if not brief.since_last_time:
        return [title, "- Nothing new."]
    return [title] + [
        f"- {e.occurred_at:%Y-%m-%d}: {_md(e.summary)}" for e in brief.since_last_time
    ]


def _interactions(items: tuple[InteractionLine, ...]) -> list[str]:
    if not items:
        return []
    lines = ["## Recent interactions"]
    for i in items:
        by = f" by {_md(i.author)}" if i.author else ""
        lines.append(
            f"- {i.occurred_at:%Y-%m-%d} {i.channel} ({i.direction}){by}: "
            f"{_md(i.subject or '(no subject)')}"
        )
    return lines


def _open(items: tuple[ItemLine, ...]) -> list[str]:
    if not items:
        return []
    lines = ["## Open"]
    for item in items:
        when = f" — {item.when:%Y-%m-%d}" if item.when else ""
        late = " **overdue**" if item.overdue else ""
        detail = f" ({_md(item.detail)})" if item.detail else ""
        lines.append(f"- {item.kind}: {_md(item.title)}{when}{late}{detail}")
    return lines


def _health(health: HealthLine | None) -> list[str]:
    if health is None or not health.reasons:
        return []
    return ["## Health"] + [f"- {_md(reason)}" for reason in health.reasons]


def _cadence(c: CadenceLine | None) -> list[str]:
    if c is None or not c.cadence_days:
        return []
    state = f"overdue by {c.overdue_days} days" if c.overdue_days else "on track"
    last = f"{c.last_touch_at:%Y-%m-%d}" if c.last_touch_at else "never"
    return [
        "## Cadence",
        f"- Every {c.cadence_days} days; last touch {last}; next due "
        f"{c.next_touch_due or '-'} ({state})",
    ]
