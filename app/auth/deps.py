"""Annotated dependencies: the authenticated actor, and the one permission check every route uses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session
from starlette.datastructures import State

from app.access import policy
from app.auth import api_keys, browser, tokens
from app.auth.permissions import API_CLIENT_SCOPES, ROLE_PERMISSIONS, Permission
from app.db import SessionDep
from app.kit.actor import Actor
from app.kit.errors import NotAuthenticated, TooManyRequests
from app.models.enums import ActorType
from app.models.integration import ApiClient

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def _resolve(state: State, session: Session, raw: str) -> tuple[Actor, ApiClient | None]:
    """The actor behind a bearer credential (401 when it is unknown, revoked, expired or deactivated)."""
    if raw.startswith(api_keys.KEY_PREFIX):
        return api_keys.resolve(session, state.token_key, raw)
    user, token = tokens.resolve(session, state.token_key, state.settings, raw)
    return Actor(id=user.id, type=ActorType.USER, role=user.role, label=user.email,
                 permissions=ROLE_PERMISSIONS.get(user.role, frozenset()), token_id=token.id), None


def current_actor(request: Request, response: Response, session: SessionDep,
                  raw: Annotated[str | None, Depends(oauth2_scheme)]) -> Actor:
    if not raw:
        page = browser.api_actor_from_cookie(request, session)  # a charting page's script (with its CSRF header)
        if page is not None:
            request.state.actor = page.actor
            return page.actor
        raise NotAuthenticated("Send Authorization: Bearer <token> (get one from POST /api/v1/auth/token)")
    state = request.app.state
    actor, client = _resolve(state, session, raw)
    if client is not None:
        # Counted on its own connection before this request's transaction has taken any lock.
        session.commit()
        try:
            rate = api_keys.count_request(state.engine, client)
        except TooManyRequests:
            request.state.rate_limit_headers = None  # the 429 carries its own
            raise
        response.headers.update(rate.headers())
        request.state.rate_limit_headers = rate.headers()  # errors raised later carry them too
    request.state.actor = actor
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]


def principal(state: State, session: Session, authorization: str) -> str | None:
    """Who an Authorization header speaks for, if it is still valid: `user:<id>` or `api_client:<id>`.

    The same checks as `current_actor` (revoked, expired, deactivated), without counting a request
    against the rate limit. Used by the Idempotency-Key middleware: a stored response is replayed only
    to a live credential of the principal that sent the first request (a refreshed token replays too).
    """
    scheme, _, raw = authorization.partition(" ")
    raw = raw.strip()
    if scheme == "Session":  # a charting page's script: its cookie and CSRF header (app.kit.idempotency)
        csrf, _, cookie = raw.partition(" ")
        user_id = browser.principal_of_cookie(state, session, cookie, csrf)
        return f"user:{user_id}" if user_id else None
    if scheme.lower() != "bearer" or not raw:
        return None
    try:
        actor, _ = _resolve(state, session, raw)
    except NotAuthenticated:
        return None
    return f"{actor.type}:{actor.id}"


def Authorize(permission: Permission, *, care: bool = True) -> Any:
    """`Annotated[Actor, Authorize(Permission.X)]`: 403 (and an audited denial) unless the access policy
    allows it. Routes use the named guards in `app.auth.guards` (`ClinicalReader`, ...), each defined once."""

    def check(request: Request, session: SessionDep, actor: CurrentActor) -> Actor:
        policy.authorize(session, request, actor, permission, care=care)  # the one access policy
        return actor

    check.required_permission = permission  # type: ignore[attr-defined]  # read by the route x role test
    return Depends(check)


def required_permission(dependency: Callable[..., Any]) -> Permission | None:
    return getattr(dependency, "required_permission", None)


def reachable_by_api_key(route: APIRoute) -> bool:
    """Could an API client call this route at all (some key's scopes grant its permission)?"""
    granted = {*API_CLIENT_SCOPES, Permission.AUTHENTICATED, Permission.PATIENT_EXPORT}
    declared = [required_permission(dep.call) for dep in route.dependant.dependencies if dep.call is not None]
    return any(p in granted for p in declared if p is not None)
