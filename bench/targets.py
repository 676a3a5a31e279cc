"""Issue 13's baseline table and targets, so that every load-benchmark run prints itself beside them.

The baseline is the first release as the issue measured it (2-core box, wrk with 16 connections on the same
box, 300 full charts, one `imschart serve`). Absolute req/s differ from box to box, so each baseline row also
carries its ratio to the naive floor measured then (1,177 req/s on SQLite, 838 on PostgreSQL); compare that
ratio with this run's ÷naive, not the raw numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

# workload -> engine -> (req/s, p50 ms or None, p99 ms), as issue 13's table gives them.
BASELINE: dict[str, dict[str, tuple[float, float | None, float]]] = {
    "floor-naive": {"sqlite": (1177, None, 32), "postgresql": (838, None, 43)},
    "get-patient": {"sqlite": (282, 8, 1425), "postgresql": (206, 76, 143)},
    "get-chart": {"sqlite": (146, 14, 1528), "postgresql": (84, 184, 302)},
    "get-treatment": {"sqlite": (218, 9, 1494), "postgresql": (139, 111, 192)},
    "search": {"sqlite": (242, 8, 1491), "postgresql": (182, 85, 162)},
    "post-patient": {"sqlite": (180, 13, 1497), "postgresql": (117, 118, 587)},
    "mix": {"sqlite": (196, 12, 1514), "postgresql": (130, 83, 893)},
}
BASELINE_WORKERS_2_MIX: tuple[float, float, float] = (205, 50, 715)  # PostgreSQL, --workers 2
BARE_FLOOR = 29_000  # the bare Starlette app, both engines

READ_P99_MS = 60
WRITE_P99_MS = 120
GET_PATIENT_VS_NAIVE = 0.8
MIX_REQ_S = {"sqlite": 600, "postgresql": 1000}  # PostgreSQL with --workers 2
MEMORY_PER_WORKER_MB = 200

# What limits each target that does not hold, as the profiles in docs/performance.md found it.
LIMITS = {
    "get-patient": "per-request Python CPU in the server against the naive floor's one statement ('CPU ms/req' "
                   "above, the naive floor's beside it). Where it goes, from --profile (py-spy, GIL time): the "
                   "event loop's HTTP parsing, ASGI middleware and routing, the hand-offs to worker threads, the "
                   "credential lookup, the handler, and the audit group commit's thread; no one part above a "
                   "third. docs/performance.md round 8",
    "p99": "the server is CPU-bound at 16 connections on this box: a request's p99 is its queue behind the "
           "other 15 (p99 ≈ connections x CPU per request; 4 at work, the rest waiting their turn: "
           "IMS_MAX_ACTIVE_REQUESTS, docs/performance.md round 7); the naive floor's own p99 shows the box's share",
    "mix": "CPU per request, the chart's above all: its handler (about 15 statements and a safety check per "
           "session) is over half of its GIL time (--profile; docs/performance.md rounds 4 and 8); on SQLite "
           "also writes queueing on the single write lock",
}


@dataclass(frozen=True)
class Row:
    workload: str
    label: str
    count: int
    rate: float
    p50: float
    p99: float
    errors: int
    cpu_ms: float | None  # server CPU (all its processes) per request, None for the floors' own line


def baseline_ratio(workload: str, engine: str, workers: int) -> str:
    """The issue's req/s for this workload over the issue's naive floor, e.g. '0.24'; '-' where it has none."""
    if workload == "mix" and workers == 2 and engine == "postgresql":
        then = BASELINE_WORKERS_2_MIX[0]
    elif workload in BASELINE and workers == 1:
        then = BASELINE[workload][engine][0]
    else:
        return "-"
    return f"{then / BASELINE['floor-naive'][engine][0]:.2f}"


def verdicts(rows: list[Row], engine: str, workers: int, memory_mb: dict[str, float]) -> list[str]:
    """One line per target: this run's figure, whether it holds, and for each that does not, what limits it."""
    by = {(r.workload, r.label): r for r in rows}
    naive = next((r.rate for r in rows if r.workload == "floor-naive"), None)
    lines = []
    patient = by.get(("get-patient", "GET patient"))
    if patient and naive:
        ratio = patient.rate / naive
        holds = ratio >= GET_PATIENT_VS_NAIVE
        lines.append(_line(f"GET patient >= {GET_PATIENT_VS_NAIVE} x naive", f"{ratio:.2f} x", holds,
                           LIMITS["get-patient"]))
    served = [r for r in rows if not r.workload.startswith("floor") and r.label != "all"]
    # Each endpoint's p99 under its own workload; the mix's rows share one queue and are reported above.
    slow = [f"{r.label} {r.p99:.0f} ms" for r in served
            if r.workload != "mix" and r.p99 > (WRITE_P99_MS if r.label.startswith("POST") else READ_P99_MS)]
    if served:
        lines.append(_line(f"p99 <= {READ_P99_MS} ms reads, <= {WRITE_P99_MS} ms writes",
                           ", ".join(slow) if slow else "all within", not slow, LIMITS["p99"]))
        errors = sum(r.errors for r in served)
        lines.append(_line("zero errors", str(errors), errors == 0, "see the error statuses printed above"))
    mix = by.get(("mix", "all"))
    if mix:
        target = MIX_REQ_S[engine]
        note = "" if engine == "sqlite" or workers == 2 else " (the target is for --workers 2)"
        lines.append(_line(f"80/20 mix >= {target} req/s{note}", f"{mix.rate:.0f} req/s", mix.rate >= target,
                           LIMITS["mix"]))
    served_memory = {w: mb for w, mb in memory_mb.items() if not w.startswith("floor")}
    if served_memory:
        # --workers N: N workers and their supervisor, which is far smaller than a worker.
        worst = max(served_memory.values()) / workers
        lines.append(_line(f"memory <= {MEMORY_PER_WORKER_MB} MB per worker", f"{worst:.0f} MB",
                           worst <= MEMORY_PER_WORKER_MB, "see RSS MB above"))
    return lines


def _line(target: str, measured: str, holds: bool, limit: str) -> str:
    line = f"  {'holds' if holds else 'NOT MET':<8} {target}: {measured}"
    return line if holds else f"{line}\n           limited by: {limit}"
