"""End-to-end fixtures: the system's Chromium, driven by Playwright, against the real test server.

The browser is Debian's ``/usr/bin/chromium`` (``.ci/run`` installs it when it is missing); no
browser is ever downloaded. Without it, or without the ``playwright`` package, every test here is
skipped with the reason. One Chromium runs per test session; every test gets a fresh browser
context (its own cookies and storage) and fails if the page logged a JavaScript error or a
Content-Security-Policy violation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tenure.domain.access import Role
from tests.web.conftest import PASSWORD, set_password

CHROMIUM = Path("/usr/bin/chromium")
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
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
#: Generous for a loaded CI machine; expect() polls, so a passing check returns at once.
TIMEOUT_MS = 15_000
#: The browser logs these for any 4xx/5xx answer, including the ones a test provokes on purpose.
_EXPECTED_CONSOLE = re.compile(r"^Failed to load resource: the server responded with a status")


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (Debian package `chromium`); .ci/run installs it")
    sync_api = pytest.importorskip(
        "playwright.sync_api",
        reason="the playwright package is not installed (pip install -e .[dev])",
    )
    sync_api.expect.set_options(timeout=TIMEOUT_MS)
    with sync_api.sync_playwright() as pw:
        # launch() gives Chromium a fresh temporary user data dir, deleted when it closes.
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Web:
    """One user's browser tab on the test server, with the errors its pages reported."""

    def __init__(self, chromium: Any, base_url: str, viewport: dict[str, int]) -> None:
        self.base_url = base_url
        self.context = chromium.new_context(
            base_url=base_url, viewport=viewport, locale="en-GB", timezone_id="UTC"
        )
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        self.page.on("console", self._console)
        self.page.on("dialog", self._dialog)

    def _console(self, message: Any) -> None:
        if message.type == "error" and not _EXPECTED_CONSOLE.match(message.text):
            self.errors.append(f"console: {message.text}")

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def login(self, email: str, password: str = PASSWORD) -> None:
        from playwright.sync_api import expect

        self.page.goto("/login")
        self.page.get_by_label("Email").fill(email)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Log in").click()
        expect(self.page).to_have_url(self.base_url + "/")
        expect(self.page.get_by_role("navigation", name="Main")).to_be_visible()

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def open_web(chromium: Any, server: Any, db: Any, tenant: Any) -> Iterator[Any]:
    """Opens a logged-in tab as the tenant's member of a role: ``open_web(Role.VIEWER)``."""
    tabs: list[Web] = []

    def open_tab(role: Role = Role.OWNER, viewport: dict[str, int] | None = None) -> Web:
        email = tenant.member(role).email
        set_password(db, email)
        web = Web(chromium, server.base_url, viewport or DESKTOP)
        tabs.append(web)
        web.login(email)
        return web

    yield open_tab
    errors = [error for web in tabs for error in web.errors]
    for web in tabs:
        web.close()
    assert not errors, "the browser reported errors:\n" + "\n".join(errors)


@pytest.fixture
def web(open_web: Any) -> Web:
    """The tenant's owner, logged in, in a desktop-sized tab."""
    return open_web(Role.OWNER)
