"""A small closed-loop HTTP/1.1 load generator: N keep-alive connections, each sending its next request as soon
as the previous answer is read (like wrk), timing every request.

Written on asyncio streams (uvloop when installed) rather than an HTTP client library, so the generator
costs little CPU next to the server on the same small machine; it still parses status, Content-Length and
chunked bodies properly. `Request`s come from a `next_request()` callback so a workload can mix endpoints
and chain steps (create a session, then sign it).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Request:
    label: str
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    then: Callable[[int, bytes], Request | None] | None = None  # a follow-up from this response


@dataclass
class Result:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    statuses: dict[str, dict[int, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    seconds: float = 0.0

    def rows(self) -> list[tuple[str, int, float, float, float, int]]:
        """(label, count, req/s, p50 ms, p99 ms, errors), labels sorted, plus an 'all' row."""
        out = []
        every: list[float] = []
        for label in sorted(self.latencies):
            lat = sorted(self.latencies[label])
            every += lat
            out.append((label, len(lat), len(lat) / self.seconds, _pct(lat, 50), _pct(lat, 99), self.errors[label]))
        every.sort()
        if len(self.latencies) > 1:
            out.append(("all", len(every), len(every) / self.seconds, _pct(every, 50), _pct(every, 99),
                        sum(self.errors.values())))
        return out


def _pct(sorted_ms: list[float], p: float) -> float:
    if not sorted_ms:
        return float("nan")
    return sorted_ms[min(len(sorted_ms) - 1, int(len(sorted_ms) * p / 100))]


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            parts.append(chunk[:-2])
        body = b"".join(parts)
    else:
        body = b""
    return status, body, headers.get("connection", "").lower() == "close"


def _encode(host: str, req: Request) -> bytes:
    body = b"" if req.body is None else json.dumps(req.body).encode()
    lines = [f"{req.method} {req.path} HTTP/1.1", f"Host: {host}", "Accept: application/json"]
    lines += [f"{k}: {v}" for k, v in req.headers.items()]
    if body:
        lines += ["Content-Type: application/json"]
    lines += [f"Content-Length: {len(body)}", "", ""]
    return "\r\n".join(lines).encode() + body


async def _worker(host: str, port: int, next_request: Callable[[], Request], deadline: float, result: Result,
                  timeout: float) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    pending: Request | None = None
    try:
        while time.monotonic() < deadline:
            req = pending or next_request()
            pending = None
            started = time.perf_counter()
            try:
                writer.write(_encode(host, req))
                status, body, close = await asyncio.wait_for(_read_response(reader), timeout)
            except (TimeoutError, OSError, asyncio.IncompleteReadError):
                result.errors[req.label] += 1
                result.latencies[req.label].append(timeout * 1000)
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            result.latencies[req.label].append((time.perf_counter() - started) * 1000)
            result.statuses[req.label][status] += 1
            if status >= 400:
                result.errors[req.label] += 1
            elif req.then is not None:
                pending = req.then(status, body)
            if close:
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
    finally:
        writer.close()


async def _run(host: str, port: int, next_request: Callable[[], Request], connections: int, seconds: float,
               timeout: float) -> Result:
    result = Result()
    started = time.monotonic()
    deadline = started + seconds
    await asyncio.gather(*(_worker(host, port, next_request, deadline, result, timeout) for _ in range(connections)))
    result.seconds = time.monotonic() - started
    return result


def run(host: str, port: int, next_request: Callable[[], Request], *, connections: int, seconds: float,
        timeout: float = 10.0) -> Result:
    try:
        import uvloop
        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    result: Result = runner(_run(host, port, next_request, connections, seconds, timeout))
    return result
