"""Region-scale benchmark: does every phase of a solve end by its time limit at any size?

    python -m bench.region                        # region-week, region-20k, region-50k, 60 s each
    python -m bench.region --only region-20k --time-limit 120
    python -m bench.region --quick                # region-week only, 20 s

Each instance (``bench/instances.py``, seeded) is written to a problem file and solved through
the product's command line (``python -m scheduler solve FILE --time-limit T -o OUT``), as a
user would, so the wall time counts starting Python, reading the file and writing the result.
Columns: wall time of the whole command and its ratio to the limit (target <= 1.1), the time
the first progress line (the first complete plan) reached the bench, weights of first-come-
first-served and of the solver and their ratio, the solver's bound and gap, the phases the
deadline cut (``stats.cut``), the left-out requests with the cheap ``solve-stopped`` reason,
and the command's peak resident memory (``os.wait4``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.instances import SPECS, generate
from scheduler.check import check

REGIONS = ("region-week", "region-20k", "region-50k")
WALL_TARGET = 1.1
"""Wall time of the command over its time limit."""


@dataclass
class Run:
    name: str
    requests: int
    units: int
    days: int
    limit: float
    wall: float
    first_plan: float | None
    fcfs: float
    weight: float | None
    bound: float | None
    status: str
    cut: list[str]
    stopped_reasons: int
    unscheduled: int
    peak_mib: float
    violations: int
    load_before: float
    load_after: float


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.region")
    parser.add_argument("--only", nargs="+", choices=list(SPECS))
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-check", action="store_true", help="skip scheduler.check")
    parser.add_argument("-o", "--output", default="bench/results/region.md")
    args = parser.parse_args(argv)
    names = args.only or (["region-week"] if args.quick else list(REGIONS))
    limit = 20.0 if args.quick and args.time_limit == 60.0 else args.time_limit
    runs = [_run(name, limit, check_plan=not args.no_check) for name in names]
    table = _table(runs)
    print(table)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(table + "\n", encoding="utf-8")
    missed = [r for r in runs if r.wall > WALL_TARGET * r.limit or r.violations]
    return 1 if missed else 0


def _run(name: str, limit: float, *, check_plan: bool) -> Run:
    spec = SPECS[name]
    data = generate(spec)
    with tempfile.TemporaryDirectory(prefix="pilotslot-region-") as tmp:
        problem_file = Path(tmp) / "problem.json"
        result_file = Path(tmp) / "result.json"
        problem_file.write_text(json.dumps(data), encoding="utf-8")
        fcfs = _fcfs_weight(data)
        load_before = os.getloadavg()[0]
        command = [sys.executable, "-m", "scheduler", "solve", str(problem_file)]
        command += ["--time-limit", f"{limit:g}", "-o", str(result_file)]
        started = time.perf_counter()
        first_plan: float | None = None
        with subprocess.Popen(command, stderr=subprocess.PIPE, text=True) as proc:
            assert proc.stderr is not None
            for line in proc.stderr:
                if first_plan is None and line.startswith("best="):
                    first_plan = time.perf_counter() - started
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        load_after = os.getloadavg()[0]
        result: dict[str, Any] = json.loads(result_file.read_text(encoding="utf-8"))
    violations = check(data, result) if check_plan else []
    for line in violations[:10]:
        print(f"{name}: {line}", file=sys.stderr)
    return Run(
        name=name,
        requests=spec.requests,
        units=spec.units,
        days=spec.days,
        limit=limit,
        wall=wall,
        first_plan=first_plan,
        fcfs=fcfs,
        weight=result.get("objective"),
        bound=result.get("bound"),
        status=str(result.get("status")),
        cut=list(result.get("stats", {}).get("cut", [])),
        stopped_reasons=sum(u.get("code") == "solve-stopped" for u in result["unscheduled"]),
        unscheduled=len(result["unscheduled"]),
        # Linux reports kibibytes.
        peak_mib=usage.ru_maxrss / 1024,
        violations=len(violations),
        load_before=load_before,
        load_after=load_after,
    )


def _fcfs_weight(data: dict[str, Any]) -> float:
    from scheduler.greedy import place_in_order
    from scheduler.instance import compile_problem
    from scheduler.problem import problem_from_dict

    # The weight of the baseline plan alone: writing its reasons is not what is measured.
    inst = compile_problem(problem_from_dict(data))
    plan = place_in_order(inst, inst.requests)
    return float(sum(inst.requests[r].weight for r in plan))


def _fmt(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _table(runs: list[Run]) -> str:
    lines = [
        "| instance | requests | units | days | limit s | wall s | wall / limit | first plan s "
        "| FCFS weight | solver weight | ratio to FCFS | bound | gap % | status | cut "
        "| cheap reasons | peak MiB | load avg |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---|",
    ]
    for r in runs:
        ratio = None if r.weight is None or not r.fcfs else r.weight / r.fcfs
        gap = None
        if r.weight is not None and r.bound:
            gap = 100 * (r.bound - r.weight) / r.bound
        lines.append(
            f"| {r.name} | {r.requests:,} | {r.units:,} | {r.days} | {r.limit:g} "
            f"| {_fmt(r.wall)} | {_fmt(r.wall / r.limit, 2)} | {_fmt(r.first_plan)} "
            f"| {_fmt(r.fcfs, 0)} | {_fmt(r.weight, 0)} | {_fmt(ratio, 3)} | {_fmt(r.bound, 0)} "
            f"| {_fmt(gap)} | {r.status} | {', '.join(r.cut) or '–'} "
            f"| {r.stopped_reasons:,} / {r.unscheduled:,} | {_fmt(r.peak_mib, 0)} "
            f"| {r.load_before:.1f} → {r.load_after:.1f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
