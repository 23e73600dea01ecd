"""How fast ``tenure import contacts FILE.csv`` is: rows per second and peak memory.

    .venv/bin/python -m bench.import_speed --rows 100000 --database-url sqlite:///.bench/import.db

Generates a deterministic CSV (the same bytes for the same ``--rows`` and ``--seed``): people
with accented names, ASCII and international emails, phones in E.164 and in national formats
with their country, tags, some organizations, and some rows that repeat an earlier row's email
or phone (duplicates the import skips). Then runs the CLI's own import function on a fresh
database (SQLite: the file is recreated; PostgreSQL: the ``public`` schema of the given
database is dropped and migrated again, so never point it at a database you want to keep).

``--profile FILE`` writes a cProfile of the import (``python -m pstats FILE`` to read it), or
with ``--pyinstrument`` an HTML profile when pyinstrument is installed. ``--split`` adds where
the CPU went without a profiler's overhead: in the driver's statements (SQLAlchemy's cursor
events: on SQLite that is SQLite's own work; PostgreSQL's COPY is not a cursor execute, and its
server's time is not this process's), in commits, and in the garbage collector.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

GIVEN = (
    "José", "Zoë", "Łukasz", "Renée", "Søren", "Ana", "Siobhán", "Chloé", "Jürgen", "Mary",
    "John", "Aoife", "Björn", "François", "Íñigo", "Mohammed", "Priya", "Wei", "Nnamdi", "Olga",
    "Hélène", "Ümit", "Dóra", "Zoltán", "Amélie", "Kai", "Ingrid", "Ola", "Tomás", "Grace",
)  # fmt: skip
FAMILY = (
    "Müller", "O'Brien", "Ørsted", "García", "Nguyễn", "Smith", "Kowalski", "Dubois", "Rossi",
    "Ó Briain", "Fernández", "Jensen", "Papadopoulos", "Okafor", "Schäfer", "Lefèvre", "Novák",
    "Jean-Baptiste", "MacLeod", "Y\u0131lmaz", "Łęcki", "Hernández", "Brown", "Andersson", "Costa",
)  # fmt: skip
DOMAINS = ("example.com", "acme.example", "mail.example", "gmail.com", "firma.example")
ORGANIZATIONS = [f"{w} {s}" for w in ("Acme", "Globex", "Initech", "Umbrella", "Hooli",
    "Vandelay", "Stark", "Wayne", "Wonka", "Tyrell", "Nakatomi", "Soylent") for s in (
    "Ltd", "GmbH", "SARL", "Inc", "Dental", "Partners", "Consulting", "Studio")]  # fmt: skip
TAGS = ("vip", "newsletter", "prospect", "referral", "Partner", "event 2024", "ÉQUIPE")
HEADERS = ["given_name", "family_name", "email", "phone", "country", "organization", "tags"]


def _ascii(text_: str) -> str:
    import unicodedata

    folded = unicodedata.normalize("NFKD", text_.replace("ø", "o").replace("Ø", "O"))
    folded = folded.replace("ł", "l").replace("Ł", "L").replace("\u0131", "i")
    return "".join(c for c in folded if c.isascii() and (c.isalnum() or c in ".-")).lower()


def _phone(rng: random.Random, i: int) -> tuple[str, str]:
    """(number, country): E.164 half the time, else national digits with the country."""
    n = i % 10_000_000
    choice = rng.randrange(6)
    if choice == 0:
        return f"+44 20 {n // 10_000:04d} {n % 10_000:04d}", ""
    if choice == 1:
        return f"+1 212 {n // 10_000 % 1000:03d} {n % 10_000:04d}", ""
    if choice == 2:
        return f"020 {n // 10_000:04d} {n % 10_000:04d}", "United Kingdom"
    if choice == 3:
        return f"(212) {n // 10_000 % 1000:03d}-{n % 10_000:04d}", "USA"
    if choice == 4:
        return f"030 {n:08d}", "Germany"
    return f"+49 30 {n:08d}", "DE"


def generate(path: Path, rows: int, seed: int) -> None:
    """The CSV: ``rows`` records after the header; about 2% repeat an earlier email or phone."""
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    earlier: list[tuple[str, str, str]] = []
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(HEADERS)
        for i in range(rows):
            given, family = rng.choice(GIVEN), rng.choice(FAMILY)
            local = f"{_ascii(given)}.{_ascii(family).replace('-', '')}{i}"
            if rng.random() < 0.01:
                email = f"{given.lower()}{i}@bücher.example"  # internationalized: the slow path
            else:
                email = f"{local}@{rng.choice(DOMAINS)}"
            phone, country = _phone(rng, i)
            if earlier and rng.random() < 0.02:
                # The same person again (same email, or same number): a duplicate.
                email, phone, country = rng.choice(earlier)
                if rng.random() < 0.5:
                    email = ""
            elif len(earlier) < 5000:
                earlier.append((email, phone, country))
            organization = rng.choice(ORGANIZATIONS) if rng.random() < 0.2 else ""
            tags = ", ".join(rng.sample(TAGS, rng.randrange(3)))
            writer.writerow([given, family, email, phone, country, organization, tags])


def reset(url: str) -> None:
    """An empty database at the newest migration, with one workspace ``bench-import``."""
    from tenure.db.engine import make_engine
    from tenure.db.migrate import upgrade
    from tenure.db.uow import session_factory, unit_of_work
    from tenure.services.access import create_workspace

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        assert parsed.database, "a SQLite file is needed"
        for suffix in ("", "-wal", "-shm"):
            Path(parsed.database + suffix).unlink(missing_ok=True)
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    if parsed.get_backend_name() == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    with unit_of_work(session_factory(engine)) as session:
        create_workspace(
            session, name="Bench import", slug="bench-import", owner_email="bench@example.com"
        )
    engine.dispose()


def run_import(url: str, path: Path, batch_size: int) -> dict[str, Any]:
    """The import exactly as ``tenure import contacts`` runs it (its own function)."""
    os.environ["TENURE_DATABASE_URL"] = url
    from tenure.cli import import_csv
    from tenure.config import get_settings
    from tenure.services.imports import jobs

    get_settings.cache_clear()
    request = jobs.ImportRequest(kind="contacts", batch_size=batch_size)
    return import_csv._run("contacts", path, request, "bench-import", quiet=True)


class CpuSplit:
    """CPU seconds of this process spent in statements, commits and garbage collection,
    measured with hooks (SQLAlchemy events, ``gc.callbacks``), not a profiler."""

    def __init__(self) -> None:
        self.seconds = {"statements": 0.0, "commits": 0.0, "gc": 0.0}
        self._started: dict[str, float] = {}

    def install(self) -> None:
        import gc

        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        event.listen(Engine, "before_cursor_execute", lambda *_: self._start("statements"))
        event.listen(Engine, "after_cursor_execute", lambda *_: self._stop("statements"))
        gc.callbacks.append(self._gc)
        self._timed_commit()

    def _timed_commit(self) -> None:
        from sqlalchemy.engine import default

        commit = default.DefaultDialect.do_commit

        def timed(dialect: Any, dbapi_connection: Any) -> None:
            self._start("commits")
            try:
                commit(dialect, dbapi_connection)
            finally:
                self._stop("commits")

        default.DefaultDialect.do_commit = timed  # type: ignore[method-assign]

    def _start(self, name: str) -> None:
        self._started[name] = time.process_time()

    def _stop(self, name: str) -> None:
        started = self._started.pop(name, None)
        if started is not None:
            self.seconds[name] += time.process_time() - started

    def _gc(self, phase: str, _info: dict[str, Any]) -> None:
        (self._start if phase == "start" else self._stop)("gc")


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _profiled(args: argparse.Namespace, path: Path) -> dict[str, Any]:
    if args.profile is None:
        return run_import(args.database_url, path, args.batch_size)
    if args.pyinstrument:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        profiler.start()
        try:
            return run_import(args.database_url, path, args.batch_size)
        finally:
            profiler.stop()
            text_ = (
                profiler.output_text(color=False)
                if args.profile.endswith(".txt")
                else profiler.output_html()
            )
            Path(args.profile).write_text(text_, encoding="utf-8")
    import cProfile

    profile = cProfile.Profile()
    try:
        return profile.runcall(run_import, args.database_url, path, args.batch_size)
    finally:
        profile.dump_stats(args.profile)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--database-url", default="sqlite:///.bench/import.db")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the CLI's")
    parser.add_argument("--csv", default=None, help="where the CSV goes (default: .bench/)")
    parser.add_argument("--profile", default=None, help="write a profile of the import here")
    parser.add_argument("--pyinstrument", action="store_true", help="HTML profile (pyinstrument)")
    parser.add_argument("--split", action="store_true", help="CPU in statements, commits, GC")
    args = parser.parse_args(argv)
    if args.batch_size is None:
        from tenure.services.imports.engine import DEFAULT_BATCH

        args.batch_size = DEFAULT_BATCH
    path = Path(args.csv or f".bench/import-{args.rows}-{args.seed}.csv")
    if not path.exists():
        generate(path, args.rows, args.seed)
    reset(args.database_url)
    from tenure.cli import import_csv  # noqa: F401 - loaded before the clock starts

    split = CpuSplit() if args.split else None
    if split is not None:
        split.install()
    before = _peak_rss_mb()
    started, cpu_started = time.perf_counter(), time.process_time()
    result = _profiled(args, path)
    seconds = time.perf_counter() - started
    # The machine may be shared: CPU time says what the import itself costs.
    cpu = time.process_time() - cpu_started
    out = {
        "database": make_url(args.database_url).get_backend_name(),
        "rows": result["rows_done"],
        "batch_size": args.batch_size,
        "seconds": round(seconds, 2),
        "rows_per_second": round(result["rows_done"] / seconds),
        "cpu_seconds": round(cpu, 2),
        "rows_per_cpu_second": round(result["rows_done"] / cpu),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "rss_before_import_mb": round(before, 1),
        "status": result["status"],
        "counts": result["counts"],
    }
    if split is not None:
        out["cpu_split"] = {k: round(v, 2) for k, v in split.seconds.items()}
    for key, value in out.items():
        print(f"{key:>22}: {value}")
    return out


if __name__ == "__main__":
    main()
