"""Fault soak: the fault-injection suite's probes, for longer and more often than CI can afford.

    .venv/bin/python bench/fault_soak.py                          # SQLite, 5 minutes, kill -9 every 5-20 s
    .venv/bin/python bench/fault_soak.py --engine postgresql --minutes 10
    .venv/bin/python bench/fault_soak.py --engine postgresql --no-kills --outages 6   # stop/freeze only

Runs a real `imschart serve` on a throwaway database (SQLite file, or a private PostgreSQL cluster made
with initdb in a temporary directory on its own port; the machine's shared cluster is never touched),
with concurrent writers registering patients under Idempotency-Keys and retrying until acknowledged.
Meanwhile it kills the server with SIGKILL at random moments (and restarts it), and on PostgreSQL also
stops and freezes (SIGSTOP) the database. At the end it checks what the CI suite checks — every
acknowledged write present once, every key replays, `imschart audit verify` passes, no traceback in the
log — and prints a table of answers and latencies. Exit status 1 if any check failed. Not a test.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from app import migrate
from tests.faults.harness import PrivateCluster, Server, Writers

SECRET = "soak-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--writers", type=int, default=6)
    parser.add_argument("--no-kills", action="store_true", help="no kill -9 of the server")
    parser.add_argument("--outages", type=int, default=4, help="PostgreSQL stops + freezes (alternating)")
    args = parser.parse_args()

    rng = random.Random()
    work = Path(tempfile.mkdtemp(prefix="imschart-soak-"))
    cluster = None
    if args.engine == "postgresql":
        cluster = PrivateCluster()
        cluster.start()
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={cluster.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute("CREATE DATABASE imschart")
        url = cluster.url.rsplit("/", 1)[0] + "/imschart"
        migrate.upgrade(url)
    else:
        url = f"sqlite:///{work / 'soak.db'}"
    server = Server(work, {"IMS_DATABASE_URL": url, "IMS_SECRET_KEY": SECRET, "IMS_DB_CONNECT_TIMEOUT": "2",
                           "IMS_DB_POOL_TIMEOUT": "2", "IMS_DB_STATEMENT_TIMEOUT": "5"})
    failures: list[str] = []
    events: Counter[str] = Counter()
    try:
        server.start()
        writers = Writers(server, server.token(), threads=args.writers, prefix="soak")
        writers.start()
        ends = time.monotonic() + args.minutes * 60
        outage_every = (args.minutes * 60) / (args.outages + 1) if cluster and args.outages else None
        next_outage = time.monotonic() + outage_every if outage_every else None
        while time.monotonic() < ends:
            time.sleep(rng.uniform(5, 20))
            if next_outage and time.monotonic() >= next_outage and cluster is not None:
                if events["stop"] <= events["freeze"]:
                    cluster.stop()
                    time.sleep(rng.uniform(3, 10))
                    cluster.start()
                    events["stop"] += 1
                else:
                    frozen = cluster.freeze()
                    time.sleep(rng.uniform(3, 10))
                    cluster.thaw(frozen)
                    events["freeze"] += 1
                next_outage += outage_every or 0
            elif not args.no_kills:
                server.kill9()
                server.start()
                events["kill -9"] += 1
        writers.stop(within=300)

        acknowledged = [o for o in writers.outcomes if o.patient_id]
        unsettled = [o.key for o in writers.outcomes if not o.patient_id]
        if unsettled:
            failures.append(f"{len(unsettled)} keys never acknowledged: {unsettled[:5]}")
        engine = create_engine(url, poolclass=NullPool)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, given_name FROM patients WHERE family_name = 'Faultline'")).all()
        engine.dispose()
        per_key = Counter(row.given_name for row in rows)
        if dup := {k: n for k, n in per_key.items() if n > 1}:
            failures.append(f"keys that ran more than once: {dup}")
        stored = {row.given_name: str(row.id).replace("-", "") for row in rows}
        if lost := [o.key for o in acknowledged if stored.get(o.key) != (o.patient_id or "").replace("-", "")]:
            failures.append(f"acknowledged writes missing or different: {lost[:5]}")
        with httpx.Client(timeout=10) as client:
            for outcome in rng.sample(acknowledged, min(200, len(acknowledged))):
                again = client.post(f"{server.base}/api/v1/patients", json=writers.body(outcome.key),
                                    headers={**writers.headers, "Idempotency-Key": outcome.key})
                if again.status_code != 201 or again.json().get("id") != outcome.patient_id:
                    failures.append(f"{outcome.key} did not replay: {again.status_code}")
                    break
    finally:
        server.stop()
        verified = server.cli("audit", "verify")
        if cluster is not None:
            cluster.close()
    if verified.returncode != 0:
        failures.append("audit verify failed: " + verified.stdout[-500:])
    log = server.log.read_text()
    if "Traceback" in log:
        failures.append("a traceback in the server log")

    statuses = Counter(status for _, status in writers.latencies)
    times = sorted(t for t, _ in writers.latencies)
    print(f"engine {args.engine}, {args.minutes} min, {args.writers} writers, faults: {dict(events)}")
    print(f"{'writes acknowledged':<28}{len(acknowledged):>10}")
    print(f"{'retried keys':<28}{sum(o.attempts > 1 for o in writers.outcomes):>10}")
    print(f"{'outage log lines':<28}{log.count('database unavailable'):>10}")
    for status, n in sorted(statuses.items()):
        print(f"{'answers ' + (str(status) if status else 'transport error'):<28}{n:>10}")
    if times:
        print(f"{'latency p50 / p99 / max s':<28}{statistics.median(times):>10.3f}"
              f"{times[int(len(times) * 0.99)]:>8.3f}{times[-1]:>8.3f}")
    for failure in failures:
        print("FAILED:", failure)
    print("OK" if not failures else f"{len(failures)} check(s) failed; server log: {server.log}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
