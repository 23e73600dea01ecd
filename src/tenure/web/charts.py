"""Small server-rendered SVG charts (no JavaScript, no inline styles: CSP-safe)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD = 720, 220, 32


@dataclass(frozen=True)
class Point:
    label: str
    value: float


def line_chart(points: Sequence[Point], *, title: str) -> Markup:
    """A line with dots, labelled axes, and a <title> per point for hover text."""
    if not points:
        return Markup("")
    top = max((p.value for p in points), default=0) or 1
    step = (WIDTH - 2 * PAD) / max(len(points) - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return PAD + i * step, HEIGHT - PAD - (v / top) * (HEIGHT - 2 * PAD)

    coords = [xy(i, p.value) for i, p in enumerate(points)]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    dots = "".join(
        f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="3"><title>{escape(p.label)}: '
        f"{p.value:g}</title></circle>"
        for (x, y), p in zip(coords, points, strict=True)
    )
    every = max(len(points) // 8, 1)
    labels = "".join(
        f'<text class="axis" x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="middle">'
        f"{escape(p.label)}</text>"
        for i, ((x, _), p) in enumerate(zip(coords, points, strict=True))
        if i % every == 0
    )
    # Every user-provided text above went through escape().
    return Markup(  # noqa: S704
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f'<line class="grid" x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" '
        f'y2="{HEIGHT - PAD}"/>'
        f'<text class="axis" x="4" y="{PAD}">{top:g}</text>'
        f'<polyline class="line" points="{path}"/>{dots}{labels}</svg>'
    )


def bar_chart(points: Sequence[Point], *, title: str) -> Markup:
    """Horizontal bars, one per label."""
    if not points:
        return Markup("")
    top = max(p.value for p in points) or 1
    row = 26
    height = row * len(points) + 10
    label_w = 170
    bars = "".join(
        f'<text class="axis" x="0" y="{i * row + 17}">{escape(p.label)}</text>'
        f'<rect class="bar" x="{label_w}" y="{i * row + 4}" height="{row - 8}" '
        f'width="{(WIDTH - label_w - 60) * p.value / top:.1f}"><title>{escape(p.label)}: '
        f"{p.value:g}</title></rect>"
        f'<text class="axis" x="{label_w + 6 + (WIDTH - label_w - 60) * p.value / top:.1f}" '
        f'y="{i * row + 17}">{p.value:g}</text>'
        for i, p in enumerate(points)
    )
    return Markup(  # noqa: S704 - labels escaped above
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>{bars}</svg>'
    )
