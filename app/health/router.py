from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from app import migrate
from app.kit import workers
from app.kit.errors import problem_response

router = APIRouter(tags=["health"])


@router.get("/healthz", operation_id="healthz", summary="Process is alive")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", operation_id="readyz", summary="Database reachable and migrated to head",
            description="200 when this API process can serve. `worker` says whether a background worker (exports, "
            "FHIR bulk exports, webhook deliveries) has been seen lately; without one that work stays queued, but "
            "the API itself is still ready, so `worker.status` never turns this probe to 503.",
            responses={503: {"description": "Not ready"}})
def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    try:
        current = migrate.current_revision(state.engine)
        with state.sessionmaker() as session:
            worker = workers.status(session).as_json() if current == state.head_revision else None
    except SQLAlchemyError:
        return problem_response(503, "not-ready", "Not ready", "The database is not reachable")
    if current != state.head_revision:
        detail = f"Database schema is at {current}, expected {state.head_revision}; run imschart migrate"
        return problem_response(503, "not-ready", "Not ready", detail)
    return JSONResponse({"status": "ready", "database": "ok", "schema_revision": current, "worker": worker})
