"""Worker heartbeats: is anybody running the background work?

Exports, FHIR bulk exports and webhook deliveries are queued in the database and run by a worker
(`imschart worker`, or a thread of the API process when IMS_WORKER_IN_PROCESS is on). A PostgreSQL
set-up that runs only `serve` would otherwise leave them queued forever with no hint why. Each worker
refreshes a row in `worker_heartbeats` while it runs; `/readyz` and every queued job's status read it.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.models.base import utcnow
from app.models.worker import WorkerHeartbeat

BEAT_EVERY = timedelta(seconds=10)
# No heartbeat for this long: the worker is gone (killed, host down) or stuck.
STALE_AFTER = timedelta(minutes=2)
FORGET_AFTER = timedelta(days=7)  # rows of workers long gone are removed when a worker starts
HOW_TO_RUN = ("start `imschart worker` beside the API (or set IMS_WORKER_IN_PROCESS=true to run the work "
              "inside a single API process)")


class Heartbeat:
    """One worker's heartbeat: `beat()` on every pass of its loop writes at most once per BEAT_EVERY."""

    def __init__(self, factory: sessionmaker[Session], kind: str) -> None:
        self.factory, self.kind = factory, kind
        self.worker_id = f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"
        self._last: datetime | None = None

    def beat(self, now: datetime | None = None) -> None:
        now = now or utcnow()
        if self._last is not None and now - self._last < BEAT_EVERY:
            return
        with self.factory() as session, session.begin():
            if self._last is None:
                session.execute(delete(WorkerHeartbeat).where(or_(
                    WorkerHeartbeat.last_seen_at < now - FORGET_AFTER,
                    WorkerHeartbeat.stopped_at < now - FORGET_AFTER)))
                session.add(WorkerHeartbeat(worker_id=self.worker_id, kind=self.kind, hostname=socket.gethostname()
                                            [:255], pid=os.getpid(), started_at=now, last_seen_at=now))
            else:
                session.execute(update(WorkerHeartbeat).where(WorkerHeartbeat.worker_id == self.worker_id)
                                .values(last_seen_at=now))
        self._last = now

    def stopped(self) -> None:
        """A clean stop says so at once, rather than leaving the API to wait STALE_AFTER to notice."""
        if self._last is None:
            return
        with self.factory() as session, session.begin():
            session.execute(update(WorkerHeartbeat).where(WorkerHeartbeat.worker_id == self.worker_id)
                            .values(stopped_at=utcnow()))


@dataclass(frozen=True)
class WorkerStatus:
    running: int  # workers seen within STALE_AFTER and not stopped
    last_seen_at: datetime | None  # the latest heartbeat of any worker, running or not

    @property
    def problem(self) -> str | None:
        """Why queued work is not moving, or None while a worker is running."""
        if self.running:
            return None
        if self.last_seen_at is None:
            return f"No background worker has run against this database: queued work waits until one does; {HOW_TO_RUN}"
        return (f"No background worker has been seen since {self.last_seen_at.isoformat(timespec='seconds')}: "
                f"queued work waits until one runs; {HOW_TO_RUN}")

    def as_json(self) -> dict[str, object]:
        return {"status": "ok" if self.running else "not_running", "running": self.running,
                "last_seen_at": self.last_seen_at.isoformat() if self.last_seen_at else None,
                "detail": self.problem}


def status(session: Session, now: datetime | None = None) -> WorkerStatus:
    now = now or utcnow()
    alive = (WorkerHeartbeat.stopped_at.is_(None)) & (WorkerHeartbeat.last_seen_at >= now - STALE_AFTER)
    running, last = session.execute(select(func.count().filter(alive), func.max(WorkerHeartbeat.last_seen_at))).one()
    return WorkerStatus(running=running or 0, last_seen_at=last)


def waiting_reason(session: Session, job_status: str) -> str | None:
    """For a job's status: why a queued (or pending) job is not moving, if no worker is running."""
    if job_status not in ("queued", "pending", "running"):
        return None
    return status(session).problem
