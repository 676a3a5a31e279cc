"""Machinery of the fault-injection suite (and of `bench/fault_soak.py`): a real `imschart serve` child
process that can be killed with SIGKILL and restarted, a private PostgreSQL cluster that can be
stopped and frozen, and writers that retry every request under its Idempotency-Key until it is
acknowledged.

The private cluster lives in a temporary directory on its own port. The machine's shared cluster is
never stopped, frozen or reconfigured: this module only ever signals processes it started itself.
"""

from __future__ import annotations

import contextlib
import glob
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.processes import free_port

ADMIN_EMAIL, ADMIN_PASSWORD = "faults@clinic.example", "fault suite password"


class Server:
    """`imschart serve` in a child process, as an operator runs it."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("IMS_")}
        self.env.update(IMS_DATA_DIR=str(workdir / "data"), IMS_BOOTSTRAP_ADMIN_EMAIL=ADMIN_EMAIL,
                        IMS_BOOTSTRAP_ADMIN_PASSWORD=ADMIN_PASSWORD, IMS_LOG_LEVEL="info",
                        IMS_WORKER_IN_PROCESS="false", IMS_IDEMPOTENCY_LEASE_SECONDS="2", PYTHONUNBUFFERED="1", **env)
        self.log = workdir / "serve.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def script(self) -> str:
        found = Path(sys.executable).with_name("imschart")
        return str(found) if found.exists() else "imschart"

    def start(self, ready_within: float = 60) -> None:
        with self.log.open("ab") as out:
            out.write(f"\n--- start {self.starts} ---\n".encode())
            self.proc = subprocess.Popen([self.script, "serve", "--port", str(self.port)], cwd=self.workdir,
                                         env=self.env, stdout=out, stderr=subprocess.STDOUT)
        self.starts += 1
        deadline = time.monotonic() + ready_within
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.log.read_text()[-4000:]}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            time.sleep(0.05)
        raise AssertionError(f"server not up after {ready_within}s:\n{self.log.read_text()[-4000:]}")

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill9()

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.script, *args], cwd=self.workdir, env=self.env, capture_output=True, text=True,
                              timeout=120, check=False)

    def token(self) -> dict[str, str]:
        response = httpx.post(f"{self.base}/api/v1/auth/token", data={"username": ADMIN_EMAIL,
                                                                       "password": ADMIN_PASSWORD}, timeout=10)
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}


@dataclass
class Outcome:
    key: str
    patient_id: str | None = None
    attempts: int = 0
    replayed: bool = False
    statuses: list[int] = field(default_factory=list)


class Writers:
    """Threads registering patients, each under its own Idempotency-Key, retried until acknowledged.

    A retry is exactly what a careful client does after a timeout, a dropped connection, a 503 or a
    409 "in flight": send the same request with the same key again.
    """

    RETRYABLE = {409, 500, 502, 503, 504}

    def __init__(self, server: Server, headers: dict[str, str], threads: int = 4, prefix: str = "w") -> None:
        self.server, self.headers, self.threads, self.prefix = server, headers, threads, prefix
        self.outcomes: list[Outcome] = []
        self.latencies: list[tuple[float, int]] = []  # (seconds, status or 0 for a transport error)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._pool: list[threading.Thread] = []

    def body(self, key: str) -> dict[str, object]:
        return {"given_name": key, "family_name": "Faultline", "birth_date": "1970-01-01"}

    def _run(self, n: int) -> None:
        with httpx.Client(timeout=10) as client:
            i = 0
            while not self._stop.is_set():
                outcome = Outcome(f"{self.prefix}{n}-{i}")
                i += 1
                with self._lock:
                    self.outcomes.append(outcome)
                self.settle(client, outcome, give_up=lambda: False)

    def settle(self, client: httpx.Client, outcome: Outcome, give_up: object, deadline: float = 120) -> None:
        """Send until acknowledged (or the deadline passes: the caller then reports the key unsettled)."""
        ends = time.monotonic() + deadline
        while time.monotonic() < ends:
            outcome.attempts += 1
            started = time.monotonic()
            try:
                response = client.post(f"{self.server.base}/api/v1/patients", json=self.body(outcome.key),
                                       headers={**self.headers, "Idempotency-Key": outcome.key})
            except httpx.TransportError:
                self.latencies.append((time.monotonic() - started, 0))
                time.sleep(random.uniform(0.05, 0.3))
                continue
            self.latencies.append((time.monotonic() - started, response.status_code))
            outcome.statuses.append(response.status_code)
            if response.status_code == 201:
                outcome.patient_id = response.json()["id"]
                outcome.replayed = response.headers.get("idempotent-replayed") == "true"
                return
            assert response.status_code in self.RETRYABLE, (outcome.key, response.status_code, response.text)
            time.sleep(random.uniform(0.05, 0.3))

    def acknowledged(self) -> int:
        with self._lock:
            return sum(o.patient_id is not None for o in self.outcomes)

    def wait_for_progress(self, writes: int, within: float = 30) -> None:
        """Until `writes` more requests are acknowledged: a kill then lands under load, not on a starting server."""
        goal, ends = self.acknowledged() + writes, time.monotonic() + within
        while self.acknowledged() < goal and time.monotonic() < ends:
            time.sleep(0.02)

    def start(self) -> None:
        self._pool = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(self.threads)]
        for thread in self._pool:
            thread.start()

    def stop(self, within: float = 150) -> None:
        self._stop.set()
        for thread in self._pool:
            thread.join(within)
        assert not any(t.is_alive() for t in self._pool), "a writer never got its request acknowledged"


def pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PrivateCluster:
    """A throwaway PostgreSQL server: initdb in a temporary directory, its own port, its own processes.

    Run as root, the server runs as the `postgres` user (PostgreSQL refuses root) via runuser.
    """

    def __init__(self) -> None:
        bindir = pg_bin()
        if bindir is None:
            raise RuntimeError("no PostgreSQL server binaries (initdb) on this machine")
        self.bin = bindir
        # Not under pytest's tmp_path: its parents are private to root, and the server user must reach it.
        self.root = Path(tempfile.mkdtemp(prefix="imschart-pg-"))
        root = self.root
        self.data = root / "pgdata"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            self.as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        # fsync off: an OS crash is not what we test, and the page cache survives a killed server. Commits
        # stay synchronous (WAL written before the acknowledgement), or a stop would lose acknowledged writes.
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{root}'\n"
                       "fsync = off\nfull_page_writes = off\nshared_buffers = 32MB\n"
                       "max_connections = 60\n")

    def _run(self, tool: str, *args: str) -> None:
        result = subprocess.run([*self.as_user, str(self.bin / tool), *args], capture_output=True, text=True,
                                timeout=120, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{tool} failed: {result.stdout}\n{result.stderr}")

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-w", "-t", "60", "start")

    def stop(self) -> None:
        """As a crashed or shut-down server: immediate stop, connections dropped."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def pids(self) -> list[int]:
        """The postmaster and all its children (backends, checkpointer, ...)."""
        pid_file = self.data / "postmaster.pid"
        postmaster = int(pid_file.read_text().split()[0])
        children = []
        for stat in glob.glob("/proc/[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                parts = Path(stat).read_text().rsplit(")", 1)[1].split()
                if int(parts[1]) == postmaster:
                    children.append(int(Path(stat).parent.name))
        return [postmaster, *children]

    def freeze(self) -> list[int]:
        frozen = self.pids()
        for pid in frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
        return frozen

    def thaw(self, frozen: list[int]) -> None:
        for pid in [*frozen, *self.pids()]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.thaw(self.pids())
        with contextlib.suppress(Exception):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
