"""API clients: create (the key is shown once), list, read, revoke."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth import api_keys
from app.auth.guards import IntegrationsManager
from app.auth.tokens import hash_token
from app.db import SessionDep
from app.integrations.client_schemas import ApiClientCreate, ApiClientCreated, ApiClientOut
from app.kit import audit
from app.kit.errors import Conflict, problem_responses
from app.kit.repository import get_or_404
from app.models.base import utcnow
from app.models.integration import ApiClient

router = APIRouter(prefix="/api/v1/api-clients", tags=["integrations"])


def _out(client: ApiClient) -> ApiClientOut:
    return ApiClientOut.model_validate({**{f: getattr(client, f) for f in ApiClientOut.model_fields if f != "active"},
                                        "active": client.revoked_at is None})


def _get(session: Session, client_id: uuid.UUID) -> ApiClient:
    return get_or_404(session, ApiClient, client_id, "API client")


@router.post("", status_code=201, response_model=ApiClientCreated, operation_id="createApiClient",
             summary="Register an integration; the key is in this response only",
             responses=problem_responses(401, 403, 422))
def create_api_client(request: Request, session: SessionDep, actor: IntegrationsManager, body: ApiClientCreate,
                      response: Response) -> ApiClientCreated:
    key = api_keys.new_key()
    client = ApiClient(name=body.name, scopes=sorted(set(body.scopes)),
                       rate_limit_per_minute=body.rate_limit_per_minute,
                       key_hash=hash_token(request.app.state.token_key, key), key_prefix=key[:12],
                       created_by=actor.id)
    session.add(client)
    session.flush()
    audit.record(session, actor, "create", resource_type="ApiClient", resource_id=client.id,
                 detail={"scopes": client.scopes})
    response.headers["Cache-Control"] = "no-store"
    response.headers["Location"] = f"/api/v1/api-clients/{client.id}"
    return ApiClientCreated(**_out(client).model_dump(), key=key)


@router.get("", response_model=list[ApiClientOut], operation_id="listApiClients", summary="Registered integrations",
            responses=problem_responses(401, 403))
def list_api_clients(session: SessionDep, _: IntegrationsManager) -> list[ApiClientOut]:
    clients: Sequence[ApiClient] = session.scalars(select(ApiClient).order_by(ApiClient.created_at)).all()
    return [_out(c) for c in clients]


@router.get("/{client_id}", response_model=ApiClientOut, operation_id="getApiClient", summary="One integration",
            responses=problem_responses(401, 403, 404))
def get_api_client(session: SessionDep, _: IntegrationsManager, client_id: uuid.UUID) -> ApiClientOut:
    return _out(_get(session, client_id))


@router.post("/{client_id}/revoke", response_model=ApiClientOut, operation_id="revokeApiClient",
             summary="Revoke a key: it stops working at once", responses=problem_responses(401, 403, 404, 409))
def revoke_api_client(session: SessionDep, actor: IntegrationsManager, client_id: uuid.UUID) -> ApiClientOut:
    client = _get(session, client_id)
    if client.revoked_at is not None:
        raise Conflict("This key is already revoked")
    client.revoked_at = utcnow()
    session.flush()
    audit.record(session, actor, "revoke", resource_type="ApiClient", resource_id=client.id)
    return _out(client)
