"""create_app(): routers, middleware, exception handlers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from datetime import timedelta
from functools import partial

from fastapi import FastAPI

from app import migrate
from app import tasks as _background_work  # noqa: F401  (importing it registers every job kind and queue)
from app.access.router import router as access_router
from app.appointments.calendar_router import router as calendar_router
from app.appointments.router import imports as appointment_imports_router
from app.appointments.router import router as appointments_router
from app.appointments.router import worklists as worklists_router
from app.appointments.setup_router import router as appointment_setup_router
from app.appointments.views_router import router as appointment_views_router
from app.assessments.router import router as assessments_router
from app.audit.router import router as audit_router
from app.auth.api_keys import RateLimitHeadersMiddleware
from app.auth.deps import principal, reachable_by_api_key
from app.auth.router import router as auth_router
from app.auth.tokens import token_key_from_secret
from app.chart.router import router as chart_router
from app.clinic.router import router as clinic_router
from app.config import Settings, get_settings
from app.consents.router import router as consents_router
from app.db import make_engine, make_sessionmaker
from app.episodes.router import router as episodes_router
from app.exports.jobs import router as export_jobs_router
from app.exports.patient_record import router as export_router
from app.fhir.bulk import router as fhir_bulk_router
from app.fhir.router import router as fhir_router
from app.health.router import router as health_router
from app.imports.router import router as imports_router
from app.integrations.changes import router as changes_router
from app.integrations.clients import router as api_clients_router
from app.integrations.webhooks import router as webhooks_router
from app.jobs import loop as worker_loop
from app.kit import docs, logs, openapi
from app.kit.admission import DatabaseAdmission
from app.kit.audit import audit_key_from_secret
from app.kit.boundary import ErrorBoundaryMiddleware, SecurityHeadersMiddleware
from app.kit.errors import install_error_handlers
from app.kit.etag import NotModifiedMiddleware
from app.kit.idempotency import IdempotencyMiddleware
from app.kit.request_context import RequestContextMiddleware
from app.outcomes.router import router as outcomes_router
from app.patients.router import router as patients_router
from app.reference.router import router as reference_router
from app.screenings.red_flags import router as red_flags_router
from app.screenings.router import router as screenings_router
from app.treatments.router import router as treatments_router
from app.users.router import router as users_router
from app.web import router as web

IMPORTS_PREFIX = "/api/v1/imports/"
API_ROUTERS = (auth_router, users_router, patients_router, clinic_router, audit_router, reference_router,
               episodes_router, assessments_router, consents_router, screenings_router, treatments_router,
               outcomes_router, chart_router, api_clients_router, changes_router, webhooks_router,
               export_router, export_jobs_router, imports_router, access_router,
               red_flags_router,
               appointment_setup_router, appointments_router, worklists_router, appointment_views_router,
               calendar_router, appointment_imports_router,
               fhir_bulk_router, fhir_router)  # bulk before the catch-alls


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The embedded default runs the background work (`app.tasks`) in a thread of the API process itself."""
    with ExitStack() as stack:
        if app.state.settings.run_worker_in_process:
            stack.enter_context(worker_loop.in_process(
                app.state.sessionmaker, production=app.state.settings.is_production,
                data_dir=app.state.settings.data_dir))
        yield


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    logging.basicConfig(level=settings.log_level.upper())
    logs.install()
    secret = settings.resolved_secret_key()
    engine = make_engine(settings.sqlalchemy_url, connect_timeout=settings.db_connect_timeout,
                         pool_timeout=settings.db_pool_timeout, statement_timeout=settings.db_statement_timeout)

    app = FastAPI(
        lifespan=_lifespan,
        docs_url=None, redoc_url=None,  # app.kit.docs serves /docs from installed files, not a CDN
        title="IMS Chart API",
        version="1.0.0",
        summary="Treatment records for Gunn IMS (intramuscular stimulation) clinics",
        description="Every route needs `Authorization: Bearer <token>` from `POST /api/v1/auth/token`, "
        "except the health probes. Errors are RFC 9457 `application/problem+json` (under `/fhir`, a FHIR "
        "`OperationOutcome` as `application/fhir+json`). Dates are ISO 8601 text; text never contains NUL.",
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine, audit_key=audit_key_from_secret(secret))
    app.state.token_key = token_key_from_secret(secret)
    app.state.head_revision = migrate.head_revision()

    install_error_handlers(app)
    app.add_middleware(NotModifiedMiddleware)  # innermost: the read and its audit row commit before the 304
    app.add_middleware(RateLimitHeadersMiddleware)
    app.add_middleware(IdempotencyMiddleware, factory=app.state.sessionmaker, principal=partial(principal, app.state),
                       lease=timedelta(seconds=settings.idempotency_lease_seconds))
    # Outside the idempotency claim (a database write of its own): requests queue here holding no thread.
    app.add_middleware(DatabaseAdmission, engine=engine, slot_seconds=settings.db_pool_timeout,
                       writer_seconds=settings.db_statement_timeout, active=settings.max_active_requests)
    app.add_middleware(ErrorBoundaryMiddleware)  # inside the request context: errors carry the request id
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes,
                       larger_bodies={IMPORTS_PREFIX: settings.max_import_bytes})
    app.add_middleware(SecurityHeadersMiddleware)  # outermost: every answer, errors included
    app.include_router(health_router)
    for router in API_ROUTERS:
        app.include_router(router)
    openapi.install(app, reachable_by_api_key=reachable_by_api_key)
    docs.install(app)
    web.install(app)  # the charting pages under /app
    return app
