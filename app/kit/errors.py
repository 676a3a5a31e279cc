"""Domain exceptions carry their HTTP status; one set of handlers renders RFC 9457 problem+json."""

from __future__ import annotations

import difflib
import logging
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.kit import db_faults
from app.kit.request_context import FHIR_JSON, PROBLEM_BASE, current_request, current_request_id, operation_outcome

log = logging.getLogger("imschart")

PROBLEM_JSON = "application/problem+json"


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, as every 4xx/5xx body."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None


class DomainError(Exception):
    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str | None = None, *, errors: list[FieldError] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}


class NotAuthenticated(DomainError):
    status, slug, title = 401, "not-authenticated", "Authentication required"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(DomainError):
    status, slug, title = 403, "forbidden", "Not allowed"


class NotFound(DomainError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(DomainError):
    status, slug, title = 409, "conflict", "Conflict"


class PreconditionFailed(DomainError):
    status, slug, title = 412, "stale-version", "The record has changed since you read it"


class PreconditionRequired(DomainError):
    status, slug, title = 428, "if-match-required", "If-Match header required"


class Unprocessable(DomainError):
    status, slug, title = 422, "validation-error", "The request has invalid fields"


class TooManyRequests(DomainError):
    status, slug, title = 429, "too-many-requests", "Too many requests"


class BadRequest(DomainError):
    """A request the server cannot act on as sent (a FHIR bulk kick-off without Prefer: respond-async)."""


class SearchError(DomainError):
    """A FHIR search parameter the server cannot honour (rendered as an OperationOutcome under /fhir)."""

    status, slug, title = 400, "invalid-search", "Invalid search"


class ExportGone(DomainError):
    """A finished export whose files are no longer on disk (cleaned up, or a restore onto a new server)."""

    status, slug, title = 410, "export-gone", "The export's files are no longer available"


class ExportFailed(DomainError):
    """Polling a job that failed. Bulk Data Access IG v2 (status request, error status): "the server SHALL
    return an HTTP status code of 4XX or 5XX ... [with] a FHIR OperationOutcome"; a job that broke on our
    side is a server error, so this is the one place the API answers 5xx by design."""

    status, slug, title = 500, "export-failed", "The export failed"


def field_error(field: str, message: str) -> Unprocessable:
    return Unprocessable(f"{field}: {message}", errors=[FieldError(field=field, message=message)])


def problem_response(status: int, slug: str, title: str, detail: str | None = None,
                     errors: list[FieldError] | None = None,
                     headers: dict[str, str] | None = None) -> JSONResponse:
    info = current_request()
    if info is not None and info.fhir:  # FHIR clients expect an OperationOutcome
        outcome = operation_outcome(status, detail or title, [e.model_dump() for e in errors or []])
        return JSONResponse(outcome, status_code=status, media_type=FHIR_JSON, headers=headers)
    body = Problem(type=PROBLEM_BASE + slug, title=title, status=status, detail=detail,
                   request_id=current_request_id(), errors=errors)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status,
                        media_type=PROBLEM_JSON, headers=headers)


def loc_to_field(loc: tuple[Any, ...] | list[Any]) -> str:
    """('body', 'findings', 2, 'muscle') -> 'findings[2].muscle'."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie", "form"):
        parts = parts[1:]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "body"


FEW_FIELDS = 12  # an unknown field's message lists the allowed ones when there are at most this many


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The model a location step leads into: `X`, `X | None`, `list[X]`, `Annotated[X, ...]` -> X."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = get_origin(annotation)
    if origin is Annotated:
        return _model_of(get_args(annotation)[0])
    if origin in (list, tuple, set, frozenset, Union, UnionType):
        models = {m for m in (_model_of(a) for a in get_args(annotation)) if m is not None}
        return models.pop() if len(models) == 1 else None
    return None


def _allowed_fields(route: Any, loc: tuple[Any, ...] | list[Any]) -> list[str] | None:
    """The field names the body model accepts at the object holding `loc`'s last step, if the route knows."""
    params = getattr(getattr(route, "dependant", None), "body_params", None)
    if not params or not loc or loc[0] != "body":
        return None
    steps = list(loc[1:-1])
    if getattr(route, "_embed_body_fields", False) or len(params) > 1:
        named = {p.alias: p for p in params}
        if not steps or steps[0] not in named:
            return None
        model = _model_of(named[steps.pop(0)].field_info.annotation)
    else:
        model = _model_of(params[0].field_info.annotation)
    for step in steps:
        if model is None:
            return None
        if isinstance(step, int):  # an item of a list the previous step already unwrapped
            continue
        field = next((f for name, f in model.model_fields.items() if (f.alias or name) == step), None)
        model = _model_of(field.annotation) if field is not None else None
    return [f.alias or name for name, f in model.model_fields.items()] if model is not None else None


