from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Request, Response

from app.auth import service
from app.auth.guards import SignedIn
from app.auth.passwords import MAX_PASSWORD_LENGTH
from app.auth.schemas import TokenOut
from app.db import SessionDep
from app.kit.errors import problem_responses

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class PasswordForm:
    """OAuth2's password grant, a form (not JSON), with the limits the sign-in applies written in the schema."""

    def __init__(self, username: Annotated[str, Form(min_length=1, max_length=320, description="Your email")],
                 password: Annotated[str, Form(min_length=1, max_length=MAX_PASSWORD_LENGTH,
                                               json_schema_extra={"format": "password"})],
                 grant_type: Annotated[Literal["password"] | None, Form(description="Optional; `password`")] = None,
                 ) -> None:
        self.username, self.password, self.grant_type = username, password, grant_type


@router.post("/token", response_model=TokenOut, operation_id="issueToken",
             summary="Sign in with email and password (OAuth2 password form)",
             responses=problem_responses(401, 422, 429))
def issue_token(request: Request, response: Response, session: SessionDep,
                form: Annotated[PasswordForm, Depends()]) -> TokenOut:
    state = request.app.state
    response.headers["Cache-Control"] = "no-store"
    return service.login(session, state.settings, state.token_key, form.username, form.password)


@router.post("/logout", status_code=204, operation_id="logout", summary="Revoke the token of this request",
             responses=problem_responses(401))
def logout(session: SessionDep, actor: SignedIn) -> Response:
    service.logout(session, actor)
    return Response(status_code=204)
