"""A request body read whole from ASGI, and a `receive` that hands it to the app as if it had just arrived.

Middleware that must see the body before the app does (the idempotency key's request hash; admission, which reads
a write's body before it queues) reads it here and passes the app `replaying(body, receive)`.
"""

from __future__ import annotations

from starlette.types import Message, Receive


async def read_body(receive: Receive) -> bytes:
    """Every chunk of the body; what arrived so far if the client leaves first. The request-context middleware's
    checks (size cap, NUL) raise their HTTPException from here."""
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body"):
            return b"".join(chunks)


def replaying(body: bytes, receive: Receive) -> Receive:
    """The body once, as one message; after that the real `receive` (http.disconnect, once the client goes)."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
