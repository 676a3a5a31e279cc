"""ETag / If-Match optimistic concurrency (428 without If-Match, 412 when stale); If-None-Match -> 304."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Header, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.kit.errors import PreconditionFailed, PreconditionRequired

_TAG = re.compile(r'^\s*(?:W/)?"(\d{1,12})"\s*$')
# The same rule in the OpenAPI document only: a malformed If-Match stays a 428 that explains the form.
_TAG_SCHEMA = {"pattern": r'^[ \t]*(W/)?"[0-9]{1,12}"[ \t]*$'}
_SEND_IF_MATCH = 'Send If-Match with the ETag from your last read, e.g. If-Match: W/"3"'


def etag(version: int) -> str:
    return f'W/"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)


def if_match_version(
    if_match: Annotated[str | None, Header(description='The ETag you read, e.g. W/"3"',
                                           json_schema_extra=_TAG_SCHEMA)] = None,
) -> int:
    if if_match is None or not if_match.strip():
        raise PreconditionRequired(_SEND_IF_MATCH)
    found = _TAG.match(if_match)
    if not found:
        raise PreconditionRequired('If-Match must be a single version ETag such as W/"3" ("*" is not accepted)')
    return int(found.group(1))


def check_version(current: int, expected: int) -> None:
    if current != expected:
        raise PreconditionFailed(f"You edited version {expected}, but the record is now at version {current}")


IfMatch = Annotated[int, Depends(if_match_version)]


def optional_if_match_version(
    if_match: Annotated[str | None, Header(description="Optional: the ETag you read; checked when sent",
                                           json_schema_extra=_TAG_SCHEMA)] = None,
) -> int | None:
    return None if if_match is None else if_match_version(if_match)


OptionalIfMatch = Annotated[int | None, Depends(optional_if_match_version)]


def require_version(current: int, expected: int | None) -> None:
    """If-Match is required for an edit: 428 without it, 412 when stale."""
    if expected is None:
        raise PreconditionRequired(_SEND_IF_MATCH)
    check_version(current, expected)


def _deferred_if_match(
    if_match: Annotated[str | None, Header(description=(
        'Required: the ETag you read, e.g. W/"3". Checked after the record\'s status, so a record that '
        "can no longer be edited answers 409 whether or not it is sent"), json_schema_extra=_TAG_SCHEMA)] = None,
) -> int | None:
    return None if if_match is None or not if_match.strip() else if_match_version(if_match)


# For edits whose state check (409) must win over a missing If-Match (428): pass the value to
# `require_version` (clinical notes: `ensure_draft_editable`) after checking the record's status.
DeferredIfMatch = Annotated[int | None, Depends(_deferred_if_match)]


def _matches(if_none_match: str, tag: str) -> bool:
    """Weak comparison (RFC 9110 §13.1.2): W/"3" matches "3"; `*` matches any current representation."""
    if if_none_match.strip() == "*":
        return True
    opaque = tag.removeprefix("W/")
    return any(candidate.strip().removeprefix("W/") == opaque for candidate in if_none_match.split(","))


# Headers a 304 keeps (RFC 9110 §15.4.5): whatever a cache would need to refresh its stored response.
_KEEP_ON_304 = {b"etag", b"cache-control", b"content-location", b"date", b"expires", b"vary"}


class NotModifiedMiddleware:
    """GET/HEAD with If-None-Match naming the record's current ETag -> 304 without a body.

    Pure ASGI and innermost: the handler still runs in full, so the read is authorised and its audit row is
    committed before anything is sent (the session dependency commits first), exactly as for a 200 — a poll
    that costs no transfer is still a read of patient data. Only answers that carry an ETag (versioned
    records: patient, episode, assessment, treatment, ...) are affected; outer middleware still adds the
    security and request-id headers to the 304.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        wanted = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"if-none-match"), None)
        if wanted is None:
            await self.app(scope, receive, send)
            return
        swallowing = False

        async def reply(message: Message) -> None:
            nonlocal swallowing
            if message["type"] == "http.response.start" and message["status"] == 200:
                tag = next((v.decode("latin-1") for k, v in message.get("headers", []) if k.lower() == b"etag"), None)
                if tag is not None and _matches(wanted, tag):
                    swallowing = True
                    kept = [(k, v) for k, v in message.get("headers", []) if k.lower() in _KEEP_ON_304]
                    await send({"type": "http.response.start", "status": 304, "headers": kept})
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                    return
            if swallowing:
                return  # the 200's body: already answered with an empty 304
            await send(message)

        await self.app(scope, receive, reply)
