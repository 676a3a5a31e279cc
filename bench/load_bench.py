"""Load benchmark: a seeded clinic behind `imschart serve`, driven over real HTTP, beside two floors.

    .venv/bin/python bench/load_bench.py                          # SQLite, 300 full charts, 16 connections
    .venv/bin/python bench/load_bench.py --postgresql             # same on a throwaway PostgreSQL database
    .venv/bin/python bench/load_bench.py --patients 20000 --treatments 10 --bulk   # the large clinic
    .venv/bin/python bench/load_bench.py --workers 2 --seconds 20 --only mix

One run: seed a fresh database (bench/seed_clinic.py through the API; with --bulk, bench/bulk_seed.py: 40
template charts through the API, the rest bulk-copied with their chained audit trail), then for each workload
start the process under test, drive it for --seconds with --connections keep-alive connections
(bench/httpload.py) and stop it. The two
floors run the same way in the same run: a bare Starlette app returning the very bytes of a GET patient, and a
naive FastAPI + SQLAlchemy app reading the same row without auth or audit (bench/floors.py). Absolute numbers
on a shared machine drift; the ratios to the floors are the figures to compare between runs. The load
generator runs on the same machine and takes CPU of its own; it is cheap but not free, which caps the floors
first. Not a test: a script that prints a table.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import gil_profile, httpload  # noqa: E402
from bench.bulk_seed import bulk_seed  # noqa: E402
from bench.httpload import Request  # noqa: E402
from bench.seed_clinic import Clinic, seed, treatment_body  # noqa: E402
from bench.targets import BASELINE, Row, baseline_ratio, verdicts  # noqa: E402

SECRET = "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
WORKLOADS = ["floor-bare", "floor-naive", "get-patient", "get-chart", "get-treatment", "search", "post-patient",
             "mix"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(port: int, proc: subprocess.Popen[bytes], path: str = "/healthz", limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2):
                return
        except Exception:
            time.sleep(0.2)
    raise SystemExit("server not ready in time")


def _tree(pid: int) -> list[int]:
    """A process and its children (uvicorn --workers forks)."""
    pids = [pid]
    with contextlib.suppress(OSError):
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return pids


def _cpu_seconds(pid: int) -> float:
    """User + system CPU used so far by a process and its children, from /proc (0 where there is none)."""
    total = 0
    for p in _tree(pid):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn --workers forks), from /proc."""
    total = 0.0
    for p in _tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            continue
    return total


