"""Issue and revoke a therapist's calendar feed; the feed itself is a public, token-addressed URL."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from app.appointments import calendar
from app.auth.guards import SchedulesWriter
from app.db import SessionDep
from app.kit.errors import problem_responses

router = APIRouter(tags=["appointment book"])
FEED = "/api/v1/therapists/{therapist_id}/calendar-feed"


class FeedOut(BaseModel):
    id: uuid.UUID
    therapist_id: uuid.UUID
    url: str
    created_at: datetime


@router.post(FEED, status_code=201, response_model=FeedOut, operation_id="issueCalendarFeed",
             summary="A new iCalendar feed URL for the therapist (shown once; the previous URL stops working)",
             description="Admin, or the therapist for their own. Subscribe to the URL in any calendar app.",
             responses=problem_responses(401, 403, 404))
def issue_feed(request: Request, session: SessionDep, actor: SchedulesWriter, therapist_id: uuid.UUID) -> FeedOut:
    feed, token = calendar.issue(session, actor, therapist_id)
    url = str(request.url_for("calendarFeed", token=token))
    return FeedOut(id=feed.id, therapist_id=therapist_id, url=url, created_at=feed.created_at)


@router.delete(FEED, status_code=204, operation_id="revokeCalendarFeed", summary="Revoke the therapist's feed URL",
               responses=problem_responses(401, 403, 404))
def revoke_feed(session: SessionDep, actor: SchedulesWriter, therapist_id: uuid.UUID) -> Response:
    calendar.revoke(session, actor, therapist_id)
    return Response(status_code=204)


@router.get("/ical/{token}", name="calendarFeed", operation_id="calendarFeed",
            summary="A therapist's appointments as iCalendar (RFC 5545); the token is the credential",
            openapi_extra={"security": []},
            responses={200: {"content": {"text/calendar": {}}, "description": "The calendar"},
                       **problem_responses(404)})
def feed(session: SessionDep, token: str) -> Response:
    return Response(calendar.render(session, token), media_type="text/calendar; charset=utf-8",
                    headers={"Cache-Control": "private, max-age=300"})
