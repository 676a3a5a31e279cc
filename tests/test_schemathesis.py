"""Schemathesis against the real app and database: the API does what its OpenAPI document says, and no more.

Every operation, with a fixed seed and a small number of examples so the run is bounded, through schemathesis'
examples, fuzzing and stateful phases on each engine, with the conformance checks below. The coverage phase (every
boundary and every invalid value the document allows, about 11,000 requests and three quarters of the time) does
not depend on the seed or the engine, so it runs once: on PostgreSQL, the stricter of the two (out-of-range
integers, NUL bytes and over-long text fail there, where SQLite stores them), or on SQLite when it is the only
engine run. Each engine has its own seed, so the two runs' random cases differ. A failure prints the check, the
operation and a curl command that reproduces it.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events, from_schema
from schemathesis.hooks import GLOBAL_HOOK_DISPATCHER

from tests.conftest import ENGINES
from tests.factories import Staff

CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "negative_data_rejection", "ignored_auth", "use_after_free")
SEEDS = {"sqlite": 20261201, "postgresql": 20261202}
COVERAGE_ENGINE = "postgresql" if "postgresql" in ENGINES else "sqlite"
MAX_EXAMPLES = 5
BUDGET_SECONDS = 600  # a safety net on a busy machine; a normal run takes a fraction of it
LOGOUT = "/api/v1/auth/logout"


def _config(token: str, engine: str) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict({
        "seed": SEEDS[engine],
        "headers": {"Authorization": f"Bearer {token}"},
        "generation": {"max-examples": MAX_EXAMPLES, "database": "none"},
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        "phases": {"examples": {"enabled": True}, "coverage": {"enabled": engine == COVERAGE_ENGINE},
                   "fuzzing": {"enabled": True}, "stateful": {"enabled": True}},
    })


def _before_call(staff: Staff) -> Any:
    """Keep the run meaningful: fresh Idempotency-Keys, and sign-outs that do not end the run's own token.

    Generated keys repeat (the same short string for many bodies), and the API rightly answers a reused key
    with another body with 422 — every later POST would test the idempotency check instead of the route.
    A valid generated key gets a unique suffix (it stays valid); an invalid one is sent as generated.
    """
    counter = itertools.count()

    def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
        headers = case.headers
        if headers:
            for name, value in list(headers.items()):
                if name.lower() == "idempotency-key" and isinstance(value, str) and 1 <= len(value) <= 180:
                    headers[name] = f"{value}-{next(counter)}"
        if case.operation.path == LOGOUT:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {staff('therapist').token}"}

    return before_call


def _failures(event: events.ScenarioFinished) -> list[str]:
    return [f"{check.name} on {event.label}: {check.failure_info.failure.title}\n"
            f"    {check.failure_info.failure.message}\n    {check.failure_info.code_sample}"
            for checks in event.recorder.checks.values() for check in checks if check.failure_info is not None]


@pytest.mark.long
def test_the_api_conforms_to_its_openapi_document(app: FastAPI, staff: Staff, engine_kind: str) -> None:
    member = staff("therapist")  # rostered to needle: the clinical routes run their real rules
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=_config(member.token, engine_kind))
    expected = {f"{method.upper()} {path}" for path, methods in app.openapi()["paths"].items() for method in methods}
    hook = _before_call(staff)
    GLOBAL_HOOK_DISPATCHER.register_hook_with_name(hook, "before_call")
    failures: list[str] = []
    tested: set[str] = set()
    started = time.monotonic()
    try:
        stream = from_schema(schema).execute()
        for event in stream:
            if time.monotonic() - started > BUDGET_SECONDS:
                stream.stop()
                pytest.fail(f"schemathesis did not finish within {BUDGET_SECONDS} s")
            if isinstance(event, events.FatalError):
                pytest.fail(f"schemathesis could not run: {event.exception!r}")
            if isinstance(event, events.NonFatalError):
                failures.append(f"error on {event.label}: {event.value!r}")
            if isinstance(event, events.ScenarioFinished):
                failures += _failures(event)
                if event.recorder.checks:
                    tested.add(event.label)
    finally:
        GLOBAL_HOOK_DISPATCHER.unregister(hook)
    unique = list(dict.fromkeys(failures))
    assert not unique, f"{len(unique)} schemathesis failure(s):\n" + "\n".join(unique[:40])
    assert expected <= tested, f"operations schemathesis never checked: {sorted(expected - tested)}"
