"""Seed a large clinic fast: a few template charts through the API, then bulk-inserted copies of them.

    .venv/bin/python bench/bulk_seed.py --patients 20000 --treatments 10 --reads 100     # SQLite file in /tmp
    .venv/bin/python bench/bulk_seed.py --url postgresql+psycopg://postgres@127.0.0.1/imschart_big ...

Seeding 20,000 charts through the API (bench/seed_clinic.py) takes hours on a small machine. Here only
`--template` charts go through the API, so every kind of record is exactly what the app writes (signed and
amended assessments with their revisions, signed IMS sessions with six needles and e-stim leads, consents,
screens, outcomes, care relationships, appointments); every other chart is a copy of one of them made with
bulk INSERTs (`executemany`, 5,000 rows a statement): new ids throughout, ids of the chart's own records
remapped, chart numbers and family names made unique. Staff, API keys and the clinic are the template's.

The audit trail grows to match: each copied chart gets copies of its template's audit rows plus `--reads`
extra "read" rows, and every row is linked onto the hash chains (round robin over the chains, each entry's
HMAC computed with the server's key, heads re-signed), so `imschart audit verify` proves the whole trail.
Change events are not copied (the changes feed keeps the template's).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import contextlib

from sqlalchemy import Connection, Table, Uuid, insert, select, update

from app.db import make_engine
from app.kit import audit
from app.models import Base
from app.models.audit import AUDIT_CHAINS, AuditChainHead
from app.models.base import new_id
from app.patients.identifiers import fold
from bench.seed_clinic import Clinic, seed

CHUNK = 5000
SKIP = {"audit_events", "change_events"}  # the trail is copied and chained separately; the feed is not copied


def _chart_tables() -> list[Table]:
    """Tables holding a chart's records, parents before children (foreign-key order)."""
    return [t for t in Base.metadata.sorted_tables
            if (t.name == "patients" or "patient_id" in t.c) and t.name not in SKIP]


def _chunks(rows: Iterator[dict[str, Any]], size: int = CHUNK) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def bulk_seed(url: str, secret: str, data_dir: Path, patients: int, treatments: int = 10, reads: int = 100,
              template: int = 40, progress: bool = True) -> Clinic:
    """A clinic of `patients` charts; returns the template's Clinic with every copied chart added."""
    template = min(template, patients)
    started = time.monotonic()
    clinic = seed(url, secret, data_dir, template, treatments, progress=progress)
    _log(progress, f"template: {template} charts through the API in {time.monotonic() - started:.0f} s")
    copies = patients - template
    if copies <= 0:
        return clinic
    engine = make_engine(url)
    key = audit.audit_key_from_secret(secret)
    tables = _chart_tables()
    with engine.connect() as conn:
        templ = _load_template(conn, tables, clinic)
    chains = _Chains(engine, key)
    t0 = time.monotonic()
    done = 0
    while done < copies:
        batch = min(copies - done, 500)  # charts per transaction
        with engine.begin() as conn:
            _copy_charts(conn, tables, templ, clinic, start=template + done, count=batch, reads=reads, chains=chains)
            chains.save(conn)
        done += batch
        rate = done / (time.monotonic() - t0)
        _log(progress, f"  copied {done}/{copies} charts ({rate:.0f}/s), audit rows so far {chains.written}")
    engine.dispose()
    _log(progress, f"bulk-seeded {patients} charts, {chains.written} audit rows chained, "
                   f"in {time.monotonic() - started:.0f} s")
    return clinic


class _Template:
    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, Any]]] = {}  # table -> rows of the template charts
        self.audit: dict[uuid.UUID, list[dict[str, Any]]] = {}  # template patient id -> its audit rows
        self.order: list[uuid.UUID] = []  # template patient ids
        self.entries: dict[str, dict[str, Any]] = {}  # template patient id -> its load-generator entry


def _load_template(conn: Connection, tables: list[Table], clinic: Clinic) -> _Template:
    templ = _Template()
    templ.order = [uuid.UUID(p["id"]) for p in clinic.patients]
    templ.entries = {p["id"]: p for p in clinic.patients}
    for table in tables:
        templ.rows[table.name] = [dict(r._mapping) for r in conn.execute(select(table))]
    events = Base.metadata.tables["audit_events"]
    for row in conn.execute(select(events).where(events.c.patient_id.is_not(None))):
        templ.audit.setdefault(row.patient_id, []).append(dict(row._mapping))
    return templ