class Server:
    """Start a process under test on a free port; stop it (only it) afterwards."""

    def __init__(self, argv: list[str], env: dict[str, str], probe: str) -> None:
        self.port = _free_port()
        self.proc = subprocess.Popen([a.replace("{port}", str(self.port)) for a in argv], cwd=ROOT,
                                     env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _wait_ready(self.port, self.proc, probe)

    def stop(self) -> float:
        rss = _rss_mb(self.proc.pid)
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return rss


def _h(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


class Mix:
    """Request generators over the seeded clinic; `rng` is seeded so runs draw the same sequence."""

    def __init__(self, clinic: Clinic) -> None:
        self.c = clinic
        self.rng = random.Random(13)
        self.cursor = "0"
        self.created = 0

    def _patient(self) -> dict[str, Any]:
        return self.rng.choice(self.c.patients)

    def get_patient(self) -> Request:
        p = self._patient()
        return Request("GET patient", "GET", f"/api/v1/patients/{p['id']}", _h(self.c.therapists[p["owner"]]))

    def get_chart(self) -> Request:
        p = self._patient()
        return Request("GET chart", "GET", f"/api/v1/patients/{p['id']}/chart", _h(self.c.therapists[p["owner"]]))

    def get_treatment(self) -> Request:
        p = self._patient()
        return Request("GET treatment", "GET", f"/api/v1/treatments/{self.rng.choice(p['treatments'])}",
                       _h(self.c.therapists[p["owner"]]))

    def search(self, who: str = "therapist") -> Request:
        p = self._patient()
        token = self.c.reception if who == "reception" else self.c.therapists[p["owner"]]
        return Request("search patients", "GET", f"/api/v1/patients?q={p['family'][:4]}&limit=20", _h(token))

    def post_patient(self) -> Request:
        self.created += 1
        n = self.created
        return Request("POST patient", "POST", "/api/v1/patients", _h(self.c.reception), {
            "given_name": "Walk", "family_name": f"In{n}", "birth_date": "1980-02-29", "sex_at_birth": "female",
            "phone": f"905-555-{n % 10000:04d}"})

    def treat_and_sign(self) -> Request:
        p = self._patient()
        headers = _h(self.c.therapists[p["owner"]])

        def sign(status: int, body: bytes) -> Request | None:
            tid = json.loads(body)["id"]
            return Request("POST treatment sign", "POST", f"/api/v1/treatments/{tid}/sign", headers)

        return Request("POST treatment", "POST", f"/api/v1/patients/{p['id']}/treatments", headers,
                       treatment_body(p["episode"]), then=sign)

    def changes(self) -> Request:
        def advance(status: int, body: bytes) -> None:
            self.cursor = json.loads(body)["next_cursor"]

        return Request("GET changes", "GET", f"/api/v1/changes?after={self.cursor}&limit=100",
                       _h(self.c.integrator), then=advance)  # type: ignore[arg-type]

    def mix(self) -> Request:
        """~80 % reads / ~20 % writes by request: therapists chart, reception registers, one integrator syncs."""
        draw = self.rng.random()
        for upto, make in ((0.22, self.get_chart), (0.36, self.get_patient), (0.50, self.get_treatment),
                           (0.60, self.search), (0.68, lambda: self.search("reception")), (0.78, self.changes),
                           (0.88, self.treat_and_sign), (1.0, self.post_patient)):
            if draw < upto:
                return make()
        return self.get_patient()


def _make_database(args: argparse.Namespace, workdir: Path) -> tuple[str, Callable[[], None]]:
    if not args.postgresql:
        return f"sqlite:///{workdir / 'bench.db'}", lambda: None
    import psycopg
    from sqlalchemy import make_url

    admin = make_url(args.pg_url)
    name = f"imschart_bench_{os.getpid()}"
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return admin.set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=300, help="full charts to seed (default 300)")
    parser.add_argument("--treatments", type=int, default=6, help="signed sessions per chart (default 6)")
    parser.add_argument("--bulk", action="store_true",
                        help="seed with bench/bulk_seed.py (40 charts through the API, the rest copied): minutes, "
                             "not hours, for 20,000 charts")
    parser.add_argument("--reads", type=int, default=100, help="--bulk: extra audit 'read' rows per copied chart")
    parser.add_argument("--postgresql", action="store_true", help="run on a throwaway PostgreSQL database")
    parser.add_argument("--both", action="store_true",
                        help="SQLite, then PostgreSQL, and a last table of both side by side with issue 13's")
    parser.add_argument("--pg-url", default=os.environ.get("IMS_TEST_DATABASE_URL", PG_DEFAULT))
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0, help="per workload")
    parser.add_argument("--workers", type=int, default=1, help="imschart serve --workers")
    parser.add_argument("--only", nargs="*", choices=WORKLOADS, help="run only these workloads")
    parser.add_argument("--profile", action="store_true",
                        help="record each served workload with py-spy (pip install py-spy) and print where its "
                             "GIL time went (bench/gil_profile.py); sampling pauses the server: take req/s from a "
                             "run without it")
    parser.add_argument("--log-level", default="warning", help="server log level (info adds an access log line)")
    args = parser.parse_args()

    runs: dict[str, list[Row]] = {}
    for postgresql in ([False, True] if args.both else [args.postgresql]):
        args.postgresql = postgresql
        workdir = Path(tempfile.mkdtemp(prefix="imschart-bench-"))
        url, drop = _make_database(args, workdir)
        try:
            engine = "postgresql" if postgresql else "sqlite"
            runs[engine] = _bench(args, url, workdir, engine)
        finally:
            drop()
            shutil.rmtree(workdir, ignore_errors=True)  # the SQLite file of a 20,000-chart run is ~3 GB
    if len(runs) == 2:
        _print_side_by_side(runs, args)


