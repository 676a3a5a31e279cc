from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from app.auth import service
from app.auth.deps import Authorize
from app.auth.permissions import Permission
from app.auth.schemas import TokenOut
from app.db import SessionDep
from app.kit.actor import Actor
from app.kit.errors import problem_responses

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post("/token", response_model=TokenOut, operation_id="issueToken",
             summary="Sign in with email and password (OAuth2 password form)",
             responses=problem_responses(401, 422, 429))
def issue_token(request: Request, response: Response, session: SessionDep,
                form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> TokenOut:
    state = request.app.state
    response.headers["Cache-Control"] = "no-store"
    return service.login(session, state.settings, state.token_key, form.username, form.password)


@router.post("/logout", status_code=204, operation_id="logout", summary="Revoke the token of this request",
             responses=problem_responses(401))
def logout(session: SessionDep, actor: Annotated[Actor, Authorize(Permission.AUTHENTICATED)]) -> Response:
    service.logout(session, actor)
    return Response(status_code=204)
