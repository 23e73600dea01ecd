"""`make screenshots`: PNGs of the web app's main pages, on demo data, at desktop and phone widths.

Builds a throwaway SQLite database (``tenure db upgrade``; ``tenure demo``), serves it with
``tenure serve`` on a free loopback port with the embedded worker off, logs in as the demo owner
in the system's Chromium (headless, through Playwright; no browser is ever downloaded), writes
``<page>-desktop.png`` and ``<page>-phone.png`` for every page that exists, then stops the server
and deletes the database. Pages that are not built yet are skipped with a note.

    python scripts/screenshots.py [--out screenshots] [--base-url http://127.0.0.1:8000]

``--base-url`` photographs an already running server that holds the demo workspace instead
(quicker while adjusting the templates); ``--client-id`` then names the client page to take.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OWNER_EMAIL = "owner@demo.tenure.example"
PASSWORD = "tenure-demo"  # noqa: S105 - the published demo login
VIEWPORTS = {"desktop": (1440, 900), "phone": (390, 844)}
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Shot:
    name: str
    title: str
    path: str


def say(line: str, *, err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(line + "\n")
    stream.flush()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tenure(*args: str, env: dict[str, str]) -> None:
    command = [str(BIN / "tenure"), *args]  # our own console script, fixed arguments
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)  # noqa: S603


def _wait_until_up(base_url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"tenure serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(base_url + "/login", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise SystemExit(f"tenure serve did not answer on {base_url} within {seconds:.0f} s")


@dataclass(frozen=True)
class DemoIds:
    """Records of the demo whose pages are photographed."""

    #: The longest-standing current client: the richest client page to look at.
    client: int | None = None
    #: The onboarding playbook (its page lists the clients in it).
    playbook: int | None = None


def _demo_ids(database_url: str) -> DemoIds:
    from sqlalchemy import select

    from tenure.db.engine import make_engine
    from tenure.db.models import Contact, Playbook
    from tenure.db.uow import session_factory

    engine = make_engine(database_url, pool_size=1)
    try:
        with session_factory(engine)() as session:
            client = session.scalar(
                select(Contact.id)
                .where(Contact.stage == "client", Contact.client_since.is_not(None))
                .order_by(Contact.client_since, Contact.id)
                .limit(1)
            )
            playbook = session.scalar(select(Playbook.id).order_by(Playbook.id).limit(1))
            return DemoIds(client, playbook)
    finally:
        engine.dispose()


@contextmanager
def demo_server() -> Iterator[tuple[str, DemoIds]]:
    """A fresh demo database served on a free port: yields (base URL, the ids to visit)."""
    workdir = Path(tempfile.mkdtemp(prefix="tenure-screenshots-"))
    url = f"sqlite:///{workdir / 'demo.db'}"
    env = {**os.environ, "TENURE_DATABASE_URL": url, "TENURE_EMBEDDED_WORKER": "false"}
    port = _free_port()
    process: subprocess.Popen[bytes] | None = None
    try:
        say("creating the demo database (about a minute)…")
        _tenure("db", "upgrade", env=env)
        _tenure("demo", env=env)
        ids = _demo_ids(url)
        process = subprocess.Popen(  # noqa: S603 - our own console script, fixed arguments
            [str(BIN / "tenure"), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base_url = f"http://127.0.0.1:{port}"
        _wait_until_up(base_url, process)
        yield base_url, ids
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def shots(ids: DemoIds) -> list[Shot]:
    pages = [
        Shot("today", "Today", "/"),
        Shot("clients", "Clients list", "/contacts?stage=client"),
    ]
    if ids.client is not None:
        pages.append(Shot("client", "A long-time client", f"/contacts/{ids.client}"))
    pages += [
        Shot("schedule", "Schedule", "/schedule"),
        Shot("schedule-month", "Schedule, month", "/schedule?view=month"),
        Shot("cases", "Cases", "/cases"),
        Shot("automation", "Automation", "/automation"),
    ]
    if ids.playbook is not None:
        path = f"/automation/playbooks/{ids.playbook}"
        pages.append(Shot("playbook", "A playbook and its clients", path))
    pages += [
        Shot("playbook-new", "The playbook editor", "/automation/playbooks/new"),
        Shot("analytics", "Analytics", "/analytics"),
        Shot("settings", "Settings", "/settings"),
        Shot("api-docs", "API docs", "/api/docs"),
    ]
    return pages


def photograph(base_url: str, ids: DemoIds, out: Path) -> tuple[list[Path], list[str]]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    for shot in shots(ids):  # a page that is gone must not leave an old picture behind
        for label in VIEWPORTS:
            (out / f"{shot.name}-{label}.png").unlink(missing_ok=True)
    written: list[Path] = []
    skipped: list[str] = []
    with sync_playwright() as pw:
        # launch() starts Chromium on a fresh temporary profile (user data dir) every time.
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for label, (width, height) in VIEWPORTS.items():
                context = browser.new_context(
                    viewport={"width": width, "height": height},
                    device_scale_factor=1,
                    is_mobile=label == "phone",
                    has_touch=label == "phone",
                    timezone_id="Europe/London",
                    locale="en-GB",
                )
                page = context.new_page()
                page.goto(base_url + "/login")
                page.fill("#email", OWNER_EMAIL)
                page.fill("#password", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url(base_url + "/")
                for shot in shots(ids):
                    response = page.goto(base_url + shot.path)
                    status = response.status if response else 0
                    if status == 404:
                        if label == "desktop":
                            skipped.append(f"{shot.title} ({shot.path}): not built yet (404)")
                        continue
                    if status >= 400:
                        skipped.append(f"{shot.title} ({shot.path}) at {label}: HTTP {status}")
                        continue
                    page.wait_for_load_state("networkidle")
                    target = out / f"{shot.name}-{label}.png"
                    page.screenshot(path=str(target), full_page=True)
                    written.append(target)
                context.close()
        finally:
            browser.close()
    return written, skipped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    parser.add_argument("--base-url", help="photograph this running server (with the demo)")
    parser.add_argument("--client-id", type=int, help="with --base-url: the client page to take")
    parser.add_argument("--playbook-id", type=int, help="with --base-url: the playbook page")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        say(f"{CHROMIUM} is missing: install Debian's chromium package", err=True)
        return 2
    started = time.perf_counter()
    if args.base_url:
        ids = DemoIds(args.client_id, args.playbook_id)
        written, skipped = photograph(args.base_url.rstrip("/"), ids, args.out)
    else:
        with demo_server() as (base_url, ids):
            written, skipped = photograph(base_url, ids, args.out)
    for path in written:
        say(f"wrote {path}")
    for note in skipped:
        say(f"skipped {note}")
    say(f"{len(written)} screenshots in {args.out}/ ({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
