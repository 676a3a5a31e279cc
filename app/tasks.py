"""Every job kind and queue this app runs, in one place: importing a domain's task module registers it.

The API process (`app.main`) and `imschart worker` both import this module, so both run the same work.
A new kind of background work is a module that calls `app.jobs.registry.register_kind` (or
`register_queue`) at import, listed here.
"""

from __future__ import annotations

from app.exports import tasks as clinic_export
from app.fhir import tasks as fhir_bulk_export
from app.integrations import delivery as webhook_delivery

REGISTERED = (clinic_export, fhir_bulk_export, webhook_delivery)
