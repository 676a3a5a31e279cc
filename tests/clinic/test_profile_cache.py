"""The clinic profile is cached per process, yet an admin's change is seen by every process sharing the database."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from app.clinic import service
from app.main import create_app
from tests.perf.test_hot_paths import capture

CLINIC = "/api/v1/clinic"


def _zone(app) -> str:
    with app.state.sessionmaker() as session:
        return service.profile(session).time_zone


def test_a_change_made_in_one_process_reaches_another(client, app, staff, settings):
    other = create_app(settings)  # a second server process on the same database
    try:
        with TestClient(other, raise_server_exceptions=False):
            assert _zone(app) == _zone(other) == "America/Toronto"  # both caches filled
            admin = staff("admin")
            etag = client.get(CLINIC, headers=admin.headers).headers["etag"]
            changed = client.patch(CLINIC, json={"time_zone": "America/Vancouver"},
                                   headers={**admin.headers, "If-Match": etag})
            assert changed.status_code == 200, changed.text
            assert _zone(app) == "America/Vancouver"  # the process that made the change: at once
            deadline = time.monotonic() + service.REVALIDATE_SECONDS + 5
            while _zone(other) != "America/Vancouver":
                assert time.monotonic() < deadline, "the other process never saw the change"
                time.sleep(0.1)
    finally:
        other.state.engine.dispose()


def test_a_cached_profile_costs_no_statement(app):
    _zone(app)
    with capture(app.state.engine) as statements:
        _zone(app)
    assert [s for s, _ in statements if "clinic" in s] == []


def test_a_failed_change_keeps_the_cache(client, app, staff):
    admin = staff("admin")
    assert client.patch(CLINIC, json={"time_zone": "Mars/Olympus"},
                        headers={**admin.headers, "If-Match": client.get(CLINIC, headers=admin.headers)
                                 .headers["etag"]}).status_code == 422
    assert _zone(app) == "America/Toronto"
