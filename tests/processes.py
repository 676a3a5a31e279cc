"""Real `imschart` processes for tests: free ports, a clean environment, bounded waits, no leftovers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
