"""Admission to the database: requests wait on the event loop, holding no thread, until they can proceed.

Why: FastAPI runs a request's sync dependencies, its handler and its session's commit on the threadpool
(anyio's 40 threads), one hop after another, and the request keeps its pooled connection (and on SQLite, for a
write, the database's one write lock) from its first statement to its commit. When more requests arrive at once
than the pool has connections, the waiting ones sit in threads inside the pool's checkout (or, on SQLite, inside
`BEGIN IMMEDIATE`); once they hold every thread, the requests that hold the connections or the lock cannot get
a thread to go on in, and nothing moves until the waits time out and fail. Measured before this gate: 64
concurrent `POST /api/v1/patients` against `imschart serve` on SQLite got no answer within 10 s, and on
PostgreSQL the same burst in process ended in 503s; at 16 connections SQLite's busy-wait back-off gave POSTs a p99
near 3 s.

So each HTTP request takes a slot before it starts: `IMS_MAX_ACTIVE_REQUESTS` of them (4 unless set), never more
than the pool's connections less one for the in-process worker. Few slots are faster than many: a process runs
Python on one core at a time, and requests in flight together fight for the GIL at every database call (on a 2-core
box, 4 slots served the chart a third more per second than 14, with less CPU per request). On SQLite a write request
(any method but GET, HEAD, OPTIONS, and the one GET that writes: a FHIR Bulk Data kick-off, which stores its job)
also takes the one writer's turn first: the lock passes in arrival order, without busy-waiting. A request's body is
read before it queues (a slow upload must not hold others up), and its turn ends when its answer starts (its commit
and audit batch are done by then: a slow download must not hold others up either). A request that waits longer than
the pool's timeout (the busy timeout, for a SQLite writer's turn) gets the 503 with Retry-After a pool or lock
timeout would give. The health probes are not gated. Several `imschart serve` processes each have their own gate.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import Engine
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.kit.asgi_body import read_body, replaying
from app.kit.db_faults import RETRY_AFTER_SECONDS, UNAVAILABLE
from app.kit.request_context import send_problem

READS = frozenset({"GET", "HEAD", "OPTIONS"})
UNGATED = ("/healthz", "/readyz")
WRITING_GET = "/$export"  # the Bulk Data kick-off (/fhir/$export, /fhir/Patient/$export) is a GET that stores a job
RESERVED = 1  # a pooled connection left for the in-process worker (exports, webhooks)


class Slots:
    """A semaphore whose `first` waiters go ahead of the others: SQLite's writer, who has the one writer's turn,
    takes the next free slot instead of queueing behind every read that came in meanwhile (while it waits, every
    other write waits behind it)."""

    def __init__(self, count: int) -> None:
        self.free = count
        self._first: deque[asyncio.Future[None]] = deque()
        self._rest: deque[asyncio.Future[None]] = deque()

    async def acquire(self, first: bool = False) -> None:
        if self.free > 0 and not self._first and not self._rest:
            self.free -= 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._first if first else self._rest
        queue.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed a slot just as its wait ended: pass it on
            else:
                queue.remove(waiter)
            raise

    def release(self) -> None:
        for queue in (self._first, self._rest):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # the slot goes straight to it: `free` stays as it is
                    return
        self.free += 1


@dataclass
class _Queues:
    slots: Slots | None
    writer: asyncio.Lock | None


class _Busy(Exception):
    pass


class DatabaseAdmission:
    """Pure ASGI: see the module docstring."""

    def __init__(self, app: ASGIApp, engine: Engine, slot_seconds: float, writer_seconds: float,
                 active: int | None = None) -> None:
        self.app = app
        pool = engine.pool
        size, overflow = getattr(pool, "size", None), getattr(pool, "_max_overflow", None)
        connections = (max(1, size() + max(overflow, 0) - RESERVED)
                       if callable(size) and isinstance(overflow, int) else None)  # None: a pool without a bound
        limits = [n for n in (connections, active) if n is not None]
        self.capacity = min(limits) if limits else None
        self.one_writer = engine.dialect.name == "sqlite"
        self.slot_seconds, self.writer_seconds = slot_seconds, writer_seconds
        # Per event loop: a test may drive the same app from several loops, one after another.
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queues] = weakref.WeakKeyDictionary()

    def _for_this_loop(self) -> _Queues:
        loop = asyncio.get_running_loop()
        queues = self._queues.get(loop)
        if queues is None:
            queues = self._queues[loop] = _Queues(
                Slots(self.capacity) if self.capacity else None,
                asyncio.Lock() if self.one_writer else None)
        return queues

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNGATED:
            await self.app(scope, receive, send)
            return
        writes = scope["method"] not in READS or scope["path"].endswith(WRITING_GET)
        if writes:
            refused: HTTPException | None = None
            try:
                body = await read_body(receive)
            except HTTPException as exc:  # the size cap: inner layers answer it as before, without a turn
                refused = exc
            if refused is not None:
                async def refuse() -> Message:
                    raise refused  # type: ignore[misc]

                await self.app(scope, refuse, send)
                return
            receive = replaying(body, receive)
        queues = self._for_this_loop()
        try:
            release = await self._admit(queues, writes)
        except _Busy:
            await send_problem(send, UNAVAILABLE.status, UNAVAILABLE.slug, UNAVAILABLE.title,
                               "The database is busy with other requests; retry after the number of seconds in "
                               "Retry-After", headers=[(b"retry-after", str(RETRY_AFTER_SECONDS).encode())])
            return

        async def releasing_send(message: Message) -> None:
            # The request's database work is over once its answer starts (the commit and the audit batch come
            # first): a large download goes on without holding anyone up.
            if message["type"] == "http.response.start":
                release()
            await send(message)

        try:
            await self.app(scope, receive, releasing_send)
        finally:
            release()

    async def _admit(self, queues: _Queues, writes: bool) -> Callable[[], None]:
        """Wait for this request's turn; returns what gives it back (safe to call more than once)."""
        held: list[Callable[[], None]] = []

        def release() -> None:
            while held:
                held.pop()()

        try:
            writer = queues.writer if writes else None
            if writer is not None:
                await _within(writer.acquire(), self.writer_seconds)
                held.append(writer.release)
            if queues.slots is not None:
                await _within(queues.slots.acquire(first=writer is not None), self.slot_seconds)
                held.append(queues.slots.release)
        except BaseException:
            release()
            raise
        return release


async def _within(waiting: Awaitable[object], seconds: float) -> None:
    try:
        async with asyncio.timeout(seconds):
            await waiting
    except TimeoutError:
        raise _Busy from None
