from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, Response, UploadFile

from app.auth.guards import PatientsImporter
from app.db import SessionDep
from app.imports import service
from app.imports.schemas import ImportReport
from app.kit.errors import problem_responses

router = APIRouter(prefix="/api/v1/imports", tags=["imports"])


@router.post("/patients", response_model=ImportReport, operation_id="importPatients",
             summary="Import patients from another system's CSV export or a FHIR Bundle",
             description="CSV headers are matched case- and space-insensitively with the usual synonyms "
             "(`First Name`/`first_name`/`given_name`, `Date of Birth`/`dob`, ...). `dry_run=true` only "
             "reports, row by row, what would be created, what is already on file (same chart number, or "
             "same name and birth date) and what is invalid. A real run creates every accepted row or, "
             "if any row is invalid, nothing at all (422 naming each row's fields).",
             responses={**problem_responses(401, 403, 409, 413, 422),
                        201: {"model": ImportReport, "description": "Imported"}})
def import_patients(
    session: SessionDep, actor: PatientsImporter, response: Response,
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or Windows-1252; comma, semicolon or tab) or a "
                                                 "FHIR Bundle of Patient resources (JSON)")],
    dry_run: Annotated[bool, Query(description="Report only; create nothing")] = False,
    date_order: Annotated[Literal["DMY", "MDY"] | None, Query(
        description="How to read numeric birth dates like 03/04/1970; without it, ambiguous ones are refused")
    ] = None,
    on_duplicate: Annotated[Literal["skip", "fail"], Query(
        description="Rows already on file are skipped (default) or fail the whole import")] = "skip",
) -> ImportReport:
    upload = service.Upload(file.filename, file.content_type, file.file.read())
    report = service.import_patients(session, actor, upload, dry_run=dry_run, date_order=date_order,
                                     on_duplicate=on_duplicate)
    response.status_code = 200 if dry_run else 201
    return report
