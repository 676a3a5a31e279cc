"""The `imschart` console script."""

from __future__ import annotations

import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from app import migrate as migrations
from app.config import MissingSecretKey, Settings, get_settings
from app.db import make_engine, make_sessionmaker
from app.kit import audit
from app.kit.actor import SYSTEM_ACTOR
from app.kit.db_faults import safe_summary
from app.kit.errors import DomainError
from app.models.audit import AuditEvent
from app.models.base import utcnow
from app.models.user import User
from app.users import service as users
from app.users.schemas import UserCreate

cli = typer.Typer(help="IMS Chart: treatment records for Gunn IMS clinics.", no_args_is_help=True)
audit_cli = typer.Typer(help="Audit trail tools.", no_args_is_help=True)
cli.add_typer(audit_cli, name="audit")


def _settings() -> Settings:
    """The settings, or a message naming each bad IMS_* variable and why (exit status 2)."""
    try:
        return get_settings()
    except ValidationError as exc:
        for problem in exc.errors():
            field = "IMS_" + "_".join(str(p) for p in problem["loc"]).upper() if problem["loc"] else None
            message = str(problem["msg"]).removeprefix("Value error, ")
            typer.echo(f"Configuration error: {field + ': ' if field else ''}{message}", err=True)
        raise typer.Exit(2) from exc


def _sessionmaker(*, create_key: bool = True):  # type: ignore[no-untyped-def]
    settings = _settings()
    engine = make_engine(settings.sqlalchemy_url)
    key = settings.resolved_secret_key(create=create_key)
    return make_sessionmaker(engine, audit_key=audit.audit_key_from_secret(key))


def _existing_sessionmaker():  # type: ignore[no-untyped-def]
    """For commands that work on what exists (audit verify, export): run in the wrong directory, they say so
    instead of creating an empty SQLite database or a new secret key there."""
    settings = _settings()
    url = make_url(settings.sqlalchemy_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") \
            and not Path(str(url.database)).is_file():
        typer.echo(f"No database at {Path(str(url.database)).resolve()}: run this where the server runs, or set "
                   "IMS_DATA_DIR or IMS_DATABASE_URL", err=True)
        raise typer.Exit(2)
    try:
        return _sessionmaker(create_key=False)
    except MissingSecretKey as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc


def _migrate_and_bootstrap() -> None:
    """Under the migration lock: replicas starting together create one bootstrap admin, not one each."""
    settings = _settings()
    try:
        with migrations.migration_lock(settings.sqlalchemy_url):
            migrations.upgrade(settings.sqlalchemy_url, lock=False)
            _bootstrap_admin()
    except OperationalError as exc:
        where = make_url(settings.sqlalchemy_url).render_as_string(hide_password=True)
        typer.echo(f"Cannot reach the database at {where} ({safe_summary(exc)}); check IMS_DATABASE_URL and "
                   "that the server is running", err=True)
        raise typer.Exit(2) from exc


def _bootstrap_admin() -> None:
    settings = _settings()
    email, password = settings.bootstrap_admin_email, settings.bootstrap_admin_password
    if not (email and password):
        return
    with _sessionmaker()() as session, session.begin():
        if session.scalar(select(User.id).limit(1)) is not None:
            return
        try:
            data = UserCreate(email=email, full_name=settings.bootstrap_admin_name, role="admin",
                              password=password.get_secret_value())
        except ValidationError as exc:
            problem = exc.errors()[0]
            name = {"full_name": "name"}.get(str(problem["loc"][0]), str(problem["loc"][0])) if problem["loc"] else ""
            field = "IMS_BOOTSTRAP_ADMIN_" + name.upper() if name else "bootstrap admin"
            typer.echo(f"Bootstrap admin refused: {field}: {problem['msg']}", err=True)
            raise typer.Exit(2) from exc
        users.create(session, SYSTEM_ACTOR, data)
        typer.echo(f"Created the bootstrap admin {email}", err=True)


@cli.command()
def migrate() -> None:
    """Apply pending database migrations."""
    migrations.upgrade(_settings().sqlalchemy_url)
    typer.echo("Database is at the latest schema.")


@cli.command()
def serve(host: Annotated[str, typer.Option()] = "127.0.0.1", port: Annotated[int, typer.Option()] = 8000,
          workers: Annotated[int, typer.Option(min=1)] = 1) -> None:
    """Migrate, create the bootstrap admin on first run, and serve the API."""
    import uvicorn

    _migrate_and_bootstrap()
    uvicorn.run("app.main:create_app", factory=True, host=host, port=port, workers=workers,
                proxy_headers=True, log_level=_settings().log_level)


@cli.command("create-user")
def create_user(
    email: Annotated[str, typer.Option()], name: Annotated[str, typer.Option()],
    role: Annotated[str, typer.Option(help="admin | therapist | reception | auditor")],
    registration_number: Annotated[str | None, typer.Option()] = None,
    authorized_to_needle: Annotated[bool, typer.Option()] = False,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin")] = False,
) -> None:
    """Create a staff account (the password is read from stdin, never from the command line)."""
    if not password_stdin:
        typer.echo("Pass --password-stdin and pipe the password in", err=True)
        raise typer.Exit(2)
    password = sys.stdin.readline().rstrip("\n")
    migrations.upgrade(_settings().sqlalchemy_url)
    try:
        data = UserCreate(email=email, full_name=name, role=role, password=password,  # type: ignore[arg-type]
                          registration_number=registration_number, authorized_to_needle=authorized_to_needle)
    except ValidationError as exc:
        for err in exc.errors():
            typer.echo(f"{'.'.join(map(str, err['loc']))}: {err['msg']}", err=True)
        raise typer.Exit(2) from exc
    try:
        with _sessionmaker()() as session, session.begin():
            user = users.create(session, SYSTEM_ACTOR, data)
    except DomainError as exc:
        typer.echo(str(exc.detail), err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"Created {user.role} {user.email} ({user.id})")


@cli.command()
def worker(interval: Annotated[float, typer.Option(help="Seconds to sleep when there is nothing to do")] = 1.0
           ) -> None:
    """Run background work (webhook delivery, exports) until stopped; run one or more beside the API processes."""
    from app import tasks  # noqa: F401  (importing it registers every job kind and queue)
    from app.jobs.loop import run_forever

    settings = _settings()
    migrations.upgrade(settings.sqlalchemy_url)
    typer.echo("imschart worker: delivering webhooks and running exports", err=True)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):  # finish the current pass, then record the stop
        signal.signal(signum, lambda *_: stop.set())
    run_forever(_sessionmaker(), interval=interval, production=settings.is_production,
                data_dir=settings.data_dir, stop=stop, kind="worker")
    typer.echo("imschart worker: stopped", err=True)


