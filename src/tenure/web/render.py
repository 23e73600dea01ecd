"""Jinja2 rendering: autoescaped everywhere, user Markdown sanitized, times in the viewer's zone."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import nh3
from fastapi import Request
from fastapi.templating import Jinja2Templates
from markdown_it import MarkdownIt
from markupsafe import Markup

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "code",
    "pre",
    "ul",
    "ol",
    "li",
    "blockquote",
    "a",
    "h3",
    "h4",
    "hr",
}


def markdown(text: str | None) -> Markup:
    """User text as Markdown: raw HTML is not rendered, and the output is sanitized again."""
    html = _markdown.render(text or "")
    clean = nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )
    return Markup(clean)  # noqa: S704 - sanitized by nh3 just above


def _zone(request: Request) -> ZoneInfo:
    return ZoneInfo(getattr(request.state, "timezone", "UTC"))


def money(value_minor: int | None, currency: str | None) -> str:
    if value_minor is None or not currency:
        return ""
    return f"{value_minor / 100:,.2f} {currency}"


def build_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES))
    env = templates.env
    env.filters["markdown"] = markdown
    env.filters["money"] = money
    env.globals["static_version"] = "1"
    return templates


def dt(request: Request, value: datetime | None, fmt: str = "%d %b %Y %H:%M") -> str:
    if value is None:
        return ""
    return value.astimezone(_zone(request)).strftime(fmt)


def d(value: date | None, fmt: str = "%d %b %Y") -> str:
    return value.strftime(fmt) if value else ""


def relative(request: Request, value: datetime | date | None) -> str:
    """ "3 days ago", "in 2 days", "today" (by the viewer's calendar days)."""
    if value is None:
        return ""
    today = datetime.now(_zone(request)).date()
    day = value.astimezone(_zone(request)).date() if isinstance(value, datetime) else value
    delta = (day - today).days
    if delta == 0:
        return "today"
    if delta == 1:
        return "tomorrow"
    if delta == -1:
        return "yesterday"
    return f"in {delta} days" if delta > 0 else f"{-delta} days ago"


def context(request: Request, **values: Any) -> dict[str, Any]:
    """What every page gets: the request, the viewer, CSRF token, and the time helpers."""
    return {
        "request": request,
        "me": getattr(request.state, "me", None),
        "csrf": getattr(request.state, "csrf", ""),
        "dt": lambda v, fmt="%d %b %Y %H:%M": dt(request, v, fmt),
        "d": d,
        "rel": lambda v: relative(request, v),
        **values,
    }
