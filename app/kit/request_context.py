"""Per-request id, client address and user agent, for audit rows and problem bodies; body size cap."""

from __future__ import annotations

import json
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass(frozen=True)
class RequestInfo:
    request_id: str
    client_ip: str | None
    user_agent: str | None
    fhir: bool = False  # errors render as a FHIR OperationOutcome


_current: ContextVar[RequestInfo | None] = ContextVar("ims_request", default=None)


def current_request() -> RequestInfo | None:
    return _current.get()


def current_request_id() -> str | None:
    info = _current.get()
    return info.request_id if info else None


class RequestContextMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware): sets the context, echoes X-Request-ID, caps the body size."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, larger_bodies: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.larger_bodies = larger_bodies or {}  # path prefix -> its own cap (file uploads)

    def _limit(self, path: str) -> int:
        return next((cap for prefix, cap in self.larger_bodies.items() if path.startswith(prefix)),
                    self.max_body_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        supplied = headers.get("x-request-id", "")
        request_id = supplied if 0 < len(supplied) <= 64 and supplied.isprintable() else uuid.uuid4().hex
        client = scope.get("client")
        info = RequestInfo(request_id, client[0] if client else None, (headers.get("user-agent") or "")[:400] or None,
                           fhir=scope.get("path", "").startswith("/fhir"))
        token = _current.set(info)
        limit = self._limit(scope.get("path", ""))
        failed = False
        try:
            declared = headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                await send_problem(send, 413, "request-body-too-large", "Request body too large",
                                   f"The body exceeds {limit} bytes", request_id=request_id,
                                   headers=[(b"x-request-id", request_id.encode())])
                return
            target = scope.get("raw_path", b"") + b"?" + scope.get("query_string", b"")
            if b"%00" in target.lower() or b"\x00" in target:
                await send_problem(send, 422, "validation-error", "The request has invalid fields",
                                   "The URL contains a NUL character (%00)", request_id=request_id,
                                   errors=[{"field": "url", "message": "contains a NUL character (%00)"}],
                                   headers=[(b"x-request-id", request_id.encode())])
                return
            received = 0
            tail = b""

            async def limited_receive() -> Message:
                nonlocal received, tail
                message = await receive()
                if message["type"] == "http.request":
                    chunk = message.get("body", b"")
                    received += len(chunk)
                    if received > limit:
                        # An HTTPException passes through FastAPI's body parsing to the problem handler.
                        raise HTTPException(413, f"The body exceeds {limit} bytes")
                    # PostgreSQL cannot store NUL in text: refuse it up front, whichever engine this is.
                    window = tail + chunk
                    if b"\\u0000" in window or (b"\x00" in chunk and not _is_upload(headers)):
                        raise NulInBody()
                    tail = window[-5:]
                return message

            async def send_with_id(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message.setdefault("headers", [])
                    message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
                await send(message)

            await self.app(scope, limited_receive, send_with_id)
        except Exception:
            # Starlette answers an unhandled exception outside every middleware: leave this request's context
            # set for that handler, so the 500 carries the request id and is an OperationOutcome under /fhir.
            failed = True
            raise
        finally:
            if not failed:
                _current.reset(token)


class NulInBody(HTTPException):
    """A NUL character in a JSON body: a 422 naming the body, rendered by the problem handler."""

    def __init__(self) -> None:
        super().__init__(422, "Text may not contain the NUL character (\\u0000)")
        self.errors = [{"field": "body", "message": "contains a NUL character (\\u0000), which no text field accepts"}]


def _is_upload(headers: dict[str, str]) -> bool:
    return headers.get("content-type", "").startswith("multipart/")


PROBLEM_BASE = "https://imschart.org/problems/"
FHIR_JSON = "application/fhir+json"
_FHIR_CODES = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported",
               409: "conflict", 412: "conflict", 413: "too-costly", 415: "not-supported", 422: "invalid",
               428: "required", 429: "throttled", 500: "exception", 503: "transient"}


def operation_outcome(status: int, detail: str, errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """The FHIR R4 OperationOutcome every error under /fhir is, whichever layer refused the request."""
    issues: list[dict[str, Any]] = [{"severity": "error", "code": _FHIR_CODES.get(status, "processing"),
                                     "diagnostics": detail}]
    issues += [{"severity": "error", "code": "invalid", "diagnostics": e["message"], "expression": [e["field"]]}
               for e in errors or []]
    return {"resourceType": "OperationOutcome", "issue": issues}


async def send_problem(send: Send, status: int, slug: str, title: str, detail: str, *,
                       request_id: str | None = None, errors: list[dict[str, str]] | None = None,
                       headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """A problem+json answer from ASGI middleware, where FastAPI's exception handlers do not reach
    (under /fhir an OperationOutcome as application/fhir+json, as FHIR clients expect)."""
    info = current_request()
    media_type = "application/problem+json"
    if info is not None and info.fhir:
        doc, media_type = operation_outcome(status, detail, errors), FHIR_JSON
    else:
        doc = {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail}
        request_id = request_id or (info.request_id if info is not None else None)
        if request_id:
            doc["request_id"] = request_id
        if errors:
            doc["errors"] = errors
    body = json.dumps(doc).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", media_type.encode()),
                            (b"content-length", str(len(body)).encode()), *(headers or [])]})
    await send({"type": "http.response.body", "body": body})
