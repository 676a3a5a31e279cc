"""The whole-clinic export as a job kind: the worker streams every table into a private zip.

Registered with `app.jobs` at import (`app.tasks` imports this module); the runner claims the job and
calls `run`, and records a failure itself.
"""

from __future__ import annotations

from pathlib import Path

from app.exports.archive import write_archive
from app.jobs import registry
from app.jobs.files import file_sha256, jobs_dir, private_dir, private_file
from app.jobs.outcome import audit_outcome, manifest_counts
from app.jobs.run import JobRun
from app.models.integration import ExportJob


def archive_name(fmt: str, job: ExportJob) -> str:
    return f"imschart-{fmt}-{job.id}.zip"


def run(job_run: JobRun) -> None:
    job = job_run.load()
    target = private_dir(jobs_dir(job_run.data_dir))
    name = archive_name(job.format, job)
    per_table: dict[str, int] = {}

    def progress(table: str, count: int) -> None:
        per_table[table] = count
        job_run.progress(sum(per_table.values()), table)

    with private_file(target / f".{name}.part") as out:
        engine = job_run.factory.kw["bind"]
        manifest = write_archive(engine, out, job.format, job.since, progress=progress)
    (target / f".{name}.part").rename(target / name)
    total = sum(f["records"] for f in manifest["files"].values())
    job_run.complete({"file_name": name, "manifest": manifest, "records_done": total},
                     lambda session, done: audit_outcome(session, done, {
                         "records": total, "files": manifest_counts(manifest), "file": name,
                         "sha256": file_sha256(target / name)}))


def files(data_dir: Path, job: ExportJob) -> list[Path]:
    """The zip (and a partial one) under every name the job could have written."""
    exports = jobs_dir(data_dir)
    names = [job.file_name] if job.file_name else []
    names += [archive_name(fmt, job) for fmt in ("ndjson", "csv")]
    return [exports / n for n in dict.fromkeys(names)] + [exports / f".{n}.part" for n in dict.fromkeys(names)]


registry.register_kind(registry.JobKind("clinic", run=run, files=files))
