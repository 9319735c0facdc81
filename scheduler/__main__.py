"""Command line: ``python -m scheduler solve|check|import-jobshop`` (see problem-format.md)."""

from __future__ import annotations

import argparse
import importlib
import json
import math
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from scheduler.problem import ProblemError, dump_result, load_problem
from scheduler.solve import Progress, solve

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _fail(message: str, code: int = 2) -> int:
    print(message.replace("\n", " "), file=sys.stderr)
    return code


def _write(text: str, output: str | None) -> None:
    if output is None:
        sys.stdout.write(text + "\n")
    else:
        Path(output).write_text(text + "\n", encoding="utf-8")


def _print_progress(progress: Progress) -> None:
    print(
        f"best={progress.objective:g} bound={progress.bound:g} "
        f"t={progress.elapsed_seconds:.2f}s "
        f"components={progress.components_done}/{progress.components_total}",
        file=sys.stderr,
        flush=True,
    )


def _solve(args: argparse.Namespace) -> int:
    for option, value in (("--time-limit", args.time_limit), ("--work-limit", args.work_limit)):
        if value is not None and not (0 < value < math.inf):
            return _fail(f"{option}: must be a positive number, got {value:g}")
    # The time limit counts loading the file too.
    started = time.perf_counter()
    try:
        problem = load_problem(Path(args.problem))
    except ProblemError as exc:
        return _fail(str(exc))
    # SIGTERM or Ctrl-C ends the search: the best plan so far is still written.
    stop = threading.Event()
    handlers = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in STOP_SIGNALS}
    try:
        result = solve(
            problem,
            time_limit=args.time_limit,
            workers=args.workers,
            seed=args.seed,
            work_limit=args.work_limit,
            on_progress=_print_progress,
            should_stop=stop,
            started=started,
        )
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    _write(dump_result(result), args.output)
    return 0


def _read_json(path: str) -> object:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProblemError("", f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ProblemError("", f"{path}: bad JSON at line {exc.lineno}: {exc.msg}") from None


def _check(args: argparse.Namespace) -> int:
    check = importlib.import_module("scheduler.check").check
    try:
        load_problem(Path(args.problem))
        problem = _read_json(args.problem)
        result = _read_json(args.result)
    except ProblemError as exc:
        return _fail(str(exc))
    violations: list[str] = check(problem, result)
    for line in violations:
        print(line)
    return 1 if violations else 0


def _import_jobshop(args: argparse.Namespace) -> int:
    import_jobshop = importlib.import_module("scheduler.jobshop").import_jobshop
    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except OSError as exc:
        return _fail(f"{args.file}: cannot read: {exc.strerror}")
    try:
        problem = import_jobshop(text)
    except ValueError as exc:
        return _fail(f"{args.file}: {exc}")
    _write(json.dumps(problem, indent=1), args.output)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m scheduler")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("solve", help="plan a problem file")
    p.add_argument("problem")
    p.add_argument(
        "--time-limit",
        type=float,
        help="seconds of wall clock (default 60; with --work-limit a safety cap, default none)",
    )
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--work-limit",
        type=float,
        help="work units (LNS rounds): the same file, seed and limit give the same plan anywhere",
    )
    p.add_argument("-o", "--output")
    p.set_defaults(run=_solve)
    c = sub.add_parser("check", help="validate a result against its problem")
    c.add_argument("problem")
    c.add_argument("result")
    c.set_defaults(run=_check)
    j = sub.add_parser("import-jobshop", help="convert a classic job-shop file")
    j.add_argument("file")
    j.add_argument("-o", "--output")
    j.set_defaults(run=_import_jobshop)
    args = parser.parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
