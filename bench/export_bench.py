"""Whole-clinic export benchmark: the export's memory must stay flat as the clinic grows.

    .venv/bin/python bench/export_bench.py                       # 10,000 and 100,000 treatments on SQLite
    .venv/bin/python bench/export_bench.py --sizes 10000         # one size
    .venv/bin/python bench/export_bench.py --url postgresql+psycopg://postgres@127.0.0.1/postgres --sizes 100000

For each size: a fresh database is migrated and seeded with bulk inserts (in this process, whose memory
does not matter), then the archive is streamed to a temporary file by a *fresh child process*. The child
imports the app and opens its connection first, takes that as its baseline, and reports how far its peak
resident set rose during the export alone (sampled from /proc/self/statm every 5 ms on Linux, else the
getrusage high-water mark; no psutil needed). Flat memory means that increase stays about the same from
10k to 100k treatments. Not a test: a script that prints a table.
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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _peak_rss_mb() -> float:
    # ru_maxrss is KiB on Linux (bytes on macOS).
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _current_rss_mb() -> float | None:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


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


def export_child(url: str) -> dict[str, Any]:
    """Runs in a fresh process: everything but the export itself happens before the baseline is taken."""
    from sqlalchemy import text

    from app import migrate
    from app.db import make_engine
    from app.exports.archive import write_archive

    engine = make_engine(url)
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    migrate.current_revision(engine)  # alembic imported and run once, outside the measurement
    baseline_peak, before = _peak_rss_mb(), _current_rss_mb()
    sampler = _Sampler()
    started = time.perf_counter()
    with sampler, tempfile.TemporaryFile() as out:
        manifest = write_archive(engine, out)
        size = out.tell()
    elapsed = time.perf_counter() - started
    records = sum(f["records"] for f in manifest["files"].values())
    if before is not None and sampler.peak is not None:  # Linux: sampled resident set during the export
        baseline, peak = before, sampler.peak
    else:  # elsewhere: the high-water mark (an import-time peak may hide part of the export's rise)
        baseline, peak = baseline_peak, _peak_rss_mb()
    return {"records": records, "treatments": manifest["files"]["treatments.ndjson"]["records"],
            "seconds": elapsed, "records_per_s": records / elapsed, "baseline_rss_mb": baseline,
            "peak_rss_mb": peak, "peak_increase_mb": peak - baseline, "process_peak_rss_mb": _peak_rss_mb(),
            "zip_mb": size / 1e6}


class _Sampler:
    """Samples the current RSS every 5 ms on a thread while the export runs; keeps the maximum."""

    def __init__(self) -> None:
        import threading

        self.peak: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while True:
            now = _current_rss_mb()
            if now is not None:
                self.peak = max(self.peak or 0.0, now)
            if self._stop.wait(0.005):
                return

    def __enter__(self) -> _Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        now = _current_rss_mb()
        if now is not None:
            self.peak = max(self.peak or 0.0, now)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="PostgreSQL server URL (a fresh database is created per size); "
                                      "default: a temporary SQLite file per size")
    parser.add_argument("--sizes", default="10000,100000", help="treatment counts, comma-separated")
    parser.add_argument("--export-child", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export_child:
        print(json.dumps(export_child(args.export_child)))
        return
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            url = _fresh_pg(args.url, size) if args.url else f"sqlite:///{tmp}/bench.db"
            try:
                seeding = time.perf_counter()
                seed(url, size)
                print(f"seeded {size} treatments in {time.perf_counter() - seeding:.1f}s", file=sys.stderr)
                out = subprocess.run([sys.executable, __file__, "--export-child", url], check=True,
                                     capture_output=True, text=True,
                                     env={**os.environ, "IMS_LOG_LEVEL": "warning"})
                rows.append({"size": size, **json.loads(out.stdout.strip().splitlines()[-1])})
            finally:
                if args.url:
                    _drop_pg(args.url, url)
    print(f"{'treatments':>10} {'records':>9} {'seconds':>8} {'records/s':>10} {'baseline MB':>12} "
          f"{'peak MB':>8} {'increase MB':>12} {'zip MB':>7}")
    for r in rows:
        print(f"{r['treatments']:>10} {r['records']:>9} {r['seconds']:>8.1f} {r['records_per_s']:>10.0f} "
              f"{r['baseline_rss_mb']:>12.1f} {r['peak_rss_mb']:>8.1f} {r['peak_increase_mb']:>12.1f} "
              f"{r['zip_mb']:>7.1f}")


def _fresh_pg(url: str, size: int) -> str:
    from sqlalchemy import create_engine, make_url, text

    name = f"imschart_bench_{size}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _drop_pg(server_url: str, url: str) -> None:
    from sqlalchemy import create_engine, make_url, text

    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


if __name__ == "__main__":
    main()
