from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.auth.guards import SignedIn, StaffManager
from app.db import SessionDep
from app.kit import audit
from app.kit.errors import problem_responses
from app.kit.etag import IfMatch, set_etag
from app.kit.pagination import Page, PageParamsDep
from app.users import service
from app.users.schemas import Role, UserCreate, UserOut, UserUpdate

router = APIRouter(prefix="/api/v1/users", tags=["staff"])


@router.get("/me", response_model=UserOut, operation_id="getCurrentUser", summary="The signed-in user",
            responses=problem_responses(401))
def me(session: SessionDep, actor: SignedIn, response: Response) -> UserOut:
    user = service.get(session, actor.id)
    set_etag(response, user.version)
    return UserOut.model_validate(user)


@router.post("", status_code=201, response_model=UserOut, operation_id="createUser", summary="Create a staff account",
             responses=problem_responses(401, 403, 409, 422))
def create_user(session: SessionDep, actor: StaffManager, body: UserCreate, response: Response) -> UserOut:
    user = service.create(session, actor, body)
    set_etag(response, user.version)
    response.headers["Location"] = f"/api/v1/users/{user.id}"
    return UserOut.model_validate(user)


@router.get("", response_model=Page[UserOut], operation_id="listUsers", summary="List staff accounts",
            responses=problem_responses(401, 403, 422))
def list_users(session: SessionDep, actor: StaffManager, page: PageParamsDep,
               role: Annotated[Role | None, Query()] = None,
               active: Annotated[bool | None, Query()] = None) -> Page[UserOut]:
    rows, cursor = service.list_users(session, actor, page, role=role, active=active)
    return Page[UserOut](items=[UserOut.model_validate(u) for u in rows], next_cursor=cursor)


@router.get("/{user_id}", response_model=UserOut, operation_id="getUser", summary="Read a staff account",
            responses=problem_responses(401, 403, 404))
def get_user(session: SessionDep, actor: StaffManager, user_id: uuid.UUID, response: Response) -> UserOut:
    user = service.get(session, user_id)
    audit.record(session, actor, "read", resource_type="User", resource_id=user.id, resource_version=user.version)
    set_etag(response, user.version)
    return UserOut.model_validate(user)


@router.patch("/{user_id}", response_model=UserOut, operation_id="updateUser", summary="Update a staff account",
              responses=problem_responses(401, 403, 404, 409, 412, 422, 428))
def update_user(session: SessionDep, actor: StaffManager, user_id: uuid.UUID, body: UserUpdate,
                expected: IfMatch, response: Response) -> UserOut:
    user = service.update(session, actor, service.get(session, user_id), body, expected)
    set_etag(response, user.version)
    return UserOut.model_validate(user)


@router.post("/{user_id}/deactivate", response_model=UserOut, operation_id="deactivateUser",
             summary="Deactivate a staff account and revoke its tokens",
             responses=problem_responses(401, 403, 404, 409))
def deactivate_user(session: SessionDep, actor: StaffManager, user_id: uuid.UUID, response: Response) -> UserOut:
    user = service.deactivate(session, actor, service.get(session, user_id))
    set_etag(response, user.version)
    return UserOut.model_validate(user)
