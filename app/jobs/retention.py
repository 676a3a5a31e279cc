"""Job files are private and short-lived; stored idempotent responses outlive their use by no more.

A finished export (clinic zip or FHIR Bulk Data files) carries `expires_at` (`IMS_EXPORT_RETENTION_HOURS`
after it was requested, 72 by default). The worker loop (and the in-process worker of the embedded
setup) deletes the files of expired jobs, marks them `expired` (downloads then answer 410) and puts each
removal on the audit trail. Idempotency-Key entries keep their stored response body for `REPLAY_WINDOW`;
after that the body (which may hold patient data) is dropped and only the key's fingerprint stays, so a
very late retry is still refused (409) instead of running twice.
"""

from __future__ import annotations

import shutil
import time
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from app.jobs import registry
from app.kit import audit
from app.kit.actor import SYSTEM_ACTOR
from app.models.base import utcnow
from app.models.integration import ExportJob, IdempotencyKey

REPLAY_WINDOW = timedelta(hours=24)
SWEEP_EVERY = 60.0  # seconds between sweeps of a running worker
FINISHED = ("completed", "failed", "cancelled")
_last_sweep = {"at": float("-inf")}


def job_files(data_dir: Path, job: ExportJob) -> list[Path]:
    """Everything on disk that belongs to a job, as its registered kind names it."""
    return registry.kind(job.kind).files(Path(data_dir), job)


def expiry(retention_hours: int, now: datetime | None = None) -> datetime:
    return (now or utcnow()) + timedelta(hours=retention_hours)


def sweep(factory: sessionmaker[Session], data_dir: Path, now: datetime | None = None) -> int:
    """Delete the files of every expired export job and drop replayable bodies past their window.

    Returns how many jobs expired. Safe to run from several workers at once: a job is marked expired with
    a compare-and-set on its status, and only the worker that wins deletes and audits it.
    """
    now = now or utcnow()
    expired = 0
    with factory() as session, session.begin():
        due = session.scalars(select(ExportJob).where(ExportJob.expires_at < now, ExportJob.status.in_(FINISHED))
                              .order_by(ExportJob.expires_at).limit(100)).all()
        for job in due:
            won = session.execute(update(ExportJob).where(ExportJob.id == job.id, ExportJob.status == job.status)
                                  .values(status="expired").execution_options(synchronize_session=False))
            if not won.rowcount:  # type: ignore[attr-defined]
                continue
            removed = [p.name for p in job_files(data_dir, job) if _remove(p)]
            audit.record(session, SYSTEM_ACTOR, "expire", resource_type="ExportJob", resource_id=job.id,
                         detail={"kind": job.kind, "requested_by": str(job.requested_by),
                                 "expires_at": job.expires_at.isoformat() if job.expires_at else None,
                                 "removed": removed})
            expired += 1
        session.execute(update(IdempotencyKey).where(IdempotencyKey.created_at < now - REPLAY_WINDOW,
                                                     IdempotencyKey.response_body.is_not(None))
                        .values(response_body=None).execution_options(synchronize_session=False))
    return expired


def sweep_if_due(factory: sessionmaker[Session], data_dir: Path) -> int:
    """`sweep`, at most once per `SWEEP_EVERY` seconds per process (the worker loop calls this every pass)."""
    if time.monotonic() - _last_sweep["at"] < SWEEP_EVERY:
        return 0
    _last_sweep["at"] = time.monotonic()
    return sweep(factory, data_dir)


def _remove(path: Path) -> bool:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
        return True
    if path.exists():
        path.unlink(missing_ok=True)
        return True
    return False
