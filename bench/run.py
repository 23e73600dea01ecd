"""Run the benchmark: generate (or reuse) the data, serve it, measure, write the report.

    python -m bench.run --size S --db sqlite|postgresql|both [--iterations 40] [--seed 1]

For each database: the generated workspace (cached in ``.bench/`` by size, seed and scale),
a real ``uvicorn`` serving ``bench.server`` (the app plus a statement counter) on loopback
with the embedded worker and the default automation rules on, every scenario of
``bench.scenarios`` through one keep-alive ``httpx`` client (warm-up first), each read's
floor on a warm driver connection, the import and export through the CLI, and the mixed
load against two server processes. Writes ``bench/results/<date>-<db>-<size>.json`` and
``.md`` (see ``bench.report``).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench import generate, load, report
from bench.scenarios import Samples, Scenario, build, driver_sql
from bench.stats import percentile
from tenure.db.engine import make_engine
from tenure.db.uow import session_factory, unit_of_work
from tenure.domain.access import Role
from tenure.services.context import Ctx
from tenure.services.rules import install_defaults

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".bench"
RESULTS = ROOT / "bench" / "results"
SKIPPED = {"available": False, "error": "skipped (--skip-transfer)"}
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/tenure_bench"


# --- data ------------------------------------------------------------------------------------


def _tag(size: str, seed: int, scale: float) -> str:
    return f"{size}-s{seed}" + ("" if scale == 1.0 else f"-x{scale:g}")


def _reset_postgres(url: str) -> None:
    engine = make_engine(url, pool_size=1)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def ensure_data(db: str, size: str, seed: int, scale: float, postgres_url: str) -> dict[str, Any]:
    """The generated database and its sidecar, made once per (db, size, seed, scale)."""
    CACHE.mkdir(exist_ok=True)
    tag = _tag(size, seed, scale)
    url = f"sqlite:///{CACHE / f'{tag}.db'}" if db == "sqlite" else postgres_url
    name = tag if db == "sqlite" else f"{make_url(url).database}-{tag}"
    sidecar = CACHE / f"{db}-{name}.json"
    if sidecar.exists():
        info: dict[str, Any] = json.loads(sidecar.read_text())
        if info.get("url") == url and _has_workspace(url, info["workspace_id"]):
            return info
    if db == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(str(CACHE / f"{tag}.db") + suffix).unlink(missing_ok=True)
    else:
        _reset_postgres(url)
    print(f"[{db}] generating size {size} (seed {seed}, scale {scale:g}) …", flush=True)
    info = generate.generate(url, size, seed, scale=scale)
    print(
        f"[{db}] {info['events']:,} events in {info['load_seconds']}s "
        f"({info['events_per_second']:,}/s)",
        flush=True,
    )
    _install_rules(url, info)
    sidecar.write_text(json.dumps(info, indent=2))
    return info


def _has_workspace(url: str, workspace_id: int) -> bool:
    try:
        engine = make_engine(url, pool_size=1)
        with engine.connect() as conn:
            found = conn.execute(
                text("SELECT count(*) FROM workspaces WHERE id = :id"), {"id": workspace_id}
            ).scalar_one()
        engine.dispose()
        return bool(found)
    except Exception:
        return False


def _install_rules(url: str, info: dict[str, Any]) -> None:
    """Scenario 1 runs with the shipped automation rules on."""
    engine = make_engine(url, pool_size=1)
    with unit_of_work(session_factory(engine)) as session:
        ctx = Ctx(
            session=session,
            workspace_id=info["workspace_id"],
            user_id=info["owner_user_id"],
            role=Role.OWNER,
            source="cli",
        )
        install_defaults(ctx)
    engine.dispose()


# --- the server ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``uvicorn`` in its own process (or processes, with ``workers``)."""

    def __init__(
        self,
        url: str,
        *,
        workers: int = 1,
        embedded_worker: bool = True,
        factory: str = "bench.server:create_bench_app",
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "TENURE_DATABASE_URL": url,
            "TENURE_EMBEDDED_WORKER": "true" if embedded_worker else "false",
            "TENURE_POOL_SIZE": "20",
        }
        command = [
            sys.executable, "-m", "uvicorn", "--factory", factory,
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers),
            "--log-level", "warning", "--no-access-log",
        ]  # fmt: skip
        self.process = subprocess.Popen(command, cwd=ROOT, env=env)
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(self.base + "/api/v1/openapi.json", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError("the benchmark server did not start") from None
                time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- measuring -------------------------------------------------------------------------------


def _send(client: httpx.Client, tokens: dict[str, str], scenario: Scenario, i: int) -> Any:
    r = scenario.request(i)
    headers = {"Authorization": f"Bearer {tokens[r.token]}"}
    started = time.perf_counter()
    response = client.request(
        r.method, "/api/v1" + r.path, params=r.params, json=r.json, headers=headers
    )
    elapsed = (time.perf_counter() - started) * 1000
    return elapsed, response


def measure(
    client: httpx.Client, tokens: dict[str, str], scenario: Scenario, iterations: int, warmup: int
) -> dict[str, Any]:
    for i in range(warmup):
        _send(client, tokens, scenario, 10_000 + i)
    times, statements, statuses = [], [], {}
    for i in range(iterations):
        elapsed, response = _send(client, tokens, scenario, i)
        times.append(elapsed)
        statements.append(int(response.headers.get("x-bench-statements", -1)))
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        if response.status_code >= 400 and len(statuses) == 1 and i == 0:
            print(f"  {scenario.name}: {response.status_code} {response.text[:300]}", flush=True)
    return {
        "n": iterations,
        "p50_ms": statistics.median(times),
        "p95_ms": percentile(times, 0.95),
        "p99_ms": percentile(times, 0.99),
        "statements_max": max(statements),
        "statements_p50": statistics.median(statements),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


def measure_floor(
    raw: Any, scenario: Scenario, sqlite: bool, iterations: int, warmup: int
) -> float:
    """Median time of the floor's statements on a warm driver connection (rows fetched)."""
    assert scenario.floor is not None
    times = []
    for i in range(warmup + iterations):
        statements = scenario.floor(i)
        cursor = raw.cursor()
        started = time.perf_counter()
        for sql, params in statements:
            cursor.execute(driver_sql(sql, sqlite), params)
            cursor.fetchall()
        elapsed = (time.perf_counter() - started) * 1000
        cursor.close()
        if i >= warmup:
            times.append(elapsed)
    return statistics.median(times)


def run_scenarios(
    url: str, info: dict[str, Any], iterations: int, warmup: int, *, worker: bool = True
) -> list[dict[str, Any]]:
    engine = make_engine(url, pool_size=1)
    samples = Samples.load(engine, info)
    scenarios = build(samples)
    tokens = {"owner": info["owner_token"], "busy": info["busy_token"]}
    results = []
    with (
        Server(url, embedded_worker=worker) as server,
        httpx.Client(base_url=server.base, timeout=60) as client,
    ):
        for scenario in scenarios:
            n = max(3, iterations // 5) if scenario.group == "analytics" else iterations
            result = {
                "number": scenario.number,
                "name": scenario.name,
                "group": scenario.group,
                "read": scenario.read,
                **measure(client, tokens, scenario, n, warmup),
            }
            results.append(result)
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        for scenario, result in zip(scenarios, results, strict=True):
            if scenario.floor is None:
                continue
            n = max(3, iterations // 5) if scenario.group == "analytics" else iterations
            floor = measure_floor(raw, scenario, sqlite, n, warmup)
            result["floor_ms"] = floor
            result["ratio"] = result["p50_ms"] / floor if floor > 0 else None
        if not sqlite:
            raw.rollback()
    engine.dispose()
    return results


# --- main ------------------------------------------------------------------------------------


def run(args: argparse.Namespace, db: str) -> dict[str, Any]:
    info = ensure_data(db, args.size, args.seed, args.scale, args.postgres_url)
    url = info["url"]
    started = datetime.now(UTC)
    print(f"[{db}] scenarios 1-6 …", flush=True)
    results = run_scenarios(url, info, args.iterations, args.warmup, worker=not args.no_worker)
    transfer: dict[str, Any] = {"rows": 0, "import": SKIPPED, "export": SKIPPED}
    if not args.skip_transfer:
        print(f"[{db}] scenario 7 (import, export) …", flush=True)
        transfer = load.import_export(url, info, rows=args.import_rows, workdir=CACHE)
    mixed = []
    if not args.skip_mixed:
        print(f"[{db}] scenario 8 (mixed load) …", flush=True)
        mixed = load.mixed(
            url,
            info,
            levels=args.levels,
            seconds=args.mixed_seconds,
            server=Server,
            driver=args.load_driver,
        )
    return report.assemble(db, args, info, started, results, transfer, mixed)


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", choices=sorted(generate.SIZES), default="S")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument(
        "--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES)
    )
    parser.add_argument("--iterations", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument(
        "--import-rows", type=int, default=0, help="default: 100k x the size's scale"
    )
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--mixed-seconds", type=float, default=8.0)
    parser.add_argument("--skip-mixed", action="store_true")
    parser.add_argument(
        "--load-driver",
        choices=("auto", "wrk", "threads"),
        default="auto",
        help="scenario 8's load: wrk (C, when installed) or Python threads",
    )
    parser.add_argument(
        "--no-worker",
        action="store_true",
        help="serve without the embedded worker (its first daily jobs over a fresh M workspace "
        "hold SQLite's write lock for minutes)",
    )
    parser.add_argument("--skip-transfer", action="store_true", help="skip scenario 7")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not args.import_rows:
        args.import_rows = max(int(100_000 * generate.SIZES[args.size] * args.scale), 100)
    written = []
    for db in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
        data = run(args, db)
        written += report.write(data, args.out)
        print(report.summary(data), flush=True)
    for path in written:
        print(f"wrote {path}")
    return written


if __name__ == "__main__":
    main()
