"""Where a serving process's CPU goes under load: py-spy's samples of the threads holding the GIL, sorted into
the parts of a request.

`bench/load_bench.py --profile` records each served workload with `py-spy record --gil` (py-spy is not a
dependency of the app: `pip install py-spy`) and prints this breakdown under its table. A Python server
on one core can do no more than its GIL allows, so the share of GIL time is the share of the ceiling each
part costs: the figure that names what limits a target.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

# First match wins, so the more specific parts come first. A frame reads "function (path:line)".
PARTS: list[tuple[str, Callable[[list[str]], bool]]] = []


def _part(name: str) -> Callable[[Callable[[list[str]], bool]], Callable[[list[str]], bool]]:
    def add(test: Callable[[list[str]], bool]) -> Callable[[list[str]], bool]:
        PARTS.append((name, test))
        return test
    return add


def _has(frames: list[str], function: str, path: str) -> bool:
    return any(f.startswith(function + " (") and path in f for f in frames)


@_part("audit group commit (its thread)")
def _group_commit(frames: list[str]) -> bool:
    return _has(frames, "GroupCommit._run", "app/kit/audit.py")


@_part("authentication (credential lookup)")
def _auth(frames: list[str]) -> bool:
    return _has(frames, "current_actor", "app/auth/deps.py")


@_part("access check (policy)")
def _access(frames: list[str]) -> bool:
    return _has(frames, "Authorize.<locals>.check", "app/auth/deps.py")


@_part("session: begin, commit, audit hand-off")
def _session(frames: list[str]) -> bool:
    return _has(frames, "get_session", "app/db.py")


@_part("route handler and its service")
def _handler(frames: list[str]) -> bool:
    return _has(frames, "_run_sync_endpoint", "fastapi/") or _has(frames, "run_endpoint_function", "fastapi/")


@_part("response validation and JSON")
def _serialise(frames: list[str]) -> bool:
    return any(f.startswith(("serialize_response (", "TypeAdapter.dump_json (", "_prepare_response_content ("))
               for f in frames)


@_part("thread hand-offs (anyio, both sides)")
def _hops(frames: list[str]) -> bool:
    return any("anyio/" in f or "starlette/concurrency.py" in f or "fastapi/concurrency.py" in f
               for f in frames[-4:]) or _has(frames, "WorkerThread.run", "anyio/")


@_part("HTTP, ASGI middleware and routing (event loop)")
def _loop(frames: list[str]) -> bool:
    return any("uvicorn/" in f or "asyncio/" in f for f in frames)


def classify(frames: list[str]) -> str:
    for name, test in PARTS:
        if test(frames):
            return name
    return "other"


def breakdown(raw: str) -> Counter[str]:
    """Samples per part, from py-spy's raw output (a stack of frames joined by ';', a space, a count)."""
    parts: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            # The first frame names the process and thread; keep "function (path:line)" frames only.
            frames = [f for f in stack.split(";") if re.search(r"\(.*:\d+\)$", f)]
            parts[classify(frames)] += int(count)
    return parts


def report(parts: Counter[str]) -> list[str]:
    total = sum(parts.values())
    if not total:
        return ["  (no samples)"]
    order = [name for name, _ in PARTS] + ["other"]
    return [f"  {100 * parts[name] / total:5.1f} %  {name}" for name in order if parts[name]]


class Recorder:
    """py-spy recording one process (and its forks) for `seconds`, started beside the load."""

    def __init__(self, pid: int, seconds: float, out: Path) -> None:
        spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        if not Path(spy).exists():
            raise SystemExit("--profile needs py-spy: pip install py-spy")
        self.out = out
        self.proc = subprocess.Popen([spy, "record", "--pid", str(pid), "--duration", str(max(1, int(seconds))),
                                      "--rate", "200", "--gil", "--subprocesses", "--format", "raw",
                                      "--output", str(out)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def parts(self) -> Counter[str]:
        _, err = self.proc.communicate(timeout=120)
        if not self.out.exists():
            raise SystemExit(f"py-spy wrote nothing: {err.decode(errors='replace').strip()[-300:]}")
        return breakdown(self.out.read_text(encoding="utf-8"))
