"""The test apps share each module-level route's built handler and their engines' compiled SQL
(tests/conftest.py); what that relies on."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.db import make_engine
from app.main import create_app
from tests.conftest import SHARED_ROUTE_BUILDS
from tests.factories import Staff

ROOT = Path(__file__).resolve().parent.parent


def test_nothing_overrides_dependencies():
    """A shared handler looks up `dependency_overrides` on the first app that built it, so an override set on a
    later test's app would be silently ignored. Nothing uses overrides today; this keeps it so."""
    allowed = {ROOT / "tests" / "conftest.py", Path(__file__).resolve()}
    users = [str(path.relative_to(ROOT)) for folder in ("app", "tests") for path in (ROOT / folder).rglob("*.py")
             if path not in allowed and "dependency_overrides" in path.read_text(encoding="utf-8")]
    assert not users, f"dependency_overrides is used in {users}: drop the route sharing in tests/conftest.py first"


def test_a_second_app_serves_its_routes_without_building_them_again(app: FastAPI, client: TestClient,
                                                                     staff: Staff):
    member = staff("therapist")
    paths = ["/api/v1/patients", "/api/v1/reference/muscles", "/healthz"]
    for path in paths:
        assert client.get(path, headers=member.headers).status_code == 200, path
    builds = SHARED_ROUTE_BUILDS[0]
    second = create_app(app.state.settings)
    try:
        with TestClient(second) as other:
            for path in paths:
                assert other.get(path, headers=member.headers).status_code == 200, path
    finally:
        second.state.engine.dispose()
    assert builds > 0, "the shared builder was never called: FastAPI no longer builds routes through it"
    assert SHARED_ROUTE_BUILDS[0] == builds


def test_engines_made_alike_share_compiled_sql_once_one_has_connected(app: FastAPI, client: TestClient,
                                                                     staff: Staff):
    member = staff("therapist")
    assert client.get("/api/v1/patients", headers=member.headers).status_code == 200
    url = app.state.settings.sqlalchemy_url
    settings = app.state.settings
    twin = make_engine(url, connect_timeout=settings.db_connect_timeout, pool_timeout=settings.db_pool_timeout,
                       statement_timeout=settings.db_statement_timeout)
    other = make_engine(url, connect_timeout=settings.db_connect_timeout, pool_timeout=settings.db_pool_timeout,
                        statement_timeout=settings.db_statement_timeout, pool_size=1, max_overflow=0)
    try:
        assert twin.dialect is app.state.engine.dialect
        assert twin._compiled_cache is app.state.engine._compiled_cache
        assert len(twin._compiled_cache) > 0  # what the first app compiled
        assert other.dialect is not app.state.engine.dialect  # made differently: its own
        with twin.connect() as conn:  # and it works: the shared dialect runs on the new engine's connection
            assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        twin.dispose()
        other.dispose()
