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


def histogram(
    groups: Sequence[tuple[str, Sequence[float]]], *, series: Sequence[str], title: str
) -> Markup:
    """Vertical bars side by side per group (one per series, told apart by class ``s0``,
    ``s1``…), a legend, the count above each bar and a <title> per bar for hover text."""
    if not groups or not series:
        return Markup("")
    top = max((v for _, values in groups for v in values), default=0) or 1
    height, bottom, legend = 240, 28, 22
    plot = height - bottom - legend - 14
    slot = (WIDTH - 2 * PAD) / len(groups)
    bar = min(slot * 0.8 / len(series), 48)
    parts: list[str] = []
    for i, (label, values) in enumerate(groups):
        left = PAD + i * slot + (slot - bar * len(series)) / 2
        for k, value in enumerate(values):
            h = plot * value / top
            x, y = left + k * bar, legend + 14 + plot - h
            parts.append(
                f'<rect class="bar s{k}" x="{x:.1f}" y="{y:.1f}" width="{bar - 2:.1f}" '
                f'height="{h:.1f}"><title>{escape(label)}, {escape(series[k])}: '
                f"{value:g}</title></rect>"
            )
            if value:
                parts.append(
                    f'<text class="axis" x="{x + (bar - 2) / 2:.1f}" y="{y - 3:.1f}" '
                    f'text-anchor="middle">{value:g}</text>'
                )
        parts.append(
            f'<text class="axis" x="{PAD + i * slot + slot / 2:.1f}" y="{height - 8}" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    keys = "".join(
        f'<rect class="bar s{k}" x="{PAD + k * 170}" y="4" width="12" height="12"/>'
        f'<text class="axis" x="{PAD + k * 170 + 18}" y="14">{escape(name)}</text>'
        for k, name in enumerate(series)
    )
    baseline = legend + 14 + plot
    # Every text above went through escape().
    return Markup(  # noqa: S704
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>{keys}'
        f'<line class="grid" x1="{PAD}" y1="{baseline}" x2="{WIDTH - PAD}" y2="{baseline}"/>'
        f"{''.join(parts)}</svg>"
    )
