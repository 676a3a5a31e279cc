"""What a database error means for the caller: a lost race (409), an outage (503) or a bug (500).

One classification serves the exception handlers and the ASGI middleware, so a unique violation or a
dropped connection gets the same answer wherever it surfaces. Log lines built here never carry the
driver's message: PostgreSQL's `DETAIL: Key (...)=(...)` and SQLAlchemy's parameter list would put
patient data (chart numbers, note text) into the log.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import traceback
from dataclasses import dataclass

from sqlalchemy import exc as sa_exc

log = logging.getLogger("imschart.database")

RETRY_AFTER_SECONDS = 5
_UNIQUE_SQLSTATE = "23505"
_UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300", "57014", "55P03", "40P01")
# 08xxx connection exceptions; admin/crash shutdown; cannot connect now; too many connections;
# statement timeout / lock timeout; deadlock (retrying is the fix for all of them)


@dataclass(frozen=True)
class Classified:
    status: int
    slug: str
    title: str
    detail: str


RACE = Classified(409, "conflict", "Conflict",
                  "Another request changed this record at the same moment; re-read it and try again")
UNAVAILABLE = Classified(503, "database-unavailable", "Service temporarily unavailable",
                         "The database is not reachable right now; retry after the number of seconds in "
                         "Retry-After")


def _sqlstate(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


def is_unique_violation(exc: BaseException) -> bool:
    if not isinstance(exc, sa_exc.IntegrityError):
        return False
    if _sqlstate(exc) == _UNIQUE_SQLSTATE:
        return True
    orig = getattr(exc, "orig", None)
    return isinstance(orig, sqlite3.IntegrityError) and str(orig).startswith("UNIQUE constraint failed")


def is_unavailable(exc: BaseException) -> bool:
    """The database could not be reached or answered too slowly: nothing the request did is at fault."""
    if isinstance(exc, sa_exc.TimeoutError):  # no pooled connection came free in time
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        state = _sqlstate(exc)
        if state and state.startswith(_UNAVAILABLE_SQLSTATES):
            return True
        orig = exc.orig
        if isinstance(orig, sqlite3.OperationalError):
            return "locked" in str(orig) or "busy" in str(orig)
        # psycopg: OperationalError without a state is a lost or refused connection
        return isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError) and not state
    return False


def classify(exc: BaseException) -> Classified | None:
    """409 for a lost uniqueness race, 503 for an outage; None: an unexpected error (a 500)."""
    if is_unique_violation(exc):
        return RACE
    if is_unavailable(exc):
        outage.down(exc)
        return UNAVAILABLE
    return None


def safe_summary(exc: BaseException) -> str:
    """The error's kind without its message (a database message may quote row values)."""
    if isinstance(exc, sa_exc.StatementError):
        orig = exc.orig
        state = _sqlstate(exc)
        return (f"{type(exc).__name__} ({type(orig).__module__}.{type(orig).__name__}"
                f"{', SQLSTATE ' + state if state else ''})")
    return f"{type(exc).__module__}.{type(exc).__name__}"


def log_unexpected(logger: logging.Logger, exc: BaseException, what: str) -> None:
    """One error entry with the stack, but no exception text (no SQL parameters, no note content)."""
    stack = "".join(traceback.format_tb(exc.__traceback__))
    logger.error("unhandled error on %s: %s\nTraceback (exception text withheld):\n%s", what, safe_summary(exc),
                 stack.rstrip())


class OutageState:
    """Database up or down: one log line when it changes, not a traceback per failing request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.is_down = False

    def down(self, exc: BaseException) -> None:
        with self._lock:
            if self.is_down:
                return
            self.is_down = True
        log.warning("database unavailable (%s): answering 503 until it is back", safe_summary(exc))

    def up(self) -> None:
        if not self.is_down:  # the fast path of every checkout: no lock
            return
        with self._lock:
            if not self.is_down:
                return
            self.is_down = False
        log.warning("database reachable again: serving requests")


outage = OutageState()


class _QuietPoolErrors(logging.Filter):
    """SQLAlchemy's pool logs a traceback for every connection it fails to reset or close; during an
    outage that is one per request. Keep the line, drop the traceback and the driver's message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            if outage.is_down:
                return False
            record.msg = f"{record.getMessage()} ({safe_summary(record.exc_info[1])})"
            record.args, record.exc_info, record.exc_text = None, None, None
        return True


for _name in ("QueuePool", "NullPool", "StaticPool", "SingletonThreadPool"):  # filters do not inherit
    logging.getLogger(f"sqlalchemy.pool.impl.{_name}").addFilter(_QuietPoolErrors())
