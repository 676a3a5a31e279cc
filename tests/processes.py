"""Real `imschart` processes for tests: free ports, a clean environment, bounded waits, no leftovers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

# Ports for servers the tests start, below the kernel's ephemeral range (32768-60999 on Linux): a port taken
# with bind(0) and released can be handed out again at once - to another xdist worker asking the same way, or
# as the source port of any outgoing connection (thousands of PostgreSQL connections) - before the server
# binds it. Each worker draws from its own block, so two workers never pick the same port.
PORT_BASE, PORT_BLOCK = 20000, 400
_next_port: dict[str, int] = {}


def worker_index() -> int:
    """0 for gw0 (and for a run without xdist), 1 for gw1, ..."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker[2:]) if worker[2:].isdigit() else 0


def free_port() -> int:
    """A port free right now in this worker's own block (between two runs on one machine: a random start)."""
    first = PORT_BASE + (worker_index() % 30) * PORT_BLOCK
    start = _next_port.get("at", first + (os.getpid() * 7919) % PORT_BLOCK)
    for step in range(PORT_BLOCK):
        port = first + (start - first + step) % PORT_BLOCK
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _next_port["at"] = first + (port - first + 1) % PORT_BLOCK  # never hand the same port out twice in a row
        return port
    raise RuntimeError(f"no free port in {first}-{first + PORT_BLOCK - 1}")


def clean_env(**settings: str) -> dict[str, str]:
    """The caller's environment without any IMS_* setting (nor a virtualenv's), plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMS_") and k not in ("VIRTUAL_ENV",
                                                                                            "PYTHONPATH")}
    env.update(settings)
    return env


def start(command: list[str], *, cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a process in its own process group (so stop() also ends uvicorn's children)."""
    with log.open("ab") as out:
        return subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)


def stop(proc: subprocess.Popen[bytes], timeout: float = 15) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)


def wait_ready(proc: subprocess.Popen[bytes], base: str, log: Path, timeout: float = 60) -> httpx.Response:
    """Poll /readyz until it answers 200; fail with the process's output if it exits or takes too long."""
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, f"server exited with {proc.returncode}:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"server not ready after {timeout} s:\n{log.read_text()}"
        try:
            ready = httpx.get(f"{base}/readyz", timeout=2)
            if ready.status_code == 200:
                return ready
        except httpx.TransportError:
            pass
        time.sleep(0.1)
