"""Probes. `/readyz` answers within a second whatever the database does (stopped, frozen, slow)."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.jobs import heartbeats
from app.kit.db_faults import RETRY_AFTER_SECONDS
from app.kit.errors import problem_response

router = APIRouter(tags=["health"])
DEADLINE_SECONDS = 0.8


@router.get("/healthz", operation_id="healthz", summary="Process is alive")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


Reading = tuple[str | None, dict[str, Any] | None]  # schema revision, worker status


class ReadinessCheck:
    """At most one database check in flight: a frozen database does not pile up probe threads."""

    def __init__(self, engine: Engine, head: str | None) -> None:
        self.engine, self.head = engine, head
        self._lock = threading.Lock()
        self._running: Future[Reading] | None = None

    def start(self) -> Future[Reading]:
        with self._lock:
            if self._running is None or self._running.done():
                future: Future[Reading] = Future()
                threading.Thread(target=self._run, args=(future,), name="imschart-readyz", daemon=True).start()
                self._running = future
            return self._running

    def _run(self, future: Future[Reading]) -> None:
        try:
            revision = _schema_revision(self.engine)
            worker = None
            if revision == self.head:  # the heartbeat table exists: say whether background work is being done
                with Session(self.engine) as session:
                    worker = heartbeats.status(session).as_json()
        except BaseException as exc:  # handed to the waiting request
            future.set_exception(exc)
        else:
            future.set_result((revision, worker))


def _schema_revision(engine: Engine) -> str | None:
    """alembic_version read directly: Alembic's MigrationContext logs two INFO lines per call."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _not_ready(detail: str) -> JSONResponse:
    return problem_response(503, "not-ready", "Not ready", detail, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


@router.get("/readyz", operation_id="readyz", summary="Database reachable and migrated to head",
            description="200 when this API process can serve. `worker` says whether a background worker (exports, "
            "FHIR bulk exports, webhook deliveries) has been seen lately; without one that work stays queued, but "
            "the API itself is still ready, so `worker.status` never turns this probe to 503.",
            responses={503: {"description": "Not ready"}})
async def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    check: ReadinessCheck | None = getattr(state, "readiness_check", None)
    if check is None:
        check = state.readiness_check = ReadinessCheck(state.engine, state.head_revision)
    try:
        # shield: a probe that gives up must not cancel the shared check the next probe will wait for
        waiting = asyncio.wrap_future(check.start())
        waiting.add_done_callback(lambda f: f.cancelled() or f.exception())  # retrieved even if we gave up
        current, worker = await asyncio.wait_for(asyncio.shield(waiting), DEADLINE_SECONDS)
    except TimeoutError:
        return _not_ready(f"The database did not answer within {DEADLINE_SECONDS} seconds")
    except SQLAlchemyError:
        return _not_ready("The database is not reachable")
    if current != state.head_revision:
        detail = f"Database schema is at {current}, expected {state.head_revision}; run imschart migrate"
        return _not_ready(detail)
    return JSONResponse({"status": "ready", "database": "ok", "schema_revision": current, "worker": worker})
