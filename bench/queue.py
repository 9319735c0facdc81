"""Solve queue benchmark: a batch of 12 facility solves with one worker, then with two.

    python -m bench.queue                      # PostgreSQL on 127.0.0.1:5432, Redis on :6379
    python -m bench.queue --work-limit 40 --requests 40
    python -m bench.queue --time-limit 3       # wall-clock solves (see below)
    python -m bench.queue --postgres postgresql://postgres@db:5432 --redis-url redis://r:6379/0
    python -m bench.queue --sqlite             # a SQLite file in a temporary folder

Creates a new PostgreSQL database of its own (like `.ci/run`), migrates it to the head, and
drops it again at the end; Redis gets a queue of its own (a random name that prefixes every
job and worker key), deleted at the end, so nothing of other users is touched.

The instances: 24 identical facilities, each one LC-MS unit and `--requests` single-step
requests (60 to 360 minutes, weights 1 to 5) for Monday 09:00 to Friday 18:00 next week, about
a third more than the unit can hold. The 12 solves of the first half go as managers' clicks
(`start_solve`) to one `flask worker`, the 12 of the second half to two workers.

Each solve has a work limit by default (`--work-limit`, LNS rounds on one solver thread): a
fixed amount of search, so a solve takes longer when it gets less CPU and two workers beat one
only as far as the cores allow. With `--time-limit` instead every solve lasts its wall-clock
limit whatever CPU it gets, and two workers halve the batch even on one core: that shows the
queue's overlap, not the machine's capacity.

A batch's time runs from the first enqueue to the last run's finish as the database records it,
so it counts the queue, the work horses' start, the problem's building and the proposals'
storing. Prints each batch's wall time, each job's wait, run and solver time, and the ratio
two/one (target <= 0.6), with the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

import redis
from rq import Queue, Worker

ROOT = Path(__file__).resolve().parents[1]
ZONE = ZoneInfo("Asia/Shanghai")
BATCH = 12


@dataclass
class Job:
    """One run of a batch, as the database recorded it."""

    run: int
    worker: str
    wait: float
    run_seconds: float
    solver_seconds: float
    objective: float | None


def _next_monday() -> date:
    today = datetime.now(ZONE).date()
    return today + timedelta(days=7 - today.weekday())


def build(facilities: int, requests: int) -> tuple[int, list[int]]:
    """Store the facilities, their requests and one manager of all; return their ids."""
    from app.extensions import db
    from tests import factories

    manager = factories.make_user(name="Bench manager")
    monday = _next_monday()
    ids = []
    for _ in range(facilities):
        facility = factories.make_facility()
        unit = factories.make_equipment(facility)
        project = factories.make_project()
        member = factories.make_user(projects=(project,))
        for n in range(requests):
            request = factories.make_request(
                project,
                [unit],
                by=member,
                durations=[60 + (n * 37) % 300],
                weight=1 + (n * 7) % 5,
                earliest_start=datetime.combine(monday, clock(9), ZONE),
                deadline=datetime.combine(monday + timedelta(days=4), clock(18), ZONE),
            )
            request.steps[0].facility_id = facility.id
        manager.managed_facilities.append(facility)
        db.session.commit()
        ids.append(facility.id)
    return manager.id, ids


def batch(
    manager_id: int,
    facility_ids: list[int],
    *,
    time_limit: float | None,
    work_limit: float | None,
    give_up: float,
) -> tuple[float, list[Job]]:
    """Queue one solve per facility at once; return the seconds until the last one finished."""
    import json

    from sqlalchemy import func, select

    from app.accounts.models import User
    from app.booking import runs as runs_service
    from app.booking.models import RunStatus, SolveRun
    from app.dbtypes import utcnow
    from app.extensions import db

    manager = db.session.get(User, manager_id)
    started = utcnow()
    t0 = time.monotonic()
    ids = [
        runs_service.start_solve(manager, fid, time_limit=time_limit, work_limit=work_limit).id
        for fid in facility_ids
    ]
    while True:
        open_runs = db.session.scalar(
            select(func.count(SolveRun.id)).where(
                SolveRun.id.in_(ids), SolveRun.status.in_(runs_service.UNFINISHED)
            )
        )
        # End the read at once: an open transaction would hold locks (and a snapshot).
        db.session.rollback()
        if not open_runs:
            break
        if time.monotonic() - t0 > give_up:
            raise SystemExit(f"{open_runs} runs unfinished after {give_up:.0f} s; see the log")
        time.sleep(0.2)
    runs = db.session.scalars(select(SolveRun).where(SolveRun.id.in_(ids))).all()
    if {r.status for r in runs} != {RunStatus.SUCCEEDED.value}:
        raise SystemExit(f"runs ended {[(r.id, r.status, r.error) for r in runs]}")
    jobs = []
    for r in sorted(runs, key=lambda r: r.started_at):
        result = json.loads(r.result_json or "{}")
        jobs.append(
            Job(
                run=r.id,
                worker=r.worker,
                wait=(r.started_at - started).total_seconds(),
                run_seconds=(r.finished_at - r.started_at).total_seconds(),
                solver_seconds=float(result.get("wall_seconds") or 0.0),
                objective=result.get("objective"),
            )
        )
    last = max(r.finished_at for r in runs)
    db.session.rollback()
    return (last - started).total_seconds(), jobs


def start_workers(count: int, env: dict[str, str], queue: Queue) -> list[subprocess.Popen[bytes]]:
    """Start `flask worker` processes and wait until each listens on the queue."""
    log = (Path(env["PILOTSLOT_INSTANCE_DIR"]) / f"workers-{count}.log").open("ab")
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "worker"]
            + ["--name", f"{queue.name}-{count}-{n}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for n in range(count)
    ]
    deadline = time.monotonic() + 120
    while len(Worker.all(queue=queue)) < count:
        if time.monotonic() > deadline:
            stop_workers(workers)
            raise SystemExit("the workers did not start; see " + log.name)
        time.sleep(0.2)
    return workers


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    """Stop the workers (they are idle: the batch has finished)."""
    for worker in workers:
        worker.terminate()
    for worker in workers:
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def _psql(server: str, sql: str) -> None:
    subprocess.run(
        ["psql", f"{server}/postgres", "-v", "ON_ERROR_STOP=1", "-qc", sql],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _report(count: int, seconds: float, jobs: list[Job]) -> None:
    print(f"\n{count} worker{'s' if count > 1 else ''}: batch {seconds:.1f} s")
    print("  run  worker                         wait s  run s  solver s  objective")
    for job in jobs:
        print(
            f"  {job.run:>3}  {job.worker:<30} {job.wait:6.1f} {job.run_seconds:6.1f}"
            f"  {job.solver_seconds:8.1f}  {job.objective}"
        )
    runs = [j.run_seconds for j in jobs]
    solver = [j.solver_seconds for j in jobs]
    print(
        f"  per job: run {sum(runs) / len(runs):.1f} s (min {min(runs):.1f}, max {max(runs):.1f}),"
        f" of which solver {sum(solver) / len(solver):.1f} s"
    )


def main(argv: list[str] | None = None) -> None:
    """Time a batch of 12 facility solves with one worker and with two."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432",
        help="a PostgreSQL server (no database name) where the bench may create a database",
    )
    parser.add_argument(
        "--sqlite", action="store_true", help="a SQLite file instead (what `make run` uses)"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--work-limit", type=float, default=None, help="default 40")
    budget.add_argument("--time-limit", type=float, default=None, help="seconds of wall clock")
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args(argv)
    if args.time_limit is None and args.work_limit is None:
        args.work_limit = 40.0

    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db

    # Stopped from outside, still drop the database and the queue (the `finally` below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    load_before = _load()
    folder = Path(tempfile.mkdtemp(prefix="bench-queue-"))
    server = args.postgres.rstrip("/")
    database = f"pilotslot_bench_{time.strftime('%Y%m%d%H%M%S')}_{os.getpid()}"
    name = f"pilotslot-bench-{uuid.uuid4().hex[:8]}"
    url = f"sqlite:///{folder / 'bench.sqlite'}" if args.sqlite else f"{server}/{database}"
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        PILOTSLOT_INSTANCE_DIR=str(folder),
        PILOTSLOT_SOLVE_QUEUE_URL=args.redis_url,
        PILOTSLOT_SOLVE_QUEUE=name,
        PILOTSLOT_DEFAULT_LANGUAGE="en",
    )
    client = redis.Redis.from_url(args.redis_url)
    client.ping()
    queue = Queue(name, connection=client)
    if not args.sqlite:
        _psql(server, f"CREATE DATABASE {database}")
    times: dict[int, tuple[float, list[Job]]] = {}
    try:
        os.environ.update(env)
        app = create_app({"SOLVE_WORKER_PROCESS": True})
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            t0 = time.monotonic()
            manager_id, facility_ids = build(2 * BATCH, args.requests)
            print(f"built {2 * BATCH} facilities in {time.monotonic() - t0:.1f} s", flush=True)
            give_up = BATCH * (args.time_limit or 60) + 300
            for count, ids in ((1, facility_ids[:BATCH]), (2, facility_ids[BATCH:])):
                workers = start_workers(count, env, queue)
                try:
                    times[count] = batch(
                        manager_id,
                        ids,
                        time_limit=args.time_limit,
                        work_limit=args.work_limit,
                        give_up=give_up,
                    )
                finally:
                    stop_workers(workers)
                _report(count, *times[count])
            db.session.remove()
            db.engine.dispose()
    finally:
        keys = list(client.scan_iter(match=f"*{name}*"))
        if keys:
            client.delete(*keys)
        for member in client.smembers("rq:workers"):
            if name.encode() in member:
                client.srem("rq:workers", member)
        if not args.sqlite:
            _psql(server, f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    budget_text = (
        f"work limit {args.work_limit:g}"
        if args.work_limit is not None
        else f"time limit {args.time_limit:g} s"
    )
    one, two = times[1][0], times[2][0]
    print(
        f"\n{BATCH} facility solves ({args.requests} requests on one unit, {budget_text} each)"
        f" on {'SQLite' if args.sqlite else 'PostgreSQL'}, {os.cpu_count()} cores;"
        f" load average before {load_before}, after {_load()}"
    )
    print(f"one worker:  {one:6.1f} s")
    print(f"two workers: {two:6.1f} s")
    print(f"ratio:       {two / one:6.2f}  (target <= 0.6)")


if __name__ == "__main__":
    main()
