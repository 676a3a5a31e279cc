"""Where one hot read spends its time: cProfile over N sequential requests, in-process (no network).

    .venv/bin/python bench/profile_request.py                     # GET patient, SQLite, 500 requests, top 25
    .venv/bin/python bench/profile_request.py --postgresql --requests 1000
    .venv/bin/python bench/profile_request.py --endpoint chart --requests 200

Seeds two charts of six signed sessions (bench/seed_clinic.py), then profiles the endpoint (GET patient, its
chart, one of its treatments, or a patient search) through the full ASGI stack
(middleware, auth, audit, serialisation) with FastAPI's TestClient, in every thread the app runs in (its
event loop, the threadpool workers, the audit group commit); the caller's thread is not profiled. Wait time
(`acquire` of a lock) is threads waiting on each other: read the app's own CPU from the tottime column.
Not a test: a script that prints a profile.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient

from app.main import create_app
from bench.load_bench import PG_DEFAULT, SECRET, _make_database
from bench.seed_clinic import seed, settings_for


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--postgresql", action="store_true")
    parser.add_argument("--pg-url", default=PG_DEFAULT)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--endpoint", choices=["patient", "chart", "treatment", "search"], default="patient")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="imschart-profile-"))
    url, drop = _make_database(args, workdir)
    try:
        clinic = seed(url, SECRET, workdir / "data", 2, 6, progress=False)
        app = create_app(settings_for(url, SECRET, workdir / "data"))
        p = clinic.patients[0]
        path = {"patient": f"/api/v1/patients/{p['id']}", "chart": f"/api/v1/patients/{p['id']}/chart",
                "treatment": f"/api/v1/treatments/{p['treatments'][0]}",
                "search": f"/api/v1/patients?q={p['family'][:4]}&limit=20"}[args.endpoint]
        headers = {"Authorization": f"Bearer {clinic.therapists[p['owner']]}"}
        profiles: list[cProfile.Profile] = []

        def in_every_new_thread(*_: object) -> None:  # the TestClient's event loop and the threadpool workers
            sys.setprofile(None)
            profile = cProfile.Profile()
            profiles.append(profile)
            profile.enable()

        threading.setprofile(in_every_new_thread)
        started = time.perf_counter()
        with TestClient(app) as client:
            for _ in range(args.requests):
                assert client.get(path, headers=headers).status_code == 200
        elapsed = time.perf_counter() - started
        threading.setprofile(None)  # type: ignore[arg-type]
        app.state.engine.dispose()
        print(f"{args.requests} sequential GET {path} in {elapsed:.2f} s: "
              f"{elapsed / args.requests * 1000:.2f} ms each (profiled, so slower than unprofiled)\n")
        stats = pstats.Stats(*profiles)  # type: ignore[arg-type]
        stats.sort_stats("tottime").print_stats(args.top)
        stats.sort_stats("cumulative").print_stats(args.top)
    finally:
        drop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
