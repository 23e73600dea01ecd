"""Scenarios 7 and 8: import and export through the CLI, and the mixed closed-loop load."""

from __future__ import annotations

import csv
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.stats import percentile

#: The mixed load measures the app as it is deployed: no statement counter.
PRODUCTION_APP = "tenure.app:create_app"


def _cli(url: str, *args: str) -> tuple[bool, float, str]:
    env = {**os.environ, "TENURE_DATABASE_URL": url}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "tenure.cli", *args], env=env, capture_output=True, text=True,
        timeout=1800, check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    return done.returncode == 0, elapsed, (done.stderr or done.stdout)[-400:]


def import_export(url: str, info: dict[str, Any], *, rows: int, workdir: Path) -> dict[str, Any]:
    """``tenure import contacts FILE.csv`` of ``rows`` new people, then ``tenure export
    workspace``. Either is recorded as not available when the command fails."""
    nonce = random.getrandbits(24)
    path = workdir / f"import-{rows}.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["First Name", "Last Name", "Email", "Phone", "Tags"])
        for i in range(rows):
            writer.writerow(
                [f"Imported{i}", f"Person{nonce}", f"imported.{nonce}.{i}@example.net",
                 f"+4420{8000000 + i:07d}", "imported"]
            )  # fmt: skip
    slug = "bench"
    out: dict[str, Any] = {"rows": rows}
    ok, seconds, tail = _cli(url, "import", "contacts", str(path), "--workspace", slug)
    out["import"] = (
        {"available": True, "seconds": seconds, "rows_per_second": rows / seconds}
        if ok
        else {"available": False, "error": tail.strip()}
    )
    archive = workdir / "export.zip"
    ok, seconds, tail = _cli(url, "export", "workspace", "-o", str(archive), "--workspace", slug)
    out["export"] = (
        {"available": True, "seconds": seconds, "bytes": archive.stat().st_size}
        if ok and archive.exists()
        else {"available": False, "error": tail.strip()}
    )
    path.unlink(missing_ok=True)
    archive.unlink(missing_ok=True)
    return out


class _Peak(threading.Thread):
    """Samples the resident memory of the server's processes (each worker on its own)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.peak: dict[int, int] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                for p in [self.root, *self.root.children(recursive=True)]:
                    rss = p.memory_info().rss
                    self.peak[p.pid] = max(self.peak.get(p.pid, 0), rss)
            except psutil.Error:
                pass
            time.sleep(0.1)


def _loop(
    base: str, token: str, clients: list[int], seconds: float, seed: int
) -> list[tuple[float, bool, int]]:
    """One closed-loop client: 80 % reads, 20 % writes, as fast as answers come."""
    rng = random.Random(seed)
    out = []
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base + "/api/v1", headers=headers, timeout=60) as client:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            cid = rng.choice(clients)
            roll = rng.random()
            started = time.perf_counter()
            if roll < 0.2:
                body = {"channel": "call", "direction": "outbound", "subject": "Mixed load"}
                r = client.post(f"/contacts/{cid}/interactions", json=body)
            elif roll < 0.4:
                r = client.get(f"/contacts/{cid}")
            elif roll < 0.6:
                r = client.get(f"/contacts/{cid}/timeline")
            elif roll < 0.8:
                r = client.get("/contacts", params={"stage": "client", "sort": "-last_touch"})
            else:
                r = client.get("/search/contacts", params={"q": "jam"})
            out.append(((time.perf_counter() - started) * 1000, roll < 0.2, r.status_code))
    return out


# The wrk driver: the same mix as ``_loop``, generated in Lua so the load costs C, not Python.
# wrk runs one thread with ``level`` connections (a closed loop per connection); ``done`` prints
# one JSON line that ``_wrk_level`` reads back.
_WRK_SCRIPT = """
local ids = {%(ids)s}
local auth = "Bearer %(token)s"
local body = '{"channel":"call","direction":"outbound","subject":"Mixed load"}'
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) math.randomseed(%(seed)d); writes = 0; total = 0 end
function request()
  local cid = ids[math.random(#ids)]
  local roll = math.random()
  local h = {["Authorization"] = auth}
  total = total + 1
  if roll < 0.2 then
    writes = writes + 1
    h["Content-Type"] = "application/json"
    return wrk.format("POST", "/api/v1/contacts/" .. cid .. "/interactions", h, body)
  elseif roll < 0.4 then
    return wrk.format("GET", "/api/v1/contacts/" .. cid, h)
  elseif roll < 0.6 then
    return wrk.format("GET", "/api/v1/contacts/" .. cid .. "/timeline", h)
  elseif roll < 0.8 then
    return wrk.format("GET", "/api/v1/contacts?stage=client&sort=-last_touch", h)
  end
  return wrk.format("GET", "/api/v1/search/contacts?q=jam", h)
end
function done(summary, latency, requests)
  local w, t = 0, 0
  for _, th in ipairs(threads) do w = w + th:get("writes"); t = t + th:get("total") end
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests": %%d, "seconds": %%f, "errors": %%d, "p50_ms": %%f, "p95_ms": %%f, '
    .. '"writes": %%d, "generated": %%d}\\n',
    summary.requests, summary.duration / 1e6,
    e.status + e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, w, t))
