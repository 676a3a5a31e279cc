"""The job kinds and queues the worker runs, filled in by the domains that own them.

A domain registers at import of its task module (`register_kind(...)` / `register_queue(...)` at module
level); `app.tasks` imports every such module, so the API process and `imschart worker` see the same set.
The runner looks a job's kind up here instead of importing the code that runs it: that is what keeps
`app.jobs` free of domains and the domains free of import cycles (Medplum's asyncjobexecutor runs any
job kind the same way).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from app.jobs.run import JobRun
from app.models.integration import ExportJob


@dataclass(frozen=True)
class JobKind:
    """A kind of row in the job table (`ExportJob.kind`).

    `run` does the work: it reports progress (and learns of cancellation) through the `JobRun` it is given
    and finishes with `JobRun.complete`; an exception fails the job (the runner records and audits that).
    `files` names everything on disk a job of this kind leaves, so expiry can delete it.
    """

    name: str
    run: Callable[[JobRun], None]
    files: Callable[[Path, ExportJob], list[Path]]


@dataclass
class WorkerContext:
    """What a queue may use while the loop runs: sessions, the data folder, and resources closed at stop."""

    factory: sessionmaker[Session]
    data_dir: Path | None
    production: bool  # production refuses what development allows (plain-http webhooks to loopback)
    resources: ExitStack = field(default_factory=ExitStack)


@dataclass(frozen=True)
class Queue:
    """A domain's own queue (an outbox with its own leases and retries), drained once per loop pass.

    `start` runs once when the loop starts and returns the pass: a function that does the due work and
    returns how much it did (0 lets the loop sleep)."""

    name: str
    start: Callable[[WorkerContext], Callable[[], int]]


_kinds: dict[str, JobKind] = {}
_queues: dict[str, Queue] = {}


def register_kind(kind: JobKind) -> JobKind:
    """Add a job kind; registering the same name twice with other code is a programming error."""
    existing = _kinds.setdefault(kind.name, kind)
    if existing is not kind:
        raise ValueError(f"job kind {kind.name!r} is registered twice")
    return kind


def register_queue(queue: Queue) -> Queue:
    existing = _queues.setdefault(queue.name, queue)
    if existing is not queue:
        raise ValueError(f"queue {queue.name!r} is registered twice")
    return queue


def kind(name: str) -> JobKind:
    """The registered kind of a job; a job of an unknown kind fails (with this message) instead of waiting."""
    try:
        return _kinds[name]
    except KeyError:
        raise LookupError(f"no job kind {name!r} is registered in this process (is app.tasks imported?)") from None


def kinds() -> list[JobKind]:
    return list(_kinds.values())


def queues() -> list[Queue]:
    return list(_queues.values())
