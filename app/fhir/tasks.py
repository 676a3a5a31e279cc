"""The FHIR Bulk Data export as a job kind: NDJSON files, one per resource type, written by the worker.

Patients are walked in keyset order one compartment at a time and appended to per-type NDJSON files, so
memory stays flat however large the clinic is. Registered with `app.jobs` at import (`app.tasks` imports
this module); cancellation (DELETE on the status URL) is noticed between batches of patients.
"""

from __future__ import annotations

import io
import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.appointments import fhir as appointment_fhir
from app.fhir import compartment, mapping
from app.fhir.router import TYPES
from app.jobs import registry
from app.jobs.files import jobs_dir, private_dir, private_file
from app.jobs.outcome import audit_outcome, manifest_counts
from app.jobs.run import JobRun
from app.kit.snapshot import snapshot
from app.models.integration import ExportJob
from app.models.patient import Patient
from app.models.user import User
from app.records import patient as patient_record

NDJSON = "application/fhir+ndjson"
PATIENT_BATCH = 200


def output_dir(data_dir: Path | str, job_id: uuid.UUID) -> Path:
    return jobs_dir(data_dir) / f"fhir-{job_id}"


def run(job_run: JobRun) -> None:
    """Write the NDJSON files; checks for cancellation between batches of patients."""
    job = job_run.load()
    types, since = set((job.request or {}).get("types") or TYPES), job.since
    level = (job.request or {}).get("level", "system")
    private_dir(jobs_dir(job_run.data_dir))
    target = private_dir(output_dir(job_run.data_dir, job.id))
    counts: dict[str, int] = {t: 0 for t in sorted(types)}
    handles = {t: io.TextIOWrapper(private_file(target / f"{t}.ndjson"), encoding="utf-8") for t in counts}

    def emit(resource: mapping.Resource) -> None:
        rtype = resource["resourceType"]
        updated = resource.get("meta", {}).get("lastUpdated") or resource.get("recorded")
        if rtype in handles and (since is None or (updated and datetime.fromisoformat(updated) > since)):
            handles[rtype].write(json.dumps(resource, separators=(",", ":")) + "\n")
            counts[rtype] += 1

    try:
        after: uuid.UUID | None = None
        # One read snapshot that never blocks writers (SQLite's app engine would take the write lock).
        with snapshot(job_run.factory.kw["bind"]) as conn, Session(bind=conn) as session:
            if "Practitioner" in types:
                for user in session.scalars(select(User).order_by(User.id)):
                    emit(mapping.practitioner(user))
            if "Schedule" in types and level == "system":  # one per therapist: bounded by the staff list
                for schedule in appointment_fhir.find_schedules(session):
                    emit(schedule)
            while True:
                stmt = select(Patient).order_by(Patient.id).limit(PATIENT_BATCH)
                patients = session.scalars(stmt.where(Patient.id > after) if after else stmt).all()
                if not patients:
                    break
                for patient in patients:
                    for resource in compartment.fhir_resources(session, patient_record.load(session, patient)):
                        if resource["resourceType"] != "Practitioner":
                            emit(resource)
                after = patients[-1].id
                session.expunge_all()
                if not job_run.progress(sum(counts.values()), "Patient"):
                    return  # cancelled: the DELETE removed the files
    finally:
        for handle in handles.values():
            handle.close()
    manifest: dict[str, Any] = {"files": {f"{t}.ndjson": {"records": n} for t, n in counts.items()}}
    job_run.complete({"manifest": manifest, "records_done": sum(counts.values())},
                     lambda session, done: audit_outcome(session, done, {
                         "records": sum(counts.values()), "files": manifest_counts(manifest),
                         "directory": str(target)}))


def files(data_dir: Path, job: ExportJob) -> list[Path]:
    return [output_dir(data_dir, job.id)]


registry.register_kind(registry.JobKind("fhir_bulk", run=run, files=files))
