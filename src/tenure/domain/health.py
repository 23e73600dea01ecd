"""Health: an explainable 0-100 score of how well a client relationship is kept.

The score starts at 100; each signal takes points away, up to its weight, and says why
("-15: no touch for 48 days, cadence 30"). Weights are configurable per workspace; every
contribution is returned so people can see what to do about a low score. Pure arithmetic.

Signals and how each scales (``w`` is its weight):

* touch recency: nothing while within the cadence; then ``w`` * overdue / cadence, capped.
* overdue commitments: ``w / 2`` each, capped at ``w`` (a broken promise hurts the most).
* overdue tasks: ``w / 4`` each, capped at ``w``.
* open cases: by priority (urgent 1, high 0.6, normal 0.3, low 0.1 of ``w``), + 50 % when
  older than 14 days, capped at ``w``.
* service frequency: the share of the deliveries the schedules planned in the last 90 days
  that did not happen, * ``w``.
* renewal proximity: a renewal within 30 days without a touch in the last 30 days: ``w``.
* recent outcomes: no-shows and cancellations in the last 90 days, ``w / 3`` each, capped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from tenure.domain.errors import FieldError, InvalidInput

DEFAULT_WEIGHTS: dict[str, int] = {
    "touch": 30,
    "commitments": 20,
    "tasks": 10,
    "cases": 20,
    "service": 15,
    "renewal": 10,
    "outcomes": 10,
}
CASE_PRIORITY_SHARE = {"urgent": 1.0, "high": 0.6, "normal": 0.3, "low": 0.1}
AGED_CASE_DAYS = 14
RENEWAL_WINDOW_DAYS = 30
#: Bands for lists and filters.
BANDS = (("at_risk", 0, 49), ("watch", 50, 74), ("healthy", 75, 100))


def check_weights(weights: Mapping[str, object]) -> dict[str, int]:
    errors: list[FieldError] = []
    out = dict(DEFAULT_WEIGHTS)
    for name, value in weights.items():
        if name not in DEFAULT_WEIGHTS:
            errors.append(FieldError(f"health_weights.{name}", "choice", "not a health signal"))
        elif isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
            errors.append(FieldError(f"health_weights.{name}", "range", "between 0 and 100"))
        else:
            out[name] = value
    if errors:
        raise InvalidInput(errors)
    return out


def band_range(band: str) -> tuple[int, int]:
    for name, low, high in BANDS:
        if name == band:
            return low, high
    raise InvalidInput.one("health_band", "choice", ", ".join(name for name, _, _ in BANDS))


def band_of(score: int) -> str:
    for name, low, high in BANDS:
        if low <= score <= high:
            return name
    return "healthy"


@dataclass(frozen=True)
class OpenCase:
    priority: str
    age_days: int


@dataclass(frozen=True)
class Signals:
    today: date
    cadence_days: int
    next_touch_due: date | None
    last_touch_on: date | None
    overdue_commitments: int = 0
    overdue_tasks: int = 0
    open_cases: Sequence[OpenCase] = ()
    planned_deliveries_90d: int = 0
    delivered_90d: int = 0
    renews_on: date | None = None
    no_shows_90d: int = 0
    cancellations_90d: int = 0


@dataclass(frozen=True)
class Contribution:
    signal: str
    points: int
    reason: str

    def as_dict(self) -> dict[str, object]:
        return {"signal": self.signal, "points": self.points, "reason": self.reason}


@dataclass(frozen=True)
class Health:
    score: int
    contributions: tuple[Contribution, ...] = field(default_factory=tuple)

    @property
    def band(self) -> str:
        return band_of(self.score)


def _capped(value: float, weight: int) -> int:
    return round(min(max(value, 0.0), float(weight)))


def score(signals: Signals, weights: Mapping[str, int] | None = None) -> Health:
    w = {**DEFAULT_WEIGHTS, **(weights or {})}
    parts: list[Contribution] = []

    def take(signal: str, points: int, reason: str) -> None:
        if points > 0:
            parts.append(Contribution(signal, -points, reason))

    s = signals
    if s.next_touch_due is not None and s.today > s.next_touch_due:
        overdue = (s.today - s.next_touch_due).days
        since = (s.today - s.last_touch_on).days if s.last_touch_on else None
        what = f"no touch for {since} days" if since is not None else "never touched"
        take(
            "touch",
            _capped(w["touch"] * overdue / s.cadence_days, w["touch"]),
            f"{what}, cadence {s.cadence_days}",
        )
    if s.overdue_commitments:
        take(
            "commitments",
            _capped(w["commitments"] / 2 * s.overdue_commitments, w["commitments"]),
            f"{s.overdue_commitments} overdue commitment(s)",
        )
    if s.overdue_tasks:
        take(
            "tasks",
            _capped(w["tasks"] / 4 * s.overdue_tasks, w["tasks"]),
            f"{s.overdue_tasks} overdue task(s)",
        )
    if s.open_cases:
        weight = sum(
            CASE_PRIORITY_SHARE.get(c.priority, 0.3) * (1.5 if c.age_days > AGED_CASE_DAYS else 1)
            for c in s.open_cases
        )
        aged = sum(1 for c in s.open_cases if c.age_days > AGED_CASE_DAYS)
        extra = f", {aged} older than {AGED_CASE_DAYS} days" if aged else ""
        take(
            "cases",
            _capped(w["cases"] * weight, w["cases"]),
            f"{len(s.open_cases)} open case(s){extra}",
        )
    if s.planned_deliveries_90d > 0 and s.delivered_90d < s.planned_deliveries_90d:
        missing = s.planned_deliveries_90d - s.delivered_90d
        take(
            "service",
            _capped(w["service"] * missing / s.planned_deliveries_90d, w["service"]),
            f"{s.delivered_90d} of {s.planned_deliveries_90d} planned services delivered "
            "in 90 days",
        )
    if s.renews_on is not None and 0 <= (s.renews_on - s.today).days <= RENEWAL_WINDOW_DAYS:
        recent = s.last_touch_on is not None and (s.today - s.last_touch_on).days <= 30
        if not recent:
            take(
                "renewal",
                w["renewal"],
                f"renews on {s.renews_on} with no touch in the last 30 days",
            )
    bad = s.no_shows_90d + s.cancellations_90d
    if bad:
        take(
            "outcomes",
            _capped(w["outcomes"] / 3 * bad, w["outcomes"]),
            f"{s.no_shows_90d} no-show(s) and {s.cancellations_90d} cancellation(s) in 90 days",
        )
    total = 100 + sum(c.points for c in parts)
    return Health(max(0, min(100, total)), tuple(parts))
