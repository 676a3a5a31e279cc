"""Log hygiene: no patient data in the access log.

A patient search puts names, birth dates and health-card numbers into the query string
(`/api/v1/patients?q=Smith`, `/fhir/Patient?birthdate=...`), and uvicorn's access log would write
them to disk on every request. The access line keeps method, path, status and timing; the query is
withheld. Paths carry only ids.
"""

from __future__ import annotations

import logging

WITHHELD = "?<query withheld>"


class StripQueryStrings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], args[2].split("?", 1)[0] + WITHHELD, *args[3:])
        return True


def install() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, StripQueryStrings) for f in access.filters):
        access.addFilter(StripQueryStrings())
