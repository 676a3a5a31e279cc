"""kill -9 of a real `imschart serve` under concurrent writes, on both engines.

Writers register patients, each under its own Idempotency-Key, and retry every request until it is
acknowledged, as a careful client would; meanwhile the server is killed with SIGKILL at random moments
and restarted. Afterwards every acknowledged write is present and intact, no key ran twice (one
patient per key), every key replays its first response, and `imschart audit verify` passes.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.conftest import TEST_SECRET
from tests.faults.harness import Server, Writers

KILLS = int(os.environ.get("IMS_FAULT_KILLS", "2"))  # each restart costs seconds; bench/fault_soak.py does more


def test_kill_9_under_idempotent_writes_loses_and_duplicates_nothing(db_url: str, tmp_path: Path):
    rng = random.Random()
    server = Server(tmp_path, {"IMS_DATABASE_URL": db_url, "IMS_SECRET_KEY": TEST_SECRET})
    server.start()
    try:
        writers = Writers(server, server.token(), threads=4)
        writers.start()
        for _ in range(KILLS):
            writers.wait_for_progress(rng.randint(3, 12))
            time.sleep(rng.uniform(0.0, 0.2))  # a random moment: mid-request, mid-commit, between requests
            server.kill9()
            time.sleep(rng.uniform(0.0, 0.3))
            server.start()
        writers.wait_for_progress(5)
        writers.stop()

        acknowledged = [o for o in writers.outcomes if o.patient_id]
        assert len(acknowledged) == len(writers.outcomes) >= 10, [o for o in writers.outcomes if not o.patient_id]
        assert sum(o.attempts > 1 for o in writers.outcomes) >= 1, "no request was ever retried: no crash landed"

        engine = create_engine(db_url, poolclass=NullPool)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, given_name, family_name, birth_date FROM patients "
                                     "WHERE family_name = 'Faultline'")).all()
        engine.dispose()
        per_key = Counter(row.given_name for row in rows)
        duplicated = {key: n for key, n in per_key.items() if n > 1}
        assert not duplicated, f"keys that ran more than once: {duplicated}"
        stored = {row.given_name: str(row.id).replace("-", "") for row in rows}
        for outcome in acknowledged:  # the acknowledged patient is the one stored, intact
            assert stored.get(outcome.key) == outcome.patient_id.replace("-", ""), outcome
        assert all(str(row.birth_date).startswith("1970-01-01") for row in rows)
        assert len(rows) == len(acknowledged)

        with httpx.Client(timeout=10) as client:  # every key replays its first answer, once more, now
            for outcome in acknowledged:
                again = client.post(f"{server.base}/api/v1/patients", json=writers.body(outcome.key),
                                    headers={**writers.headers, "Idempotency-Key": outcome.key})
                assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true", again.text
                assert again.json()["id"] == outcome.patient_id
    finally:
        server.stop()
    verified = server.cli("audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    log = server.log.read_text()
    assert "Traceback" not in log, log[-4000:]