end
"""


def _wrk_level(
    wrk: str, base: str, token: str, clients: list[int], seconds: float, level: int
) -> dict[str, Any]:
    script = _WRK_SCRIPT % {
        "ids": ",".join(map(str, clients)), "token": token, "seed": 1000 * level,
    }  # fmt: skip
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        done = subprocess.run(
            [wrk, "-t1", f"-c{level}", f"-d{max(1, round(seconds))}s", "--timeout", "60s",
             "-s", f.name, base],
            capture_output=True, text=True, timeout=seconds + 120, check=True,
        )  # fmt: skip
    finally:
        os.unlink(f.name)
    line = next(x for x in done.stdout.splitlines() if x.startswith("BENCHJSON "))
    data = json.loads(line.removeprefix("BENCHJSON "))
    return {
        "requests": data["requests"],
        "errors": data["errors"],
        "throughput_rps": data["requests"] / data["seconds"],
        "p50_ms": data["p50_ms"],
        "p95_ms": data["p95_ms"],
        "write_share": data["writes"] / max(data["generated"], 1),
    }


def _threads_level(
    base: str, token: str, clients: list[int], seconds: float, level: int
) -> dict[str, Any]:
    samples: list[list[tuple[float, bool, int]]] = [[] for _ in range(level)]

    def work(k: int) -> None:
        samples[k] = _loop(base, token, clients, seconds, 1000 * level + k)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(level)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    flat = [s for box in samples for s in box]
    times = [t for t, _, _ in flat]
    return {
        "requests": len(flat),
        "errors": sum(1 for _, _, status in flat if status >= 400),
        "throughput_rps": len(flat) / wall,
        "p50_ms": percentile(times, 0.5),
        "p95_ms": percentile(times, 0.95),
        "write_share": sum(1 for _, w, _ in flat if w) / max(len(flat), 1),
    }


def mixed(
    url: str,
    info: dict[str, Any],
    *,
    levels: list[int],
    seconds: float,
    server: Any,
    driver: str = "auto",
) -> list[dict[str, Any]]:
    """The closed loop against two server processes of the production app (no statement
    counter). ``driver``: ``wrk`` (C; the load's own CPU stays small on a 2-core machine),
    ``threads`` (Python threads with httpx, which take a core of their own), or ``auto`` (wrk
    when installed)."""
    from sqlalchemy import text

    from tenure.db.engine import make_engine

    engine = make_engine(url, pool_size=1)
    with engine.connect() as conn:
        clients = list(
            conn.execute(
                text(
                    "SELECT id FROM contacts WHERE workspace_id = :ws AND stage = 'client' "
                    "ORDER BY id LIMIT 2000"
                ),
                {"ws": info["workspace_id"]},
            ).scalars()
        )
    engine.dispose()
    wrk = shutil.which("wrk") if driver in ("auto", "wrk") else None
    if driver == "wrk" and wrk is None:
        raise RuntimeError("--load-driver wrk: wrk is not installed (apt-get install wrk)")
    results = []
    with server(url, workers=2, embedded_worker=False, factory=PRODUCTION_APP) as srv:
        for level in levels:
            peak = _Peak(srv.process.pid)
            peak.start()
            token = info["owner_token"]
            if wrk:
                row = _wrk_level(wrk, srv.base, token, clients, seconds, level)
            else:
                row = _threads_level(srv.base, token, clients, seconds, level)
            peak.stop.set()
            peak.join()
            workers = {pid: rss for pid, rss in peak.peak.items() if pid != srv.process.pid}
            results.append(
                {
                    "concurrency": level,
                    "driver": "wrk" if wrk else "threads",
                    **row,
                    "peak_rss_mb_per_process": max((workers or peak.peak).values(), default=0)
                    / 2**20,
                }
            )
    return results
