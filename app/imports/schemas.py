from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from app.kit.errors import FieldError

RowStatus = Literal["accepted", "created", "duplicate", "invalid"]


class DuplicateOf(BaseModel):
    reason: Literal["chart_number", "name_and_birth_date"]
    patient_id: uuid.UUID | None = Field(None, description="The existing patient; null when the match is an "
                                         "earlier row of the same file")
    row: int | None = Field(None, description="The earlier row of this file it repeats")


class ImportRow(BaseModel):
    row: int = Field(description="Position among the file's patients, from 0")
    source: str = Field(description="Where in the file: `line 7` (CSV) or `entry[3]` (Bundle)")
    status: RowStatus
    given_name: str | None = None
    family_name: str | None = None
    birth_date: date | None = None
    chart_number: str | None = Field(None, description="As given, or as assigned when created")
    patient_id: uuid.UUID | None = Field(None, description="The patient created from this row")
    duplicate_of: DuplicateOf | None = None
    errors: list[FieldError] = Field(default_factory=list)


class ImportReport(BaseModel):
    dry_run: bool
    format: Literal["csv", "fhir"]
    sha256: str = Field(description="Of the uploaded file, for the clinic's records")
    total: int
    accepted: int = Field(description="Rows that are (or, on a dry run, would be) created")
    created: int
    duplicates: int = Field(description="Rows skipped because the patient is already on file")
    invalid: int
    ignored_columns: list[str] = Field(default_factory=list, description="CSV headers that match no patient field")
    ignored_resources: list[str] = Field(default_factory=list, description="Bundle entries that are not Patients")
    rows: list[ImportRow]
