"""More concurrent requests than threadpool threads: they queue on the event loop (app.kit.admission) instead of
every thread waiting for a pooled connection, or SQLite's write lock, whose holder needs a thread to go on."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import create_engine, func, select
from starlette.types import Message, Receive, Scope, Send

from app.kit.admission import DatabaseAdmission, Slots
from app.main import create_app
from app.models.patient import Patient
from tests.factories import Staff, patient_body

T = TypeVar("T")


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run on a thread of its own: a browser test's Playwright (sync API) may have left an event loop
    running on this worker's main thread, where asyncio.run refuses to start another."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


BURST = 64  # anyio's threadpool has 40 threads; the pool 15 connections


def test_more_concurrent_requests_than_threads_all_answer(settings):  # both engines
    """Before the gate, SQLite's writes stopped here until the busy timeout and PostgreSQL's requests until the
    pool's timeout (5 s in this test, both), and the waiting requests failed with 503s."""
    app = create_app(settings.model_copy(update={"db_statement_timeout": 5, "db_pool_timeout": 5}))
    receptionist = Staff(app)("reception")

    async def burst() -> tuple[list[httpx.Response], list[httpx.Response]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=60) as client:
            created = await asyncio.gather(*(
                client.post("/api/v1/patients", headers=receptionist.headers,
                            json=patient_body(family_name=f"Burst{n}", email=None, phone=f"416-555-{n:04d}"))
                for n in range(BURST)))
            read = await asyncio.gather(*(
                client.get(f"/api/v1/patients/{r.json()['id']}", headers=receptionist.headers) for r in created
                if r.status_code == 201))
            return created, read

    try:
        started = time.monotonic()
        created, read = _run(burst())
        elapsed = time.monotonic() - started
        assert sorted({r.status_code for r in created}) == [201], [r.text for r in created if r.status_code != 201][:3]
        assert [r.status_code for r in read] == [200] * BURST
        assert elapsed < 5, f"{BURST} writes and reads took {elapsed:.1f} s: they waited out a timeout"
        with app.state.sessionmaker() as session:
            assert session.scalar(select(func.count()).select_from(Patient)
                                  .where(Patient.family_name.startswith("Burst"))) == BURST
    finally:
        app.state.engine.dispose()


