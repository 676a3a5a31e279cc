"""One job while it runs: what a job kind's code uses to report progress, notice cancellation and finish.

Every progress report is also the job's heartbeat (its lease): a running job whose heartbeat is older than
`app.jobs.runner.STALE` was orphaned by a restart and is claimed again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from app.models.base import utcnow
from app.models.integration import ExportJob


@dataclass(frozen=True)
class JobRun:
    factory: sessionmaker[Session]
    data_dir: Path
    job_id: uuid.UUID

    def load(self) -> ExportJob:
        """The job's row as it was claimed (detached: read its parameters, write through this object)."""
        with self.factory() as session:
            job = session.get_one(ExportJob, self.job_id)
            session.expunge(job)
            return job

    def progress(self, records_done: int, current_table: str | None) -> bool:
        """Record progress and refresh the lease, in a transaction of its own; False once the job was
        cancelled (the caller then stops and leaves the cleanup to whoever cancelled it)."""
        with self.factory() as session, session.begin():
            result = session.execute(update(ExportJob).where(ExportJob.id == self.job_id, ExportJob.status == "running")
                                     .values(records_done=records_done, current_table=current_table,
                                             heartbeat_at=utcnow()))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def complete(self, values: dict[str, Any], audit: Callable[[Session, ExportJob], None]) -> bool:
        """Mark the job completed with `values` (manifest, counts, file) and write its audit row, in one
        transaction; nothing happens (False) if it was cancelled meanwhile."""
        with self.factory() as session, session.begin():
            done = session.execute(update(ExportJob).where(ExportJob.id == self.job_id, ExportJob.status == "running")
                                   .values(status="completed", finished_at=utcnow(), current_table=None, **values))
            if not done.rowcount:  # type: ignore[attr-defined]
                return False
            audit(session, session.get_one(ExportJob, self.job_id))
            return True
