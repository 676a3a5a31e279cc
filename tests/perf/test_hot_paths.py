"""Hot endpoints stay cheap: a capped number of SQL statements per request, and their queries use an index.

The caps are today's counts (begin/commit included, as the driver sees them): a change that adds a query to
every GET patient or chart has to raise the cap here on purpose. The EXPLAIN checks take the exact
statements a request ran (captured from the engine) and ask each engine for its plan: SQLite's
`EXPLAIN QUERY PLAN` must not show a full `SCAN` of the table; PostgreSQL, with sequential scans disabled
(on a tiny test table the planner would rightly prefer one), must find an index path.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from tests.treatments.helpers import ready_patient, record_session

# Statements per request on the request's pool, as measured on PostgreSQL: the token, the record(s), then the
# audit chain head (SELECT FOR UPDATE + UPDATE) and the audit INSERT. SQLite runs BEGIN, the token and the
# record(s) only: a read's audit rows go to the group commit's own connection (tests/perf/test_group_commit.py).
CAPS = {"GET patient": 5, "GET chart": 13, "search patients": 5, "GET treatment": 8}


@contextmanager
def capture(engine: Any) -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", seen)


@pytest.fixture
def visit(client, staff):
    therapist = staff("therapist")
    patient, episode = ready_patient(client, therapist)
    treatment = record_session(client, therapist, patient["id"], episode["id"]).json()
    return therapist, patient, treatment


def _urls(patient: dict[str, Any], treatment: dict[str, Any]) -> dict[str, str]:
    return {"GET patient": f"/api/v1/patients/{patient['id']}",
            "GET chart": f"/api/v1/patients/{patient['id']}/chart",
            "search patients": f"/api/v1/patients?q={patient['family_name'][:4]}",
            "GET treatment": f"/api/v1/treatments/{treatment['id']}"}


def test_statements_per_hot_request_are_capped(client, app, visit):
    therapist, patient, treatment = visit
    counts = {}
    for name, url in _urls(patient, treatment).items():
        client.get(url, headers=therapist.headers)  # warm: per-process caches filled
        with capture(app.state.engine) as statements:
            assert client.get(url, headers=therapist.headers).status_code == 200
        counts[name] = len(statements)
    over = {name: (n, CAPS[name]) for name, n in counts.items() if n > CAPS[name]}
    assert not over, f"statements per request over the cap (count, cap): {over}; all: {counts}"


def _plan(engine: Any, statement: str, parameters: Any) -> list[str]:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
            lines = [str(row[-1]) for row in rows]
        else:
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            lines = [str(row[0]) for row in conn.exec_driver_sql(f"EXPLAIN {statement}", parameters).all()]
        conn.rollback()
    return lines


def _full_scans(engine: Any, lines: list[str], table: str) -> list[str]:
    if engine.dialect.name == "sqlite":  # "SCAN t [USING INDEX i]" walks every row; "SEARCH t USING INDEX" does not
        return [line for line in lines if line.strip() == f"SCAN {table}" or line.startswith(f"SCAN {table} ")]
    return [line for line in lines if "Seq Scan" in line and f" {table}" in line]


def test_hot_queries_use_an_index(client, app, staff, visit):
    therapist, patient, _ = visit
    auditor = staff("auditor")
    key = client.post("/api/v1/api-clients", headers=staff("admin").headers, json={
        "name": "Sync", "scopes": ["patients:read", "clinical:read"]}).json()["key"]
    hot = [  # (what, request, table, a fragment that picks the statement out of the request's statements)
        ("patient search", (f"/api/v1/patients?q={patient['family_name'][:4]}", therapist.headers), "patients",
         "family_name_norm >="),
        ("changes feed page", ("/api/v1/changes?after=3&limit=50", {"Authorization": f"Bearer {key}"}),
         "change_events", "change_events.seq >"),
        ("audit by patient", (f"/api/v1/audit-events?patient_id={patient['id']}", auditor.headers), "audit_events",
         "audit_events.patient_id ="),
    ]
    engine = app.state.engine
    for what, (url, headers), table, fragment in hot:
        with capture(engine) as statements:
            assert client.get(url, headers=headers).status_code == 200, url
        picked = [(s, p) for s, p in statements if fragment in s and f"FROM {table}" in s]
        assert len(picked) == 1, f"{what}: expected one statement with {fragment!r}, got {statements}"
        lines = _plan(engine, *picked[0])
        assert any("INDEX" in line.upper() for line in lines), f"{what}: no index in the plan {lines}"
        assert not _full_scans(engine, lines, table), f"{what}: full scan of {table}: {lines}"