class _Held:
    """An app whose first write holds on until told to finish; records what each request saw."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        self.bodies.append(message.get("body", b""))
        if scope["method"] == "POST" and scope["path"] == "/hold":
            await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        if scope["path"] == "/download":  # the answer has started; its body is slow to come
            await send({"type": "http.response.body", "body": b"part", "more_body": True})
            await self.release.wait()
        await send({"type": "http.response.body", "body": b"done"})


def _gated(inner: _Held, wait_seconds: float, url: str = "sqlite:///gate.db", active: int | None = None,
           **pool: int) -> DatabaseAdmission:
    # create_engine connects to nothing: only the pool's size and the dialect matter here.
    return DatabaseAdmission(inner, create_engine(url, **pool), slot_seconds=wait_seconds, writer_seconds=wait_seconds,
                             active=active)


def test_a_write_waits_for_the_one_before_it_and_reads_do_not():
    async def scenario() -> tuple[int, int, int, list[bytes]]:
        inner = _Held()
        transport = httpx.ASGITransport(app=_gated(inner, wait_seconds=10))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            holding = asyncio.create_task(client.post("/hold", content=b"first"))
            await asyncio.sleep(0.05)
            second = asyncio.create_task(client.post("/next", content=b"second body, replayed whole"))
            read = await asyncio.wait_for(client.get("/read"), 2)  # not gated: answers while the write holds
            await asyncio.sleep(0.1)
            assert not second.done()  # queued behind the first write
            inner.release.set()
            return (await holding).status_code, (await second).status_code, read.status_code, inner.bodies

    first, second, read, bodies = _run(scenario())
    assert (first, second, read) == (200, 200, 200)
    assert bodies == [b"first", b"", b"second body, replayed whole"]


def test_a_write_that_waits_too_long_gets_a_503_with_retry_after():
    async def scenario() -> httpx.Response:
        inner = _Held()
        transport = httpx.ASGITransport(app=_gated(inner, wait_seconds=0.2))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            holding = asyncio.create_task(client.post("/hold"))
            await asyncio.sleep(0.05)
            late = await client.post("/next")
            inner.release.set()
            await holding
            return late

    late = _run(scenario())
    assert late.status_code == 503 and late.headers["retry-after"] == "5"
    assert late.headers["content-type"] == "application/problem+json"
    assert late.json()["type"].endswith("/database-unavailable") and "busy" in late.json()["detail"]


def test_a_bulk_data_kick_off_is_a_get_that_waits_for_the_writer():
    """The Bulk Data kick-off is a GET by the FHIR spec, but it stores its job: on SQLite it takes the writer's
    turn like any write, instead of waiting for the lock in a thread. Polling its status stays a read."""
    async def scenario() -> tuple[list[bool], int]:
        inner = _Held()
        transport = httpx.ASGITransport(app=_gated(inner, wait_seconds=10))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            holding = asyncio.create_task(client.post("/hold"))
            await asyncio.sleep(0.05)
            kick_offs = [asyncio.create_task(client.get(path)) for path in ("/fhir/$export", "/fhir/Patient/$export")]
            poll = await asyncio.wait_for(client.get("/fhir/$export-poll/1"), 2)
            await asyncio.sleep(0.1)
            waited = [not task.done() for task in kick_offs]
            inner.release.set()
            await holding
            assert [(await task).status_code for task in kick_offs] == [200, 200]
            return waited, poll.status_code

    assert _run(scenario()) == ([True, True], 200)


@pytest.mark.parametrize("url", ["postgresql+psycopg://nobody@127.0.0.1:1/none"])
def test_postgresql_writes_do_not_wait_for_each_other(url):
    async def scenario() -> tuple[int, int]:
        inner = _Held()
        transport = httpx.ASGITransport(app=_gated(inner, wait_seconds=0.2, url=url))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            holding = asyncio.create_task(client.post("/hold"))
            await asyncio.sleep(0.05)
            other = await asyncio.wait_for(client.post("/next"), 2)
            inner.release.set()
            return (await holding).status_code, other.status_code

    assert _run(scenario()) == (200, 200)


def test_requests_beyond_the_pools_connections_wait_for_a_slot():
    """A pool of 2 + 1 overflow, one kept for the worker: two requests at a time, a third waits its turn."""
    async def scenario() -> tuple[list[int], bool]:
        inner = _Held()
        gate = _gated(inner, wait_seconds=10, url="postgresql+psycopg://nobody@127.0.0.1:1/none", pool_size=2,
                      max_overflow=1)
        transport = httpx.ASGITransport(app=gate)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            holding = [asyncio.create_task(client.post("/hold")) for _ in range(2)]
            await asyncio.sleep(0.05)
            third = asyncio.create_task(client.get("/read"))
            await asyncio.sleep(0.1)
            waited = not third.done()
            inner.release.set()
            return [(await t).status_code for t in (*holding, third)], waited

    statuses, waited = _run(scenario())
    assert statuses == [200, 200, 200] and waited


@pytest.mark.parametrize(("active", "pool", "at_once"),
                         [(2, {}, 2), (1, {}, 1), (50, {"pool_size": 2, "max_overflow": 1}, 2)])
def test_active_requests_are_capped_by_the_setting_and_the_pool(active, pool, at_once):
    """IMS_MAX_ACTIVE_REQUESTS caps the requests at work at once; the pool's connections (less the worker's) cap it
    too, whichever is smaller. The rest wait their turn and then answer."""
    async def scenario() -> tuple[list[int], int]:
        inner = _Held()
        gate = _gated(inner, wait_seconds=10, url="postgresql+psycopg://nobody@127.0.0.1:1/none", active=active,
                      **pool)
        transport = httpx.ASGITransport(app=gate)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            holding = [asyncio.create_task(client.post("/hold")) for _ in range(3)]
            await asyncio.sleep(0.1)
            working = len(inner.bodies)  # each request records its body once it is let in
            inner.release.set()
            return [(await t).status_code for t in holding], working

    statuses, working = _run(scenario())
    assert statuses == [200, 200, 200] and working == at_once


def test_the_app_admits_as_many_requests_at_once_as_configured(settings):
    app = create_app(settings.model_copy(update={"max_active_requests": 3}))
    try:
        gate = app.build_middleware_stack()
        while not isinstance(gate, DatabaseAdmission):
            gate = gate.app  # type: ignore[attr-defined]
        assert gate.capacity == 3
    finally:
        app.state.engine.dispose()


def test_the_writer_takes_the_next_free_slot_before_the_reads_queued_earlier():
    async def scenario() -> list[str]:
        slots, order = Slots(1), []
        await slots.acquire()

        async def take(name: str, first: bool = False) -> None:
            await slots.acquire(first=first)
            order.append(name)
            slots.release()

        waiting = [asyncio.create_task(take("read 1")), asyncio.create_task(take("read 2"))]
        await asyncio.sleep(0)
        waiting.append(asyncio.create_task(take("writer", first=True)))
        await asyncio.sleep(0)
        slots.release()
        await asyncio.gather(*waiting)
        return order

    assert _run(scenario()) == ["writer", "read 1", "read 2"]


def test_a_wait_that_ends_leaves_no_slot_behind():
    """Given up (a timeout), or cancelled just as a slot was handed to it: the slot count comes out whole."""
    async def scenario() -> tuple[int, int]:
        slots = Slots(1)
        await slots.acquire()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await slots.acquire()
        handed = asyncio.create_task(slots.acquire())
        await asyncio.sleep(0)
        slots.release()  # handed to the waiter...
        handed.cancel()  # ...which is cancelled before it runs again: the slot must come back
        with pytest.raises(asyncio.CancelledError):
            await handed
        free_after = slots.free
        await asyncio.wait_for(slots.acquire(), 1)
        return free_after, slots.free

    assert _run(scenario()) == (1, 0)


def test_the_health_probes_never_wait():
    async def scenario() -> int:
        inner = _Held()
        gate = _gated(inner, wait_seconds=10, url="postgresql+psycopg://nobody@127.0.0.1:1/none", pool_size=1,
                      max_overflow=1)
        transport = httpx.ASGITransport(app=gate)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            holding = asyncio.create_task(client.post("/hold"))
            await asyncio.sleep(0.05)
            probe = await asyncio.wait_for(client.get("/readyz"), 2)
            inner.release.set()
            await holding
            return probe.status_code

    assert _run(scenario()) == 200


def test_a_slow_answer_does_not_hold_the_next_write():
    """The turn ends when the answer starts: a long download (an export file) keeps nobody waiting. Driven as
    raw ASGI: httpx's in-process transport returns only once the whole body is there."""
    async def scenario() -> tuple[list[bytes], int]:
        inner = _Held()
        gate = _gated(inner, wait_seconds=10)
        sent: list[bytes] = []
        started = asyncio.Event()

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.set()
            else:
                sent.append(message.get("body", b""))

        def scope(path: str) -> Scope:
            return {"type": "http", "method": "POST", "path": path, "headers": []}

        downloading = asyncio.create_task(gate(scope("/download"), receive, send))
        await asyncio.wait_for(started.wait(), 2)
        transport = httpx.ASGITransport(app=gate)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            nxt = await asyncio.wait_for(client.post("/next"), 2)  # while the download's body is still coming
        inner.release.set()
        await downloading
        return sent, nxt.status_code

    sent, status = _run(scenario())
    assert status == 200 and b"".join(sent) == b"partdone"
