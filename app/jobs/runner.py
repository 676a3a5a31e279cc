"""The job table's runner: claim a queued (or orphaned) job, run its registered kind, record a failure.

A claim is a compare-and-set in its own short transaction, so several workers (and the in-process thread)
can share one table: of two workers reclaiming the same orphan, one wins. The work itself runs outside
any transaction; it reports progress through `JobRun`, which doubles as the heartbeat that keeps its lease.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.jobs import registry, retention
from app.jobs.outcome import audit_outcome
from app.jobs.run import JobRun
from app.models.base import utcnow
from app.models.integration import ExportJob

log = logging.getLogger("imschart.jobs")
STALE = timedelta(minutes=10)  # a running job with no heartbeat for this long was orphaned by a restart


def claim(factory: sessionmaker[Session]) -> tuple[ExportJob | None, bool]:
    """The oldest runnable job and whether this worker won it (None: nothing to do)."""
    now = utcnow()
    with factory() as session, session.begin():
        job = session.scalar(select(ExportJob).where(or_(
            ExportJob.status == "queued",
            (ExportJob.status == "running") & (ExportJob.heartbeat_at < now - STALE))
        ).order_by(ExportJob.created_at).limit(1))
        if job is None:
            return None, False
        # Compare-and-set on status *and* heartbeat: of two workers reclaiming the same orphan, one wins.
        heartbeat = ExportJob.heartbeat_at.is_(None) if job.heartbeat_at is None else \
            ExportJob.heartbeat_at == job.heartbeat_at
        result = session.execute(update(ExportJob).where(ExportJob.id == job.id, ExportJob.status == job.status,
                                                         heartbeat)
                                 .values(status="running", started_at=now, heartbeat_at=now))
        return job, bool(result.rowcount)  # type: ignore[attr-defined]


def run_due(factory: sessionmaker[Session], data_dir: Path) -> int:
    """Expire old job files if due, then claim and run queued (or orphaned) jobs; returns how many ran."""
    ran = 0
    retention.sweep_if_due(factory, data_dir)  # expired export files, stale idempotent response bodies
    while True:
        job, won = claim(factory)
        if job is None:
            return ran
        if not won:
            continue
        try:
            registry.kind(job.kind).run(JobRun(factory, Path(data_dir), job.id))
        except Exception as exc:
            log.exception("%s job %s failed", job.kind, job.id)
            fail(factory, job.id, exc)
        ran += 1


def fail(factory: sessionmaker[Session], job_id: uuid.UUID, exc: Exception) -> None:
    """Mark a job failed with the error's text and audit the failure on behalf of its requester."""
    error = f"{type(exc).__name__}: {exc}"[:1000]
    with factory() as session, session.begin():
        session.execute(update(ExportJob).where(ExportJob.id == job_id).values(
            status="failed", finished_at=utcnow(), error=error))
        audit_outcome(session, session.get_one(ExportJob, job_id), {"error": error}, outcome="failure")