@cli.command("export")
def export_clinic(out: Annotated[Path, typer.Option(help="Directory to write the archive into")],
                  format: Annotated[str, typer.Option(help="ndjson (restorable) or csv")] = "ndjson",
                  since: Annotated[datetime | None, typer.Option(help="Only records changed after (UTC)")] = None
                  ) -> None:
    """Export the whole clinic to a zip (one file per record type + manifest.json), without the server.

    The export goes on the audit trail (actor: the system) with its counts, file path and sha256."""
    from app.exports.archive import write_archive
    from app.jobs.files import file_sha256, private_file
    from app.jobs.outcome import manifest_counts

    if format not in ("ndjson", "csv"):
        typer.echo("--format must be ndjson or csv", err=True)
        raise typer.Exit(2)
    factory = _existing_sessionmaker()
    out.mkdir(parents=True, exist_ok=True)
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    path = (out / f"imschart-{format}-{stamp}.zip").resolve()
    since = since.replace(tzinfo=UTC) if since and since.tzinfo is None else since
    try:
        with private_file(path) as fh:  # 0600: the archive holds every chart
            manifest = write_archive(factory.kw["bind"], fh, format, since)
        sha256 = file_sha256(path)
        total = sum(f["records"] for f in manifest["files"].values())
        with factory() as session, session.begin():
            audit.record(session, SYSTEM_ACTOR, "export", resource_type="Clinic",
                         actor_label="imschart export (CLI)",
                         detail={"scope": "clinic", "via": "cli", "format": format,
                                 "since": since.isoformat() if since else None, "records": total,
                                 "files": manifest_counts(manifest), "file": str(path), "sha256": sha256,
                                 "exported_at": manifest["exported_at"]})
    finally:
        factory.kw["bind"].dispose()
    typer.echo(f"Wrote {total} records to {path} (sha256 {sha256})")


@cli.command("import-archive")
def import_archive_command(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Restore a whole-clinic NDJSON archive into an empty database (backup restore, SQLite <-> PostgreSQL)."""
    from app.exports.archive import ArchiveError, import_archive

    settings = _settings()
    migrations.upgrade(settings.sqlalchemy_url)
    try:
        counts = import_archive(make_engine(settings.sqlalchemy_url), file)
    except ArchiveError as exc:
        typer.echo(f"Refused: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"Restored {sum(counts.values())} records from {file.name}; run `imschart audit verify` "
               "(it needs the IMS_SECRET_KEY the archive was written with)")


@audit_cli.command("verify")
def audit_verify() -> None:
    """Check the audit trail's hash chains; exit 1 if any entry was altered or removed, 2 if it cannot be
    checked (no database, no key, or not the key the trail was written with). Changes nothing."""
    factory = _existing_sessionmaker()
    key: bytes = factory.kw["info"]["audit_key"]
    try:
        with factory() as session:
            wrong_key = audit.written_with_another_key(session, key)
        if wrong_key:
            typer.echo(f"Audit trail NOT checked: {wrong_key}", err=True)
            raise typer.Exit(2)
        problems = altered = 0
        with factory() as session:
            for problem in audit.verify(session, key):
                problems += 1
                altered += "altered" in problem.message
                typer.echo(f"chain {problem.chain} seq {problem.seq}: {problem.message}", err=True)
            entries = session.scalar(select(func.count()).select_from(AuditEvent)) if altered else 0
    finally:
        factory.kw["bind"].dispose()
    if problems:
        if altered and altered == entries:
            typer.echo("Every entry reads as altered: is IMS_SECRET_KEY the key the trail was written with?",
                       err=True)
        typer.echo(f"Audit trail FAILED verification: {problems} problem(s)", err=True)
        raise typer.Exit(1)
    typer.echo("Audit trail verified: every chain is intact.")


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
