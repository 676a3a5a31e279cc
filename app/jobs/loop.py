"""The worker loop: `imschart worker` runs it, and so does a thread of the API process when
IMS_WORKER_IN_PROCESS is on (the embedded SQLite default).

Every pass refreshes the worker's heartbeat, drains each registered queue and runs the due jobs of the
job table, so the API can tell when nobody runs the queued work. The loop knows no domain: it runs
whatever `app.jobs.registry` holds.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from app.jobs import registry, runner
from app.jobs.heartbeats import Heartbeat
from app.kit import db_faults

log = logging.getLogger("imschart.worker")


def run_forever(factory: sessionmaker[Session], *, interval: float = 1.0, production: bool = False,
                stop: threading.Event | None = None, data_dir: Path | None = None, kind: str = "worker") -> None:
    """Run passes until `stop` is set; sleep `interval` after a pass that found nothing to do.

    Without `data_dir` the job table is left alone (only the queues run)."""
    stop = stop or threading.Event()
    heartbeat = Heartbeat(factory, kind)
    context = registry.WorkerContext(factory=factory, data_dir=data_dir, production=production)
    with context.resources:
        passes: list[Callable[[], int]] = [queue.start(context) for queue in registry.queues()]
        if data_dir is not None:
            passes.append(lambda: runner.run_due(factory, data_dir))
        while not stop.is_set():
            try:
                heartbeat.beat()
                busy = sum(work() for work in passes)
                if busy == 0:
                    stop.wait(interval)
            except Exception as exc:  # keep working; an outage is logged once, anything else each time
                if db_faults.is_unavailable(exc):
                    db_faults.outage.down(exc)
                else:
                    db_faults.log_unexpected(log, exc, "a worker pass")
                stop.wait(interval)
    try:
        heartbeat.stopped()
    except Exception:  # the database may be gone already; the heartbeat then simply goes stale
        log.warning("could not record the worker's stop", exc_info=True)


@contextmanager
def in_process(factory: sessionmaker[Session], *, production: bool, data_dir: Path) -> Iterator[threading.Thread]:
    """The loop in a daemon thread of the API process, stopped (within 5 s) when the block ends."""
    stop = threading.Event()
    thread = threading.Thread(target=run_forever, name="imschart-worker", daemon=True, kwargs=dict(
        factory=factory, stop=stop, production=production, data_dir=data_dir, kind="in_process"))
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        thread.join(timeout=5)
