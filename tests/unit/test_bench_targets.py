"""The load benchmark's verdicts on issue 13's targets: what it prints as holding, and the limit it names."""

from __future__ import annotations

from bench.targets import Row, baseline_ratio, verdicts


def _row(workload: str, label: str, rate: float, p99: float, errors: int = 0) -> Row:
    return Row(workload, label, count=int(rate), rate=rate, p50=1.0, p99=p99, errors=errors, cpu_ms=1.0)


def test_targets_that_hold_print_without_a_limit():
    rows = [_row("floor-naive", "naive row", 100, 40), _row("get-patient", "GET patient", 85, 50),
            _row("post-patient", "POST patient", 60, 110), _row("mix", "GET chart", 400, 900),
            _row("mix", "all", 650, 900)]
    lines = verdicts(rows, "sqlite", 1, {"get-patient": 150, "floor-naive": 500})
    assert all(line.lstrip().startswith("holds") for line in lines), lines
    assert len(lines) == 5  # GET patient, p99 (the mix's own rows share one queue: not judged), errors, mix, memory
    assert not any("limited by" in line for line in lines)


def test_each_target_missed_is_named_with_what_limits_it():
    rows = [_row("floor-naive", "naive row", 100, 40), _row("get-patient", "GET patient", 30, 61),
            _row("post-patient", "POST patient", 60, 121, errors=2), _row("mix", "all", 999, 900)]
    text = "\n".join(verdicts(rows, "postgresql", 2, {"mix": 450}))
    assert "NOT MET  GET patient >= 0.8 x naive: 0.30 x" in text
    assert "GET patient 61 ms, POST patient 121 ms" in text
    assert "NOT MET  zero errors: 2" in text
    assert "NOT MET  80/20 mix >= 1000 req/s: 999 req/s" in text
    assert "NOT MET  memory <= 200 MB per worker: 225 MB" in text
    assert text.count("limited by:") == 5


def test_the_issue_ratio_is_against_the_issues_own_naive_floor():
    assert baseline_ratio("get-patient", "sqlite", 1) == "0.24"  # 282 / 1,177
    assert baseline_ratio("mix", "postgresql", 2) == "0.24"  # 205 / 838
    assert baseline_ratio("mix", "sqlite", 2) == "-"
