"""Benchmark the solver: generated facilities against first-come-first-served, and job-shop.

Run from the repository root:
``python -m bench.solver [--quick] [--time-limit S] [--only NAME...]``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
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

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_JOBSHOP_DIR = ROOT.parent / "shared" / "benchmarks" / "jobshop"
RESULTS = ROOT / "bench" / "results" / "solver.md"
GENERATED_LIMIT = 60.0
# Targets: these must be proven optimal within 30 s; the hard ones must reach the optimum in 60 s.
PROVE_OPTIMAL = ("ft06", "ft20", *(f"la{i:02d}" for i in range(1, 21)))
REACH_OPTIMUM = ("ft10", "abz5", "orb01")
QUICK_GENERATED = ("small",)
QUICK_JOBSHOP = ("ft06", "la01", "la05")
QUICK_LIMIT = 10.0
# The share of weight first-come-first-served must leave unplaced on the congested week.
CONGESTION = 0.2


@dataclass
class GeneratedRun:
    name: str
    units: int
    requests: int
    total_weight: float
    fcfs_weight: float
    weight: float | None
    bound: float | None
    status: str
    first_feasible: float | None
    wall: float
    peak_mib: float
    violations: list[str]


@dataclass
class JobShopRun:
    name: str
    optimum: int | None
    found: float | None
    status: str
    wall: float
    limit: float
    peak_mib: float
    target: str
    """``optimal`` (prove it), ``reach`` (find the optimum value) or ``none``."""
    violations: list[str]
    first_plan: float | None = None
    at_optimum: float | None = None
    """Seconds into the solve when the progress log first showed the optimum, if it did."""

    @property
    def met(self) -> bool | None:
        if self.target == "none" or self.optimum is None:
            return None
        if self.violations or self.found is None or abs(self.found - self.optimum) > 1e-9:
            return False
        return self.target == "reach" or self.status == "OPTIMAL"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks, print the tables and write them to bench/results/solver.md."""
    parser = argparse.ArgumentParser(prog="python -m bench.solver", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small instances, short limits")
    parser.add_argument("--time-limit", type=float, help="seconds per solve, overriding targets")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="instances to run, by name")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--jobshop-dir",
        type=Path,
        default=Path(os.environ.get("PILOTSLOT_JOBSHOP_DIR", DEFAULT_JOBSHOP_DIR)),
    )
    parser.add_argument("-o", "--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    optima = _optima(args.jobshop_dir)
    if args.only:
        unknown = [n for n in args.only if n not in SPECS and n not in optima]
        if unknown:
            parser.error(f"unknown instance(s): {', '.join(unknown)}")
        generated = [n for n in args.only if n in SPECS]
        jobshop = [n for n in args.only if n in optima]
    elif args.quick:
        generated, jobshop = list(QUICK_GENERATED), [n for n in QUICK_JOBSHOP if n in optima]
    else:
        generated = [n for n in SPECS if not n.startswith("region-")]  # bench.region runs those
        jobshop = [n for n in (*PROVE_OPTIMAL, *REACH_OPTIMUM) if n in optima]
        if not optima:
            print(f"no job-shop instances in {args.jobshop_dir}", file=sys.stderr)

    load_before = os.getloadavg()[0]
    # Read before solving: the solver may be edited and committed while a long run goes on.
    commit = _commit()
    gen_runs = []
    for name in generated:
        limit = args.time_limit or (QUICK_LIMIT if args.quick else GENERATED_LIMIT)
        _say(f"{name}: solving with a {limit:g} s limit")
        gen = _run_generated(name, limit, args.workers)
        _say(f"{name}: weight {gen.weight} (FCFS {gen.fcfs_weight}) in {gen.wall:.1f} s")
        gen_runs.append(gen)
    js_runs = []
    for name in jobshop:
        target = (
            "optimal" if name in PROVE_OPTIMAL else "reach" if name in REACH_OPTIMUM else "none"
        )
        limit = args.time_limit or (
            QUICK_LIMIT if args.quick else 30.0 if target == "optimal" else 60.0
        )
        js = _run_jobshop(name, optima[name], args.jobshop_dir, limit, args.workers, target)
        _say(f"{name}: {js.found} ({js.status}, optimum {js.optimum}) in {js.wall:.1f} s")
        js_runs.append(js)

    loads = (load_before, os.getloadavg()[0])
    report = _report(gen_runs, js_runs, quick=args.quick, loads=loads, commit=commit)
    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report + "\n", encoding="utf-8")
    _say(f"written to {args.output}")
    failed = any(r.violations for r in gen_runs) or any(r.met is False for r in js_runs)
    return 1 if failed else 0


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- generated instances --------------------------------------------------------------------