def _copy_charts(conn: Connection, tables: list[Table], templ: _Template, clinic: Clinic, *, start: int, count: int,
                 reads: int, chains: _Chains) -> None:
    by_patient: dict[str, dict[uuid.UUID, list[dict[str, Any]]]] = {}
    for table in tables:
        per: dict[uuid.UUID, list[dict[str, Any]]] = {}
        for row in templ.rows[table.name]:
            per.setdefault(row["id"] if table.name == "patients" else row["patient_id"], []).append(row)
        by_patient[table.name] = per
    uuid_columns = {t.name: [c.key for c in t.columns if isinstance(c.type, Uuid)] for t in tables}
    out: dict[str, list[dict[str, Any]]] = {t.name: [] for t in tables}
    trail: list[dict[str, Any]] = []
    for n in range(start, start + count):
        source = templ.order[n % len(templ.order)]
        ids: dict[uuid.UUID, uuid.UUID] = {}
        for table in tables:  # parents first, so every id a child refers to is already mapped
            for row in by_patient[table.name].get(source, []):
                ids[row["id"]] = new_id()
        for table in tables:
            for row in by_patient[table.name].get(source, []):
                copy = dict(row)
                for name in uuid_columns[table.name]:
                    if copy[name] in ids:
                        copy[name] = ids[copy[name]]
                if table.name == "patients":
                    copy["chart_number"] = f"BULK-{n:06d}"
                    copy["chart_number_norm"] = fold(copy["chart_number"])
                    copy["family_name"] = f"{row['family_name']}{n}"
                    copy["family_name_norm"] = fold(copy["family_name"])
                out[table.name].append(copy)
        new_patient = ids[source]
        template_trail = templ.audit.get(source, [])
        with_id = {str(k): str(v) for k, v in ids.items()}
        for row in template_trail:
            copy = dict(row, id=new_id(), patient_id=new_patient)
            if copy["resource_id"]:
                copy["resource_id"] = with_id.get(copy["resource_id"], copy["resource_id"])
            trail.append(copy)
        if template_trail:
            reader = next((r for r in template_trail if r["action"] == "read"), template_trail[0])
            for i in range(reads):
                trail.append(dict(reader, id=new_id(), patient_id=new_patient, action="read",
                                  resource_type="Patient", resource_id=str(new_patient), resource_version=1,
                                  occurred_at=reader["occurred_at"] + timedelta(minutes=i), detail=None))
        clinic.patients.append(_clinic_entry(templ, clinic, source, new_patient, ids, n))
    for table in tables:
        for chunk in _chunks(iter(out[table.name])):
            conn.execute(insert(table), chunk)
    events = Base.metadata.tables["audit_events"]
    for chunk in _chunks(chains.link(trail)):
        conn.execute(insert(events), chunk)


def _clinic_entry(templ: _Template, clinic: Clinic, source: uuid.UUID, new_patient: uuid.UUID,
                  ids: dict[uuid.UUID, uuid.UUID], n: int) -> dict[str, Any]:
    """The load generator's view of a copied chart: the template's entry with the copy's ids."""
    entry = templ.entries[str(source)]
    copy = dict(entry)
    for name, value in entry.items():
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                copy[name] = str(ids.get(uuid.UUID(value), value))
        elif isinstance(value, list):
            copy[name] = [str(ids.get(uuid.UUID(v), v)) if isinstance(v, str) and _is_uuid(v) else v for v in value]
    copy["id"] = str(new_patient)
    if "family" in entry:
        copy["family"] = f"{entry['family']}{n}"
    return copy


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


class _Chains:
    """The chain heads, advanced in memory as rows are linked and written back with each batch."""

    def __init__(self, engine: Any, key: bytes) -> None:
        self.key = key
        with engine.connect() as conn:
            self.heads = {h.chain: [h.seq, h.hash] for h in conn.execute(select(AuditChainHead))}
        self.written = 0
        self._next = random.randrange(AUDIT_CHAINS)

    def link(self, rows: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for row in rows:
            chain = self._next = (self._next + 1) % AUDIT_CHAINS
            head = self.heads[chain]
            row["chain"], row["seq"], row["prev_hash"] = chain, head[0] + 1, head[1]
            row["hash"] = audit.entry_hash(self.key, SimpleNamespace(**row))  # type: ignore[arg-type]
            head[0], head[1] = row["seq"], row["hash"]
            self.written += 1
            yield row

    def save(self, conn: Connection) -> None:
        fingerprint = audit.key_fingerprint(self.key)
        for chain, (seq, last) in self.heads.items():
            conn.execute(update(AuditChainHead).where(AuditChainHead.chain == chain).values(
                seq=seq, hash=last, signature=audit.head_signature(self.key, chain, seq, last),
                key_fingerprint=fingerprint))


def _log(progress: bool, message: str) -> None:
    if progress:
        print(message, file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="database URL (migrated here); default: a new SQLite file in /tmp")
    parser.add_argument("--secret", default="bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
    parser.add_argument("--patients", type=int, default=20000)
    parser.add_argument("--treatments", type=int, default=10, help="signed IMS sessions per chart")
    parser.add_argument("--reads", type=int, default=100, help="extra audit 'read' rows per copied chart")
    parser.add_argument("--template", type=int, default=40, help="charts seeded through the API")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="imschart-bulk-"))
    url = args.url or f"sqlite:///{workdir}/bulk.db"
    bulk_seed(url, args.secret, workdir / "data", args.patients, args.treatments, args.reads, args.template)
    print(url)


if __name__ == "__main__":
    main()
