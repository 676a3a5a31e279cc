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

Test = Callable[[list[str]], bool]


def _calls(*functions: tuple[str, str]) -> Test:
    """True for a stack with a frame of one of these functions (name, a fragment of its file's path)."""
    return lambda frames: any(f.startswith(name + " (") and path in f for f in frames for name, path in functions)


_WORKER_THREAD = _calls(("WorkerThread.run", "anyio/"))

# First match wins, so the more specific parts come first. A frame reads "function (path:line)".
PARTS: list[tuple[str, Test]] = [
    ("audit group commit (its thread)", _calls(("GroupCommit._run", "app/kit/audit.py"))),
    ("authentication (credential lookup)", _calls(("current_actor", "app/auth/deps.py"))),
    ("access check (policy)", _calls(("Authorize.<locals>.check", "app/auth/deps.py"))),
    ("session: begin, commit, audit hand-off", _calls(("get_session", "app/db.py"))),
    ("route handler and its service",
     _calls(("_run_sync_endpoint", "fastapi/"), ("run_endpoint_function", "fastapi/"))),
    ("response validation and JSON",
     _calls(("serialize_response", ""), ("TypeAdapter.dump_json", ""), ("_prepare_response_content", ""))),
    ("thread hand-offs (anyio, both sides)",
     lambda frames: any("anyio/" in f or "starlette/concurrency.py" in f or "fastapi/concurrency.py" in f
                        for f in frames[-4:]) or _WORKER_THREAD(frames)),
    ("HTTP, ASGI middleware and routing (event loop)",
     lambda frames: any("uvicorn/" in f or "asyncio/" in f for f in frames)),
]


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