def _run_generated(name: str, limit: float, workers: int) -> GeneratedRun:
    """Solve one generated instance in a child process and check both plans in this one."""
    # A fresh child per run, so that its peak resident memory is this run's alone.
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        out: dict[str, Any] = pool.apply(_solve_in_child, (name, limit, workers))
    problem = generate(SPECS[name])
    fcfs, solved = out["fcfs"], out["result"]
    violations = [f"FCFS: {line}" for line in check(problem, fcfs)]
    violations += [f"solver: {line}" for line in check(problem, solved)]
    for line in violations[:20]:
        _say(f"{name}: {line}")
    return GeneratedRun(
        name=name,
        units=len(problem["resources"]),
        requests=len(problem["requests"]),
        total_weight=sum(r.get("weight", 1) for r in problem["requests"]),
        fcfs_weight=fcfs["objective"],
        weight=solved["objective"],
        bound=solved["bound"],
        status=solved["status"],
        first_feasible=out["first_feasible"],
        wall=out["wall"],
        peak_mib=out["peak_kib"] / 1024,
        violations=violations,
    )


def _solve_in_child(name: str, limit: float, workers: int) -> dict[str, Any]:
    from scheduler import (
        Progress,
        first_come_first_served,
        problem_from_dict,
        result_to_dict,
        solve,
    )

    problem = problem_from_dict(generate(SPECS[name]))
    fcfs = first_come_first_served(problem)
    first: list[float] = []

    def on_progress(progress: Progress) -> None:
        if not first:
            first.append(progress.elapsed_seconds)

    started = time.perf_counter()
    result = solve(problem, time_limit=limit, workers=workers, seed=0, on_progress=on_progress)
    wall = time.perf_counter() - started
    return {
        "fcfs": result_to_dict(fcfs),
        "result": result_to_dict(result),
        "first_feasible": first[0] if first else None,
        "wall": wall,
        # Linux reports kibibytes; this child did nothing but build, plan and solve.
        "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


# --- job-shop, through the product's command line -------------------------------------------


def _optima(directory: Path) -> dict[str, int | None]:
    """Return instance name -> proven optimum for every instance file in ``directory``."""
    folder = directory / "instances"
    if not folder.is_dir():
        return {}
    known: dict[str, int | None] = {}
    optima_file = directory / "optima.json"
    if optima_file.is_file():
        for record in json.loads(optima_file.read_text(encoding="utf-8")):
            known[record["name"]] = record.get("optimum")
    return {p.name: known.get(p.name) for p in sorted(folder.iterdir()) if p.is_file()}


def _run_jobshop(
    name: str, optimum: int | None, directory: Path, limit: float, workers: int, target: str
) -> JobShopRun:
    """Import and solve one job-shop file with ``python -m scheduler``, then check the plan."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        problem_path, result_path = Path(tmp) / "problem.json", Path(tmp) / "result.json"
        command = [sys.executable, "-m", "scheduler"]
        subprocess.run(
            [
                *command,
                "import-jobshop",
                str(directory / "instances" / name),
                "-o",
                str(problem_path),
            ],
            cwd=ROOT,
            check=True,
        )
        solve_args = ["solve", str(problem_path), "--time-limit", f"{limit:g}"]
        solve_args += ["--workers", str(workers), "-o", str(result_path)]
        started = time.perf_counter()
        code, peak_kib = _run_measured([*command, *solve_args], Path(tmp) / "progress.log")
        wall = time.perf_counter() - started
        if code != 0 or not result_path.is_file():
            log = (Path(tmp) / "progress.log").read_text(encoding="utf-8")[-500:]
            return JobShopRun(
                name, optimum, None, f"exit {code}", wall, limit, peak_kib / 1024, target, [log]
            )
        problem = json.loads(problem_path.read_text(encoding="utf-8"))
        result = json.loads(result_path.read_text(encoding="utf-8"))
        first_plan, at_optimum = _progress_times(Path(tmp) / "progress.log", optimum)
    violations = check(problem, result)
    for line in violations[:20]:
        _say(f"{name}: {line}")
    return JobShopRun(
        name=name,
        optimum=optimum,
        found=result.get("objective"),
        status=result["status"],
        wall=wall,
        limit=limit,
        peak_mib=peak_kib / 1024,
        target=target,
        violations=violations,
        first_plan=first_plan,
        at_optimum=at_optimum,
    )


def _progress_times(log: Path, optimum: int | None) -> tuple[float | None, float | None]:
    """Return when the solve's progress lines first showed a plan, and the optimum."""
    first = at_optimum = None
    for line in log.read_text(encoding="utf-8").splitlines():
        # `solve` prints "best=B bound=L t=Ts ..." on each improvement; other lines are skipped.
        fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
        try:
            best, seconds = float(fields["best"]), float(fields["t"].rstrip("s"))
        except (KeyError, ValueError):
            continue
        if first is None:
            first = seconds
        if at_optimum is None and optimum is not None and best == optimum:
            at_optimum = seconds
    return first, at_optimum


def _run_measured(command: list[str], log: Path) -> tuple[int, int]:
    """Run ``command`` from the repository root; return its exit status and peak RSS in KiB."""
    with log.open("w", encoding="utf-8") as err:
        proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
        # wait4 gives this child's own rusage; RUSAGE_CHILDREN would be the largest child so far.
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss


# --- report ---------------------------------------------------------------------------------


def _report(
    gen: list[GeneratedRun],
    js: list[JobShopRun],
    *,
    quick: bool,
    loads: tuple[float, float],
    commit: str,
) -> str:
    cores = os.cpu_count() or 1
    # Solves get fewer cores than they ask for when other work shares the machine.
    busy = " (above the CPU count: timings are pessimistic)" if max(loads) > cores else ""
    lines = [f"# Solver benchmark{' (quick)' if quick else ''}", ""]
    lines.append(
        f"{time.strftime('%Y-%m-%d %H:%M %Z')}, commit {commit} at the start, {cores} CPU(s), "
        f"Python {sys.version.split()[0]}; load average {loads[0]:.1f} at the start, "
        f"{loads[1]:.1f} at the end{busy}. Peak memory is the peak resident set (ru_maxrss) of "
        "the child process that built and solved the instance, interpreter and OR-Tools included."
    )
    if gen:
        lines += [
            "",
            "## Generated facilities (max weighted accepted requests)",
            "",
            "| instance | units | requests | total weight | FCFS weight | solver weight "
            "| ratio to FCFS | bound | gap % | status | first plan s | wall s | peak MiB "
            "| check |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|",
        ]
        for r in gen:
            ratio = _fmt(r.weight / r.fcfs_weight if r.weight and r.fcfs_weight else None, 3)
            gap = None
            if r.weight is not None and r.bound:
                gap = 100 * (r.bound - r.weight) / r.bound
            lines.append(
                f"| {r.name} | {r.units} | {r.requests} | {_fmt(r.total_weight)} "
                f"| {_fmt(r.fcfs_weight)} | {_fmt(r.weight)} | {ratio} | {_fmt(r.bound)} "
                f"| {_fmt(gap, 1)} | {r.status} | {_fmt(r.first_feasible, 2)} "
                f"| {r.wall:.1f} | {r.peak_mib:.0f} "
                f"| {'ok' if not r.violations else f'{len(r.violations)} violations'} |"
            )
        lines.append("")
        for r in gen:
            unplaced = 1 - r.fcfs_weight / r.total_weight
            note = ""
            if r.name == "congested-week":
                met = "met" if unplaced >= CONGESTION else "NOT met"
                note = f" (congestion target: at least {CONGESTION:.0%}: {met})"
            lines.append(f"- {r.name}: FCFS leaves {unplaced:.0%} of the weight unplaced{note}.")
    if js:
        lines += [
            "",
            "## Job-shop (min makespan, through `python -m scheduler`)",
            "",
            "| instance | optimum | found | status | first plan s | optimum found s | wall s "
            "| limit s | peak MiB | target | target met |",
            "|---|---:|---:|---|---:|---:|---:|---:|---:|---|---|",
        ]
        for j in js:
            met = {None: "-", True: "yes", False: "**no**"}[j.met]
            target = {"optimal": "prove optimal", "reach": "reach optimum", "none": "-"}[j.target]
            if j.violations and j.found is not None:
                met += f" ({len(j.violations)} violations)"
            lines.append(
                f"| {j.name} | {_fmt(j.optimum)} | {_fmt(j.found)} | {j.status} "
                f"| {_fmt(j.first_plan, 2)} | {_fmt(j.at_optimum, 1)} | {j.wall:.1f} "
                f"| {j.limit:g} | {j.peak_mib:.0f} | {target} | {met} |"
            )
        met_count = sum(1 for j in js if j.met)
        with_target = sum(1 for j in js if j.met is not None)
        lines += ["", f"Targets met: {met_count} of {with_target}."]
    return "\n".join(lines)


def _commit() -> str:
    """Return the checked-out commit, marked when the worktree has uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head or 'unknown'}{' (with uncommitted changes)' if dirty else ''}"


def _fmt(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    if digits == 0 and float(value).is_integer():
        return str(int(value))
    return f"{value:.{digits or 1}f}"


if __name__ == "__main__":
    sys.exit(main())