def _bench(args: argparse.Namespace, url: str, workdir: Path, engine: str) -> list[Row]:
    print(f"seeding {args.patients} charts on {engine} ...", file=sys.stderr, flush=True)
    started = time.monotonic()
    if args.bulk:
        clinic = bulk_seed(url, SECRET, workdir / "data", args.patients, args.treatments, reads=args.reads)
    else:
        clinic = seed(url, SECRET, workdir / "data", args.patients, args.treatments)
    print(f"seeded in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    mix = Mix(clinic)
    env = {"IMS_ENV": "development", "IMS_DATABASE_URL": url, "IMS_SECRET_KEY": SECRET,
           "IMS_DATA_DIR": str(workdir / "data"), "IMS_LOG_LEVEL": args.log_level,
           "IMS_TOKEN_IDLE_MINUTES": "1440", "IMS_WORKER_IN_PROCESS": "false"}
    imschart = str(Path(sys.executable).with_name("imschart"))
    serve = [imschart, "serve", "--port", "{port}", "--workers", str(args.workers)]
    # The floors run one process each: they are the per-process ceiling the server is compared with.
    uvicorn = [sys.executable, "-m", "uvicorn", "--port", "{port}", "--log-level", "warning", "--factory"]
    sample = clinic.patients[0]
    body_file = workdir / "patient.json"
    plan: list[tuple[str, list[str], str, Callable[[], Request]]] = [
        ("floor-bare", [*uvicorn, "bench.floors:bare"], "/x", lambda: Request("bare bytes", "GET", "/x")),
        ("floor-naive", [*uvicorn, "bench.floors:naive"], f"/api/v1/patients/{sample['id']}",
         lambda: Request("naive row", "GET", f"/api/v1/patients/{mix._patient()['id']}")),
        ("get-patient", serve, "/healthz", mix.get_patient),
        ("get-chart", serve, "/healthz", mix.get_chart),
        ("get-treatment", serve, "/healthz", mix.get_treatment),
        ("search", serve, "/healthz", mix.search),
        ("post-patient", serve, "/healthz", mix.post_patient),
        ("mix", serve, "/healthz", mix.mix),
    ]
    body_file.write_bytes(_patient_bytes(serve, env, clinic))
    floor_env = {**env, "BENCH_BODY": str(body_file), "BENCH_DATABASE_URL": url}
    table: list[Row] = []
    memory: dict[str, float] = {}
    profiles: dict[str, list[str]] = {}
    for name, argv, probe, gen in plan:
        if args.only and name not in args.only and not name.startswith("floor"):
            continue
        server = Server(argv, floor_env if name.startswith("floor") else env, probe)
        try:  # a short warm-up first (imports, connection pools, caches), not counted
            warm = min(2.0, args.seconds / 5)
            httpload.run("127.0.0.1", server.port, gen, connections=args.connections, seconds=warm)
            recorder = gil_profile.Recorder(server.proc.pid, args.seconds - 1, workdir / f"{name}.pyspy") \
                if args.profile and not name.startswith("floor") else None
            cpu_before = _cpu_seconds(server.proc.pid)
            result = httpload.run("127.0.0.1", server.port, gen, connections=args.connections, seconds=args.seconds)
            cpu = _cpu_seconds(server.proc.pid) - cpu_before
            if recorder is not None:
                profiles[name] = gil_profile.report(recorder.parts())
        finally:
            memory[name] = server.stop()
        answered = sum(len(lat) for lat in result.latencies.values())
        cpu_ms = 1000 * cpu / answered if answered else None
        table += [Row(name, *row, cpu_ms=cpu_ms if row[0] == "all" or len(result.latencies) == 1 else None)
                  for row in result.rows()]
        for label, statuses in result.statuses.items():
            bad = {s: n for s, n in statuses.items() if s >= 400}
            if bad:
                print(f"  {name} / {label}: error statuses {bad}", file=sys.stderr)
    _print(table, memory, args, engine)
    for name, lines in profiles.items():
        print(f"\nWhere {name}'s server spent its GIL time (py-spy --gil, {engine}):", *lines, sep="\n")
    return table


def _patient_bytes(serve: list[str], env: dict[str, str], clinic: Clinic) -> bytes:
    """The exact body a therapist gets for GET patient: what the bare floor answers with."""
    server = Server(serve, env, "/healthz")
    try:
        p = clinic.patients[0]
        req = urllib.request.Request(f"http://127.0.0.1:{server.port}/api/v1/patients/{p['id']}",
                                     headers=_h(clinic.therapists[p["owner"]]))
        with urllib.request.urlopen(req, timeout=10) as response:
            body: bytes = response.read()
            return body
    finally:
        server.stop()


def _print(table: list[Row], memory: dict[str, float], args: argparse.Namespace, engine: str) -> None:
    naive = next((r.rate for r in table if r.workload == "floor-naive"), None)
    bare = next((r.rate for r in table if r.workload == "floor-bare"), None)
    print(f"\n{engine}, {args.patients} charts x {args.treatments} sessions, {args.connections} connections, "
          f"{args.seconds:g} s per workload, imschart serve --workers {args.workers}\n")
    print(f"{'workload':<14} {'endpoint':<20} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'errors':>6} {'÷naive':>7} {'÷bare':>7} {'issue ÷naive':>12} {'CPU ms/req':>10} {'RSS MB':>7}")
    shown: set[str] = set()
    for r in table:
        ratio_naive = f"{r.rate / naive:.2f}" if naive else "-"
        ratio_bare = f"{r.rate / bare:.3f}" if bare else "-"
        then = baseline_ratio(r.workload, engine, args.workers) if r.label == "all" or r.workload != "mix" else "-"
        cpu = f"{r.cpu_ms:.2f}" if r.cpu_ms is not None else ""
        rss = f"{memory.get(r.workload, 0):.0f}" if r.workload not in shown else ""
        shown.add(r.workload)
        print(f"{r.workload:<14} {r.label:<20} {r.count:>8} {r.rate:>8.0f} {r.p50:>8.1f} {r.p99:>8.1f} "
              f"{r.errors:>6} {ratio_naive:>7} {ratio_bare:>7} {then:>12} {cpu:>10} {rss:>7}")
    print("\n÷naive / ÷bare: this row's req/s over the floor's, measured in this run. issue ÷naive: the same ratio "
          "in issue 13's table (the first release), to compare with ÷naive. CPU ms/req: CPU used by the process "
          "under test (all its workers) per answered request, during the measured seconds. RSS: the serving "
          "process(es) at the end.\n\nTargets (issue 13), this run:")
    for line in verdicts(table, engine, args.workers, memory):
        print(line)


def _print_side_by_side(runs: dict[str, list[Row]], args: argparse.Namespace) -> None:
    """Issue 13's table, its layout kept: both engines per row, the issue's figures beside this run's."""
    print(f"\nBoth engines, {args.connections} connections, --workers {args.workers}: req/s (÷naive) p50/p99 ms, "
          "this run | issue 13\n")
    print(f"{'workload':<14} {'SQLite now':>26} {'SQLite issue':>18} {'PostgreSQL now':>26} {'PostgreSQL issue':>18}")
    for workload in dict.fromkeys(r.workload for r in runs["sqlite"]):
        cells = []
        for engine in ("sqlite", "postgresql"):
            rows = runs[engine]
            naive = next((r.rate for r in rows if r.workload == "floor-naive"), None)
            row = next((r for r in rows if r.workload == workload and (r.label == "all" or workload != "mix")),
                       None)
            if row is None:
                cells += ["-", "-"]
                continue
            ratio = f" ({row.rate / naive:.2f})" if naive else ""
            cells.append(f"{row.rate:.0f}{ratio} {row.p50:.0f}/{row.p99:.0f}")
            then = BASELINE.get(workload, {}).get(engine) if args.workers == 1 else None
            cells.append("-" if then is None else
                         f"{then[0]:.0f} ({baseline_ratio(workload, engine, 1)}) "
                         f"{'-' if then[1] is None else f'{then[1]:.0f}'}/{then[2]:.0f}")
        print(f"{workload:<14} {cells[0]:>26} {cells[1]:>18} {cells[2]:>26} {cells[3]:>18}")


if __name__ == "__main__":
    main()
