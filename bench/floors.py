"""The two floors the load benchmark measures beside the real server, in the same run on the same box.

* `bare`: a bare Starlette app answering every GET with the very bytes of a real `GET patient` response
  (read from the file named by BENCH_BODY): the cost of the ASGI server and framework alone.
* `naive`: a naive FastAPI + SQLAlchemy app that reads the same patient row from the same database
  (BENCH_DATABASE_URL) with a session per request and returns it through the same Pydantic schema, without
  authentication, authorisation or audit: what "just an ORM read" costs here.

Served by `python -m uvicorn bench.floors:bare --factory` (or `naive`) from the repository root.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.models.patient import Patient
from app.patients.schemas import PatientOut


def bare() -> Starlette:
    body = Path(os.environ["BENCH_BODY"]).read_bytes()

    async def same_bytes(_request: Request) -> Response:
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route("/{path:path}", same_bytes)])


def naive() -> FastAPI:
    url = os.environ["BENCH_DATABASE_URL"]
    args = {"check_same_thread": False} if url.startswith("sqlite") else {}
    factory = sessionmaker(bind=create_engine(url, connect_args=args))
    app = FastAPI()

    @app.get("/api/v1/patients/{patient_id}")
    def read(patient_id: uuid.UUID) -> JSONResponse:
        with factory() as session:
            patient = session.get(Patient, patient_id)
            if patient is None:
                raise HTTPException(404)
            return JSONResponse(PatientOut.model_validate(patient).model_dump(mode="json"))

    return app
