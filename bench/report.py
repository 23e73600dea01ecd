"""The report: targets checked per scenario, then JSON and Markdown files."""

from __future__ import annotations

import json
import os
import platform
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.scenarios import FLOOR_GROUPS, P95_TARGET_MS

MAX_READ_STATEMENTS = 4
MIXED_RPS_TARGET = 1000
MIXED_RSS_TARGET_MB = 250
IMPORT_RPS_TARGET = 10_000


def _check(result: dict[str, Any]) -> list[str]:
    """The targets a scenario misses (empty: all met). Timing targets are for size M."""
    missed = []
    limit = P95_TARGET_MS[result["group"]]
    if result["p95_ms"] > limit:
        missed.append(f"p95 {result['p95_ms']:.1f} > {limit:g} ms")
    if result["read"] and result["statements_max"] > MAX_READ_STATEMENTS:
        missed.append(f"{result['statements_max']} statements > {MAX_READ_STATEMENTS}")
    floor = result.get("floor_ms")
    held = result["group"] in FLOOR_GROUPS and floor is not None
    if held and result["p50_ms"] > max(3 * floor, floor + 2):
        missed.append(f"p50 {result['p50_ms']:.1f} > max(3x, +2 ms) of floor {floor:.2f}")
    return missed


def _relative(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Timeline 50k vs 10 events, deep vs first list page (both <= 1.5x)."""
    by_name = {r["name"]: r for r in results}
    timelines = sorted(
        (r for r in results if r["name"].startswith("timeline page, ")),
        key=lambda r: int(r["name"].split(", ")[1].split("-")[0]),
    )
    out: dict[str, Any] = {}
    if len(timelines) >= 2:
        out["timeline_largest_vs_smallest"] = timelines[-1]["p50_ms"] / timelines[0]["p50_ms"]
    first = by_name.get("clients by name, first page")
    deep = by_name.get("clients by name, deep page (keyset)")
    if first and deep:
        out["deep_vs_first_page"] = deep["p50_ms"] / first["p50_ms"]
    return out


def assemble(
    db: str,
    args: Any,
    info: dict[str, Any],
    started: datetime,
    results: list[dict[str, Any]],
    transfer: dict[str, Any],
    mixed: list[dict[str, Any]],
) -> dict[str, Any]:
    for result in results:
        result["missed"] = _check(result)
    return {
        "database": db,
        "size": args.size,
        "scale": args.scale,
        "seed": args.seed,
        "started": started.isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "data": {
            k: info.get(k) for k in ("plan", "events", "rows", "load_seconds", "events_per_second")
        },
        "iterations": args.iterations,
        "embedded_worker": not getattr(args, "no_worker", False),
        "scenarios": results,
        "relative": _relative(results),
        "import_export": transfer,
        "mixed": mixed,
    }


def write(data: dict[str, Any], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{data['started'][:10]}-{data['database']}-{data['size']}"
    if data["scale"] != 1.0:
        stem += f"-x{data['scale']:g}"
    json_path, md_path = out / f"{stem}.json", out / f"{stem}.md"
    json_path.write_text(json.dumps(data, indent=2, default=str))
    md_path.write_text(markdown(data))
    return [json_path, md_path]


def _ms(value: Any) -> str:
    return "-" if value is None else f"{value:.2f}"


def markdown(data: dict[str, Any]) -> str:
    d = data["data"]
    lines = [
        f"# Tenure benchmark: {data['database']}, size {data['size']}"
        + (f" x{data['scale']:g}" if data["scale"] != 1.0 else ""),
        "",
        f"{data['started']} · {data['machine']['cpus']} CPUs · {data['machine']['platform']} · "
        f"Python {data['machine']['python']} · {data['iterations']} iterations per scenario "
        "(analytics: a fifth), medians of those.",
        "",
        f"Data: {d['events']:,} timeline events, {d['rows']:,} rows, generated in "
        f"{d['load_seconds']} s ({d['events_per_second']:,} events/s).",
        "",
        "| # | scenario | p50 ms | p95 ms | p99 ms | SQL stmts | floor ms | x floor | status "
        "| missed |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in data["scenarios"]:
        ratio = "-" if r.get("ratio") is None else f"{r['ratio']:.1f}"
        statuses = ", ".join(f"{k} x{v}" for k, v in r["statuses"].items())
        lines.append(
            f"| {r['number']} | {r['name']} | {_ms(r['p50_ms'])} | {_ms(r['p95_ms'])} | "
            f"{_ms(r['p99_ms'])} | {r['statements_max']} | {_ms(r.get('floor_ms'))} | {ratio} | "
            f"{statuses} | {'; '.join(r['missed']) or 'met'} |"
        )
    rel = data["relative"]
    lines += ["", "Relative (targets ≤ 1.5):"]
    lines += [f"- {k.replace('_', ' ')}: {v:.2f}" for k, v in rel.items()]
    t = data["import_export"]
    lines += ["", f"Import of {t['rows']:,} CSV rows and workspace export (scenario 7):"]
    for key in ("import", "export"):
        v = t[key]
        if v["available"]:
            extra = f", {v['rows_per_second']:,.0f} rows/s" if key == "import" else ""
            lines.append(f"- {key}: {v['seconds']:.1f} s{extra}")
        else:
            lines.append(
                f"- {key}: not available ({v['error'].splitlines()[-1] if v['error'] else ''})"
            )
    if data["mixed"]:
        lines += [
            "",
            "Mixed load (scenario 8; 80 % reads, 20 % writes; 2 server processes):",
            "",
            "| clients | driver | requests | errors | req/s | p50 ms | p95 ms "
            "| peak RSS MB/process |",
            "|---:|---|---:|---:|---:|---:|---:|---:|",
        ]
        for m in data["mixed"]:
            lines.append(
                f"| {m['concurrency']} | {m.get('driver', 'threads')} | {m['requests']} | "
                f"{m['errors']} | "
                f"{m['throughput_rps']:.0f} | {_ms(m['p50_ms'])} | {_ms(m['p95_ms'])} | "
                f"{m['peak_rss_mb_per_process']:.0f} |"
            )
    return "\n".join(lines) + "\n"


def summary(data: dict[str, Any]) -> str:
    missed = [r for r in data["scenarios"] if r["missed"]]
    count = len(data["scenarios"])
    head = f"[{data['database']}] {count} scenarios, {len(missed)} with a missed target"
    return "\n".join([head, *(f"  - {r['name']}: {'; '.join(r['missed'])}" for r in missed)])
