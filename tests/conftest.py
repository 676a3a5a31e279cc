"""Every test runs once on SQLite and once on PostgreSQL, each on a freshly migrated database."""

from __future__ import annotations

import gc
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi import routing as fastapi_routing
from fastapi.dependencies import models as fastapi_dependency_models
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from app.config import Settings
from app.main import create_app
from tests.databases import TemplateDatabase, pg_available
from tests.factories import Staff

# IMS_TEST_ENGINES=sqlite (or postgresql) runs one engine only; the default and CI run both.
ENGINES = [e.strip() for e in os.environ.get("IMS_TEST_ENGINES", "sqlite,postgresql").split(",") if e.strip()]
TEST_SECRET = "test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"

UNIT = Path(__file__).parent / "unit"


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto` (the default addopts) runs `pytest tests/unit` in this process: it takes under a second, less
    than starting the workers would. Anything else gets xdist's own choice, one worker per core."""
    paths = [Path(arg.split("::")[0]).resolve() for arg in config.args]
    if paths and all(path == UNIT or UNIT in path.parents for path in paths):
        return 0
    return None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The few `long` tests first: started last, one of them alone kept a worker busy minutes after the rest."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Keep the garbage collector off what every test shares, and let it run less often.

    After collection a worker holds the app's modules, FastAPI's shared route handlers and SQLAlchemy's mappers:
    hundreds of thousands of objects that live to the end, which every full collection walked again. Frozen,
    they are never scanned; a test makes well over 50,000 objects, so a larger first threshold still collects
    each test's cycles during the next one. About a tenth less CPU on the API tests (a 745-test slice: user
    61 -> 55 s).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


@pytest.fixture(scope="session", params=ENGINES)
def template_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemplateDatabase]:
    kind = request.param
    if kind == "postgresql" and (reason := pg_available()):
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but unreachable: {reason}")
        pytest.skip(f"PostgreSQL unreachable ({reason}); set IMS_TEST_DATABASE_URL")
    # SQLite's test files live in memory-backed /dev/shm where there is one: the app commits with
    # synchronous=FULL, and an fsync per commit on a shared disk was a large part of every SQLite test.
    shm = Path("/dev/shm")
    workdir = Path(tempfile.mkdtemp(prefix=f"imschart-{kind}-", dir=shm)) if shm.is_dir() else \
        tmp_path_factory.mktemp(kind)
    try:
        template = TemplateDatabase(kind, workdir)
        try:
            yield template
        finally:
            template.close()
    finally:
        if workdir.parent == shm:
            shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def engine_kind(template_db: TemplateDatabase) -> str:
    return template_db.kind


@pytest.fixture
def db_url(template_db: TemplateDatabase) -> Iterator[str]:
    url = template_db.copy()
    yield url
    template_db.drop(url)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(env="test", database_url=db_url, secret_key=TEST_SECRET, data_dir=tmp_path / "data",
                    _env_file=None)  # type: ignore[call-arg]


def _forget_endpoint_classifications() -> None:
    """FastAPI keeps up to 4,096 of its "is this endpoint a coroutine/generator" answers per process, keyed by
    the endpoint itself; the app's closures (one set per `create_app`) hold the whole app. In production there
    is one app; here every test makes one, so without this a worker kept its last ~130 apps and their engines
    alive, and its garbage collector walked them all (workers grew to 3 GB and slowed down as the run went on).
    """
    for value in vars(fastapi_dependency_models).values():
        if callable(getattr(value, "cache_clear", None)):
            value.cache_clear()


SHARED_ROUTE_BUILDS = [0]  # how many shared route handlers this process has built (tests/test_test_apps.py)


def _share_route_state_between_apps() -> None:
    """Build each module-level route's request handler once per test process, not once per test's app.

    FastAPI (0.16x) builds a route's dependency tree, body and response fields and handler lazily, the first
    time a request is matched against the router that holds it, for each app that includes that router: about
    0.3 s per app for all of ours. In production that is once per process; here every test makes an app, and it
    was a third to a half of an ordinary test's time (a full run: 1,419 -> 1,317 worker-seconds; the server,
    browser and concurrency tests do not gain). What is built depends only on the route and where it is mounted (the
    same `create_app` every time); the one thing that names the app, its `dependency_overrides`, is used by no
    test and no code here, so `test_nothing_overrides_dependencies` keeps that true. Routes made inside
    `create_app` (closures) are left alone: they differ per app.
    """
    shared = {id(route) for module in list(sys.modules.values()) if module and module.__name__.startswith("app.")
              for value in vars(module).values() if isinstance(value, APIRouter) for route in value.routes}
    build = fastapi_routing._EffectiveRouteContext.from_api_route.__func__  # type: ignore[attr-defined]
    built: dict[tuple[int, str], Any] = {}

    def from_api_route(cls: Any, *, original_route: Any, include_context: Any) -> Any:
        if id(original_route) not in shared:
            return build(cls, original_route=original_route, include_context=include_context)
        key = (id(original_route), include_context.path_for(original_route))
        if key not in built:
            built[key] = build(cls, original_route=original_route, include_context=include_context)
            SHARED_ROUTE_BUILDS[0] += 1
        return built[key]

    fastapi_routing._EffectiveRouteContext.from_api_route = classmethod(from_api_route)  # type: ignore[method-assign,assignment]


_share_route_state_between_apps()


def _share_compiled_sql_between_engines() -> None:
    """Compile each SQL statement once per test process and engine kind, not once per test's engine.

    SQLAlchemy caches a statement's compiled SQL on its engine, keyed by the engine's dialect object. In
    production that is one engine per process for its life; here every test makes its engines afresh (the app's,
    and its group commit's writer on PostgreSQL), so every test compiled every statement it ran again: about a
    sixth of the ordinary API tests' CPU. App engines made alike (same driver, same arguments, one database
    server) now share one initialised dialect and one cache. A dialect is shared only once it has met its server
    (its first connection set the version-dependent flags the compiler reads); until then an engine keeps its own.
    """
    from sqlalchemy import event
    from sqlalchemy.util import LRUCache

    from app import db as app_db

    create = app_db.create_engine
    shared: dict[str, tuple[Any, Any]] = {}

    def create_engine_sharing(url: Any, **kwargs: Any) -> Any:
        engine = create(url, **kwargs)
        key = repr((engine.url.drivername, engine.url.host, engine.url.port,
                    sorted((k, v) for k, v in kwargs.items() if k != "connect_args")))
        if key in shared:
            engine.dialect, engine._compiled_cache = shared[key]
        else:
            @event.listens_for(engine, "first_connect")  # after the dialect's own initialize
            def _initialised(*_: Any) -> None:
                shared.setdefault(key, (engine.dialect, LRUCache(5000)))

        return engine

    app_db.create_engine = create_engine_sharing  # type: ignore[assignment]


_share_compiled_sql_between_engines()


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    application = create_app(settings)
    yield application
    application.state.engine.dispose()
    _forget_endpoint_classifications()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def db(app: FastAPI, db_url: str) -> Iterator[Session]:
    """A session on the test database, for arranging data and checking what was stored.

    Autocommit, so a test's reads never hold SQLite's write lock while the app handles a request.
    """
    engine = create_engine(db_url, isolation_level="AUTOCOMMIT",
                           connect_args={"timeout": 30} if db_url.startswith("sqlite") else {})
    with Session(engine, info=dict(app.state.sessionmaker.kw["info"])) as session:
        yield session
    engine.dispose()


@pytest.fixture
def staff(app: FastAPI) -> Staff:
    return Staff(app)


@pytest.fixture
def steady_clinic_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    """For tests that count statements: the cached clinic profile is revalidated (one extra SELECT) only when a
    second has passed since its last check, which a slow machine makes happen at random between requests."""
    from app.clinic import service as clinic_service

    monkeypatch.setattr(clinic_service, "REVALIDATE_SECONDS", 3600.0)