def unknown_field_message(name: str, allowed: list[str] | None) -> str:
    """'line1' among [lines, city, ...] -> "unknown or server-owned field; did you mean `lines`? ..."."""
    message = "unknown or server-owned field"
    if not allowed:
        return message + "; remove it"
    guess = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
    if guess:
        message += f"; did you mean `{guess[0]}`?"
    if len(allowed) <= FEW_FIELDS:
        message += f" The fields allowed here: {', '.join(allowed)}"
    elif not guess:
        message += "; remove it"
    return message


def _validation_errors(exc: RequestValidationError, route: Any = None) -> tuple[int, str, str, list[FieldError]]:
    errors: list[FieldError] = []
    malformed = False
    for err in exc.errors():
        msg = str(err.get("msg", "invalid"))
        if err.get("type") == "json_invalid":
            malformed = True
            ctx = err.get("ctx") or {}
            errors.append(FieldError(field="body", message=f"{msg}: {ctx.get('error', 'not valid JSON')}"))
            continue
        if err.get("type") == "extra_forbidden":
            loc = err.get("loc", ())
            msg = unknown_field_message(str(loc[-1]) if loc else "", _allowed_fields(route, loc))
        errors.append(FieldError(field=loc_to_field(err.get("loc", ())), message=msg))
    if malformed:
        return 400, "malformed-json", "The request body is not valid JSON", errors
    return 422, Unprocessable.slug, Unprocessable.title, errors


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return problem_response(exc.status, exc.slug, exc.title, exc.detail, exc.errors, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        status, slug, title, errors = _validation_errors(exc, request.scope.get("route"))
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
        return problem_response(status, slug, title, detail, errors)

    @app.exception_handler(StaleDataError)
    async def _stale(_: Request, exc: StaleDataError) -> JSONResponse:
        # Someone else's update committed between our read and our write.
        return problem_response(412, PreconditionFailed.slug, PreconditionFailed.title,
                                "The record was changed by someone else; re-read it and try again")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed", 401: "Authentication required",
                  413: "Request body too large", 415: "Unsupported media type"}
        title = titles.get(exc.status_code, "HTTP error")
        detail = exc.detail if isinstance(exc.detail, str) else None
        if exc.status_code == 422:
            return problem_response(422, Unprocessable.slug, Unprocessable.title, detail,
                                    [FieldError(**e) for e in getattr(exc, "errors", [])] or None)
        return problem_response(exc.status_code, title.lower().replace(" ", "-"), title, detail,
                                headers=getattr(exc, "headers", None))

    @app.exception_handler(SQLAlchemyError)
    async def _database(request: Request, exc: SQLAlchemyError) -> JSONResponse:
        return database_problem(exc, f"{request.method} {request.url.path}")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return internal_error(exc, f"{request.method} {request.url.path}")


def database_problem(exc: BaseException, what: str) -> JSONResponse:
    """A lost uniqueness race is a 409, an outage a 503 with Retry-After; anything else is a logged 500."""
    found = db_faults.classify(exc)
    if found is None:
        return internal_error(exc, what)
    headers = {"Retry-After": str(db_faults.RETRY_AFTER_SECONDS)} if found.status == 503 else None
    return problem_response(found.status, found.slug, found.title, found.detail, headers=headers)


def internal_error(exc: BaseException, what: str) -> JSONResponse:
    db_faults.log_unexpected(log, exc, what)
    return problem_response(500, "internal-error", "Internal server error",  # X-Request-ID: app.kit.boundary
                            "An unexpected error occurred; it has been logged with this request id")


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries so OpenAPI documents each route's problem+json errors."""
    descriptions = {400: "Malformed request", 401: "Missing or invalid bearer token", 403: "Role not allowed",
                    404: "Not found", 409: "Conflict", 412: "Stale If-Match version",
                    422: "Invalid fields", 428: "If-Match header required", 429: "Too many requests"}
    return {s: {"model": Problem, "description": descriptions.get(s, "Error"),
                "content": {PROBLEM_JSON: {}}} for s in statuses}


class CsrfRefused(Forbidden):
    """A browser-session request without its session's CSRF token (app.auth.browser): nothing is written."""

    slug, title = "csrf-refused", "Missing or wrong CSRF token"


class SignInRequired(NotAuthenticated):
    """No live browser session: a redirect to the sign-in page (or 401 for page script)."""
