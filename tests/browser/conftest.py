"""The charting pages in a real browser: Debian's Chromium, headless, driven by Playwright against a real
`imschart serve` process on a free port and its own migrated test database (SQLite and PostgreSQL).

Fixtures for page tests:
- `live` (per engine, per run): the server — `live.url(path)`, `live.api` (an httpx client on it), `live.staff(role)`
  (a stored user with a bearer token, as tests/factories.py), `live.app` (for reading the database).
- `page`: a fresh browser context and tab (1280x800 landscape tablet), base URL set to the server; an uncaught
  script error or a Content-Security-Policy refusal on it fails the test.
- `shot(page, "step")`: a full-page screenshot in tests/browser/artifacts/<test>/NN-step.png (ignored by git).
- `signed_in(page, member)`: signs in through the form as a person would and waits for Today.
- `therapist_page` / `reception_page`: a signed-in tab, with the member and a `Visit` seeded for today
  (patient, IMS and e-stim consents, current screen, open episode, appointment today; tests/web/scene.py).

Without /usr/bin/chromium the browser tests are skipped locally (install it: `apt-get install -y chromium`), and
fail when CI is set: .ci/run installs it. Playwright never downloads a browser here.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.main import create_app
from tests.conftest import TEST_SECRET
from tests.databases import TemplateDatabase
from tests.factories import PASSWORD, Member, Staff
from tests.processes import clean_env, free_port, start, stop, wait_ready
from tests.web.scene import Visit, seed_visit

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
LANDSCAPE = {"width": 1280, "height": 800}
PORTRAIT = {"width": 800, "height": 1280}


def _need_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing: apt-get install -y chromium chromium-driver"
    if os.environ.get("CI"):
        pytest.fail(f"The browser tests must run in CI: {reason}")
    pytest.skip(reason)


@dataclass
class LiveServer:
    base_url: str
    app: FastAPI  # the same database and secret as the server, in this process: staff, reading what was stored
    api: httpx.Client
    staff: Staff

    def url(self, path: str) -> str:
        return self.base_url + path


@pytest.fixture(scope="session")
def live(template_db: TemplateDatabase, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    _need_chromium()
    db_url = template_db.copy()
    workdir = tmp_path_factory.mktemp(f"live-{template_db.kind}")
    port, log = free_port(), workdir / "serve.log"
    env = clean_env(IMS_DATABASE_URL=db_url, IMS_SECRET_KEY=TEST_SECRET, IMS_ENV="test", IMS_LOG_LEVEL="warning",
                    IMS_DATA_DIR=str(workdir / "data"))
    script = Path(sys.executable).parent / "imschart"
    server = start([str(script), "serve", "--port", str(port)], cwd=workdir, env=env, log=log)
    base = f"http://127.0.0.1:{port}"
    settings = Settings(env="test", database_url=db_url, secret_key=TEST_SECRET, data_dir=workdir / "data",
                        _env_file=None)  # type: ignore[call-arg]
    app = create_app(settings)
    try:
        wait_ready(server, base, log)
        with httpx.Client(base_url=base, timeout=30) as api:
            yield LiveServer(base, app, api, Staff(app))
    finally:
        stop(server)
        app.state.engine.dispose()
        template_db.drop(db_url)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Any, live: LiveServer) -> Iterator[Any]:
    context = chromium.new_context(base_url=live.base_url, viewport=LANDSCAPE)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    problems: list[str] = []  # script errors and Content-Security-Policy refusals fail the test
    tab.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    tab.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" and "Refused to" in msg.text
           else None)
    yield tab
    context.close()
    assert problems == [], problems


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Any, str], Path]:
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    count = iter(range(1, 1000))

    def take(tab: Any, step: str) -> Path:
        label = re.sub(r"[^\w.-]+", "_", step)
        path = folder / f"{next(count):02d}-{label}.png"
        for attempt in range(3):
            try:
                tab.screenshot(path=str(path), full_page=True)
                return path
            except Exception as exc:  # playwright's Error; seen once on a loaded CI box, right after a navigation
                if "Unable to capture screenshot" not in str(exc) or attempt == 2:
                    raise
                tab.wait_for_load_state("load")
                tab.wait_for_timeout(200)
        return path

    return take


def signed_in(page: Any, member: Member, password: str = PASSWORD) -> Any:
    """Sign in through the form, as a person would; returns the page on Today."""
    page.goto("/app/login")
    page.get_by_label("Email").fill(member.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/app$"))
    return page


@dataclass
class SignedIn:
    page: Any
    member: Member
    visit: Visit
    live: LiveServer


def unique_name(member: Member) -> str:
    """A family name no other test uses (letters only), to find this test's patient on a shared day list."""
    return "Test" + "".join(chr(ord("a") + int(c, 16)) for c in member.id.hex[-6:])


@pytest.fixture
def therapist_page(page: Any, live: LiveServer) -> SignedIn:
    therapist, desk = live.staff("therapist"), live.staff("reception")
    visit = seed_visit(live.api, therapist, desk, family_name=unique_name(therapist))
    return SignedIn(signed_in(page, therapist), therapist, visit, live)


@pytest.fixture
def reception_page(page: Any, live: LiveServer) -> SignedIn:
    therapist, desk = live.staff("therapist"), live.staff("reception")
    visit = seed_visit(live.api, therapist, desk, family_name=unique_name(desk), pregnancy=True)
    return SignedIn(signed_in(page, desk), desk, visit, live)
