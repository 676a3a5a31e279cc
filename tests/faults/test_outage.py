"""A database outage, seen by the API: fast 503s with Retry-After, one log line per state change, and
recovery without a restart.

PostgreSQL runs behind a `FaultProxy` that this test stops and freezes (the machine's shared cluster is
never touched); the fault suite's `test_private_cluster.py` does the same to a real private server.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from app.config import Settings
from app.main import create_app
from tests.conftest import TEST_SECRET
from tests.factories import Member, Staff, make_patient
from tests.faults.proxy import FaultProxy

PATIENTS = "/api/v1/patients"
# ping 1 s, connect 3 s: the first request of an outage may wait for both; later ones must not wait for a
# connect at all (the breaker answers at once; the bound leaves room for a loaded CI machine)
FIRST_BOUND, LATER_BOUND = 6.0, 2.0


@pytest.fixture
def proxy(engine_kind: str, db_url: str) -> Iterator[FaultProxy]:
    if engine_kind != "postgresql":
        pytest.skip("a network outage is a PostgreSQL matter (SQLite's 'database is locked' is covered below)")
    url = make_url(db_url)
    fault = FaultProxy(url.host or "127.0.0.1", url.port or 5432)
    yield fault
    fault.close()


@pytest.fixture
def outage_app(proxy: FaultProxy, db_url: str, tmp_path: Path) -> Iterator[FastAPI]:
    url = make_url(db_url).set(host="127.0.0.1", port=proxy.port)
    settings = Settings(env="test", database_url=url.render_as_string(hide_password=False), secret_key=TEST_SECRET,
                        data_dir=tmp_path / "data", db_connect_timeout=3, db_pool_timeout=1,
                        db_statement_timeout=1, _env_file=None)  # type: ignore[call-arg]
    application = create_app(settings)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def api(outage_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(outage_app, raise_server_exceptions=False) as test_client:
        yield test_client


def timed(call, api: TestClient | None = None):  # type: ignore[no-untyped-def]
    """The call's answer and its time, less what a request that needs no database (/healthz) takes right now.

    The bounds below are about not waiting for a database timeout (ping 1 s, connect 3 s), not about how busy
    the machine is: on a 2-core machine shared with other test workers, a request can queue for the CPU for a
    second without touching the database. The /healthz request right after measures that queueing.
    """
    started = time.monotonic()
    response = call()
    took = time.monotonic() - started
    if api is not None:
        idle = time.monotonic()
        assert api.get("/healthz").status_code == 200
        took = max(0.0, took - (time.monotonic() - idle))
    return response, took


def assert_unavailable(response, elapsed: float, bound: float, *, fhir: bool = False) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) > 0
    assert elapsed < bound, f"answered after {elapsed:.1f}s"
    assert response.headers.get("x-request-id")
    if fhir:
        assert response.headers["content-type"].startswith("application/fhir+json")
        assert response.json()["resourceType"] == "OperationOutcome"
    else:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["request_id"] == response.headers["x-request-id"]


def wait_until_served(api: TestClient, member: Member, seconds: float = 15) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if api.get(PATIENTS, headers=member.headers).status_code == 200:
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"not serving again {seconds}s after the database came back")


def ready_again(api: TestClient, seconds: float = 10) -> bool:
    """/readyz answers 200 again. Polled, not asked once: its check opens a fresh connection under a 1 s
    deadline, which a loaded CI machine can miss right after recovery without anything being wrong."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if api.get("/readyz").status_code == 200:
            return True
        time.sleep(0.2)
    return False


def test_a_stopped_database_gives_fast_503s_one_log_line_and_recovers(api, outage_app, proxy, caplog):
    member = Staff(outage_app)("therapist")
    patient = make_patient(api, member)
    proxy.stop()
    with caplog.at_level(logging.INFO):
        first, took = timed(lambda: api.get(PATIENTS, headers=member.headers), api)
        assert_unavailable(first, took, FIRST_BOUND)
        for _ in range(5):
            later, took = timed(lambda: api.get(f"{PATIENTS}/{patient['id']}", headers=member.headers), api)
            assert_unavailable(later, took, LATER_BOUND)
        write, took = timed(lambda: api.post(PATIENTS, json={"given_name": "X"}, headers={
            **member.headers, "Idempotency-Key": "during-outage"}), api)
        assert_unavailable(write, took, LATER_BOUND)  # the key claim itself needs the database
        fhir, took = timed(lambda: api.get(f"/fhir/Patient/{patient['id']}", headers=member.headers), api)
        assert_unavailable(fhir, took, LATER_BOUND, fhir=True)
        ready, took = timed(lambda: api.get("/readyz"), api)
        assert ready.status_code == 503 and took < 1.0
        assert api.get("/healthz").status_code == 200
        proxy.start()
        wait_until_served(api, member)
    lines = [r.getMessage() for r in caplog.records if r.name.startswith(("imschart", "sqlalchemy", "uvicorn"))]
    assert sum("database unavailable" in line for line in lines) == 1, lines
    assert sum("database reachable again" in line for line in lines) == 1, lines
    assert not any(r.exc_info or "Traceback" in r.getMessage() for r in caplog.records), lines
    assert ready_again(api)


def test_a_frozen_database_gives_bounded_503s_and_readyz_within_a_second(api, outage_app, proxy):
    member = Staff(outage_app)("therapist")
    make_patient(api, member)
    proxy.freeze()
    try:
        ready, took = timed(lambda: api.get("/readyz"), api)
        assert ready.status_code == 503 and took < 1.0, took
        first, took = timed(lambda: api.get(PATIENTS, headers=member.headers), api)
        assert_unavailable(first, took, FIRST_BOUND + 2)  # a pooled connection's ping, then a connect attempt
        for _ in range(3):
            later, took = timed(lambda: api.get(PATIENTS, headers=member.headers), api)
            assert_unavailable(later, took, LATER_BOUND)
        ready, took = timed(lambda: api.get("/readyz"), api)
        assert ready.status_code == 503 and took < 1.0, took
    finally:
        proxy.stop()  # a frozen server that resumes keeps its old sockets: cut them, then serve again
        proxy.thaw()
        proxy.start()
    wait_until_served(api, member)
    assert ready_again(api)


def test_a_sqlite_write_lock_held_too_long_is_a_503_not_a_500(engine_kind, db_url, tmp_path):
    if engine_kind != "sqlite":
        pytest.skip("SQLite's single writer")
    import sqlite3

    settings = Settings(env="test", database_url=db_url, secret_key=TEST_SECRET, data_dir=tmp_path / "data",
                        db_statement_timeout=0.5, _env_file=None)  # type: ignore[call-arg]
    application = create_app(settings)
    member = Staff(application)("therapist")
    holder = sqlite3.connect(make_url(db_url).database or "", isolation_level=None)
    try:
        with TestClient(application, raise_server_exceptions=False) as api:
            holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
            response, took = timed(lambda: api.get(PATIENTS, headers=member.headers), api)
            assert_unavailable(response, took, 3.0)
            holder.execute("ROLLBACK")
            assert api.get(PATIENTS, headers=member.headers).status_code == 200
    finally:
        holder.close()
        application.state.engine.dispose()
