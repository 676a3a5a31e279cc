"""Whole-clinic export benchmark: peak memory must stay flat as the clinic grows.

    .venv/bin/python bench/export_bench.py                 # 10,000 and 100,000 treatments on SQLite
    .venv/bin/python bench/export_bench.py --url postgresql+psycopg://postgres@127.0.0.1/bench --sizes 100000

Each size runs in its own process (peak RSS is per process) on a freshly migrated database seeded with
bulk inserts, then streams the archive to a temporary file and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def seed(url: str, treatments: int) -> None:
    from sqlalchemy import insert

    from app import migrate
    from app.db import make_engine
    from app.models import Episode, Patient, Treatment, User
    from app.models.base import new_id

    migrate.upgrade(url)
    engine = make_engine(url)
    now = datetime.now(UTC)
    patients = max(1, treatments // 20)
    with engine.begin() as conn:
        user_id = new_id()
        conn.execute(insert(User), [{"id": user_id, "email": "bench@clinic.example", "full_name": "Bench",
                                     "role": "therapist", "password_hash": "x", "authorized_to_needle": True,
                                     "active": True, "version": 1, "created_at": now, "updated_at": now}])
        pids, eids = [], []
        for start in range(0, patients, 5000):
            rows = []
            for i in range(start, min(patients, start + 5000)):
                pid = new_id()
                pids.append(pid)
                rows.append({"id": pid, "chart_number": f"B{i:07d}", "given_name": "Bench", "family_name": f"P{i}",
                             "birth_date": datetime(1970, 1, 1).date(), "active": True, "version": 1,
                             "created_at": now, "updated_at": now, "family_name_norm": f"p{i}",
                             "given_name_norm": "bench", "chart_number_norm": f"b{i:07d}"})
            conn.execute(insert(Patient), rows)
        for start in range(0, patients, 5000):
            rows = []
            for pid in pids[start:start + 5000]:
                eid = new_id()
                eids.append(eid)
                rows.append({"id": eid, "patient_id": pid, "conditions": ["sciatica"], "goals": [], "status": "open",
                             "created_by": user_id, "version": 1, "created_at": now, "updated_at": now})
            conn.execute(insert(Episode), rows)
        content = {"started_at": now.isoformat(), "position": "prone", "pre_pain_nprs": 6, "post_pain_nprs": 3,
                   "needles": [{"muscle": "gluteus_medius", "level": "L5", "side": "left", "kind": "peripheral",
                                "insertions": 3, "responses": ["local_twitch"], "e_stim": None}] * 6,
                   "needles_inserted": 6, "needles_removed": 6, "adverse_events": []}
        for start in range(0, treatments, 5000):
            conn.execute(insert(Treatment), [
                {"id": new_id(), "patient_id": pids[i % patients], "episode_id": eids[i % patients],
                 "author_id": user_id, "status": "signed", "content": content, "revision": 1, "version": 2,
                 "started_at": now - timedelta(days=i % 365), "created_at": now, "updated_at": now}
                for i in range(start, min(treatments, start + 5000))])
    engine.dispose()


def run_one(url: str, treatments: int) -> dict[str, float]:
    from app.db import make_engine
    from app.exports.archive import write_archive

    seed(url, treatments)
    engine = make_engine(url)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        manifest = write_archive(engine, out)
        size = out.tell()
    elapsed = time.perf_counter() - started
    records = sum(f["records"] for f in manifest["files"].values())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"treatments": treatments, "records": records, "seconds": elapsed, "records_per_s": records / elapsed,
            "peak_rss_mb": peak / 1024, "rss_before_export_mb": before / 1024, "zip_mb": size / 1e6}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", help="database URL (default: a temporary SQLite file per size)")
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args.url, args.child)))
        return
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            url = args.url or f"sqlite:///{tmp}/bench.db"
            if args.url and url.startswith("postgresql"):
                url = _fresh_pg(url, size)
            out = subprocess.run([sys.executable, __file__, "--url", url, "--child", str(size)], check=True,
                                 capture_output=True, text=True, env={**os.environ, "IMS_LOG_LEVEL": "warning"})
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{'treatments':>10} {'records':>9} {'seconds':>8} {'records/s':>10} {'peak RSS MB':>12} {'zip MB':>7}")
    for r in rows:
        print(f"{r['treatments']:>10} {r['records']:>9} {r['seconds']:>8.1f} {r['records_per_s']:>10.0f} "
              f"{r['peak_rss_mb']:>12.1f} {r['zip_mb']:>7.1f}")


def _fresh_pg(url: str, size: int) -> str:
    from sqlalchemy import create_engine, make_url, text

    name = f"imschart_bench_{size}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


if __name__ == "__main__":
    main()
