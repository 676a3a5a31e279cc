"""The history endpoints every clinical note has, registered once for each kind of note.

`/<notes>/{<note>_id}/history` lists the signed revisions and `/history/{revision}` returns one in full.
Both routers wrote the same two handlers; here they are built from the note's service, so the paths,
parameter names and operation ids clients generate from stay as they were.
"""

from __future__ import annotations

import inspect
import uuid
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy.orm import Session

from app.kit.actor import Actor
from app.kit.clinical_note_service import ClinicalNoteService
from app.kit.clinical_types import RevisionOut
from app.kit.errors import problem_responses


def add_history_routes(router: APIRouter, notes: ClinicalNoteService[Any], *, session_dep: Any, reader: Any, path: str,
                       id_param: str, detail: type[BaseModel], noun: str) -> None:
    """Register `GET <path>/{<id_param>}/history` and `.../history/{revision}` on `router`.

    `session_dep` and `reader` are the Annotated dependencies for the request's session (app.db: the kit does not
    import it, app.db imports the kit) and for authorising a read; `noun` names the operations
    (`listAssessmentRevisions`, `getAssessmentRevision`).
    """

    def list_revisions(session: Session, actor: Actor, **ids: uuid.UUID) -> list[RevisionOut]:
        return notes.history(session, actor, ids[id_param])

    def get_revision(session: Session, actor: Actor, revision: int, **ids: uuid.UUID) -> BaseModel:
        return detail.model_validate(notes.revision(session, actor, ids[id_param], revision))

    keyword = inspect.Parameter.KEYWORD_ONLY
    common = [inspect.Parameter("session", keyword, annotation=session_dep),
              inspect.Parameter("actor", keyword, annotation=reader),
              inspect.Parameter(id_param, keyword, annotation=uuid.UUID)]
    # FastAPI reads parameters from the signature: the path parameter keeps its public name.
    list_revisions.__signature__ = inspect.Signature(common, return_annotation=list[RevisionOut])  # type: ignore[attr-defined]
    get_revision.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [*common, inspect.Parameter("revision", keyword, annotation=int)], return_annotation=detail)
    list_revisions.__name__ = f"{notes.record_type}_history"
    get_revision.__name__ = f"{notes.record_type}_revision"

    router.add_api_route(f"{path}/{{{id_param}}}/history", list_revisions, methods=["GET"],
                         response_model=list[RevisionOut], operation_id=f"list{noun}Revisions",
                         summary="Every signed revision: who, when and why",
                         responses=problem_responses(401, 403, 404))
    router.add_api_route(f"{path}/{{{id_param}}}/history/{{revision}}", get_revision, methods=["GET"],
                         response_model=detail, operation_id=f"get{noun}Revision",
                         summary="One earlier revision, in full", responses=problem_responses(401, 403, 404))
