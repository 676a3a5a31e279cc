"""The load benchmark's profile breakdown (`bench/gil_profile.py`): which part of a request a sample is charged to."""

from __future__ import annotations

import pytest

from bench.gil_profile import breakdown, report

WORKER = "Thread._bootstrap (threading.py:1002);WorkerThread.run (anyio/_backends/_asyncio.py:1124)"
LOOP = ("process 7365:\"imschart serve\";<module> (imschart:8);Server.run (uvicorn/server.py:67);"
        "Runner.run (asyncio/runners.py:118)")
RAW = "\n".join([
    f"{WORKER};current_actor (app/auth/deps.py:44);resolve (app/auth/tokens.py:51) 3",
    f"{WORKER};_run_sync_endpoint (fastapi/telemetry/_api.py:244);get_patient (app/patients/router.py:47) 5",
    # The handler's own statement is the handler's, even though the session module runs it.
    f"{WORKER};_run_sync_endpoint (fastapi/telemetry/_api.py:244);Session.execute (sqlalchemy/orm/session.py:1) 1",
    f"{WORKER};get_session (app/db.py:190);Session.commit (sqlalchemy/orm/session.py:2) 2",
    "Thread._bootstrap (threading.py:1002);GroupCommit._run (app/kit/audit.py:120);_chain (app/kit/audit.py:9) 4",
    f"{LOOP};run_sync_in_worker_thread (anyio/_backends/_asyncio.py:2470);current_task (asyncio/tasks.py:1) 2",
    f"{LOOP};RequestResponseCycle.run_asgi (uvicorn/protocols/http/httptools_impl.py:409) 6",
    f"{LOOP};serialize_response (fastapi/routing.py:300);TypeAdapter.dump_json (pydantic/type_adapter.py:1) 1",
    "garbage line without a count",
])


def test_each_sample_is_charged_to_one_part_of_the_request():
    parts = breakdown(RAW)
    assert parts == {"authentication (credential lookup)": 3, "route handler and its service": 6,
                     "session: begin, commit, audit hand-off": 2, "audit group commit (its thread)": 4,
                     "thread hand-offs (anyio, both sides)": 2,
                     "HTTP, ASGI middleware and routing (event loop)": 6, "response validation and JSON": 1}


def test_the_report_gives_shares_in_the_order_of_a_request():
    lines = report(breakdown(RAW))
    assert lines[0].split() == ["16.7", "%", "audit", "group", "commit", "(its", "thread)"]
    assert sum(float(line.split()[0]) for line in lines) == pytest.approx(100, abs=0.2)
    assert report(breakdown("")) == ["  (no samples)"]
