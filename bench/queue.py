"""Solve queue benchmark: a batch of 12 facility solves with one worker, then with two.

    python -m bench.queue                          # SQLite in a temporary folder, Redis on :6379
    python -m bench.queue --time-limit 5 --requests 60
    python -m bench.queue --database-url postgresql://... (an EMPTY database with btree_gist)

Builds 24 identical facilities (one LC-MS unit and `--requests` weighted requests for next week,
more than the unit can hold), then queues the 12 solves of the first half as managers' clicks
(`start_solve`, wall-clock `--time-limit`) to one `flask worker`, and the 12 of the second half
to two workers, on a queue of its own. A batch's time runs from the first enqueue to the last
run's finish as the database records it, so it counts the queue, the work horses' start, the
problem's building and the proposals' storing. Prints both times and their ratio (target
<= 0.6). The workers of the second batch run on the same machine: on a shared 2-core box the
ratio shows how well two workers overlap, not what two hosts would give.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

import redis
from rq import Queue, Worker

ROOT = Path(__file__).resolve().parents[1]
ZONE = ZoneInfo("Asia/Shanghai")
BATCH = 12


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


def batch(manager_id: int, facility_ids: list[int], time_limit: float) -> float:
    """Queue one solve per facility at once; return the seconds until the last one finished."""
    from sqlalchemy import func, select

    from app.accounts.models import User
    from app.booking import proposals
    from app.booking.models import RunStatus, SolveRun
    from app.dbtypes import utcnow
    from app.extensions import db

    manager = db.session.get(User, manager_id)
    started = utcnow()
    t0 = time.monotonic()
    runs = [proposals.start_solve(manager, fid, time_limit=time_limit).id for fid in facility_ids]
    while True:
        db.session.commit()
        open_runs = db.session.scalar(
            select(func.count(SolveRun.id)).where(
                SolveRun.id.in_(runs), SolveRun.status.in_(proposals.UNFINISHED)
            )
        )
        if not open_runs:
            break
        if time.monotonic() - t0 > 60 * BATCH * time_limit:
            raise SystemExit("the batch did not finish; are the workers running?")
        time.sleep(0.2)
    statuses = set(db.session.scalars(select(SolveRun.status).where(SolveRun.id.in_(runs))))
    if statuses != {RunStatus.SUCCEEDED.value}:
        raise SystemExit(f"runs ended {statuses}")
    last = db.session.scalar(select(func.max(SolveRun.finished_at)).where(SolveRun.id.in_(runs)))
    return (last - started).total_seconds()


def start_workers(count: int, env: dict[str, str], queue: Queue) -> list[subprocess.Popen[bytes]]:
    """Start `flask worker` processes and wait until each listens on the queue."""
    log = (Path(env["PILOTSLOT_INSTANCE_DIR"]) / f"workers-{count}.log").open("ab")
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "flask",
                "--app",
                "app",
                "worker",
                "--name",
                f"{queue.name}-{n}",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for n in range(count)
    ]
    deadline = time.monotonic() + 60
    while len(Worker.all(queue=queue)) < count:
        if time.monotonic() > deadline:
            raise SystemExit("the workers did not start")
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


def main() -> None:
    """Time a batch of 12 facility solves with one worker and with two."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--time-limit", type=float, default=3.0)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()

    from sqlalchemy import inspect

    from app import create_app
    from app.extensions import db

    folder = Path(tempfile.mkdtemp(prefix="bench-queue-"))
    url = args.database_url or f"sqlite:///{folder / 'bench.sqlite'}"
    name = f"pilotslot-bench-{uuid.uuid4().hex[:8]}"
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        PILOTSLOT_INSTANCE_DIR=str(folder),
        PILOTSLOT_SOLVE_QUEUE_URL=args.redis_url,
        PILOTSLOT_SOLVE_QUEUE=name,
        PILOTSLOT_DEFAULT_LANGUAGE="en",
    )
    os.environ.update(env)
    app = create_app({"SOLVE_WORKER_PROCESS": True})
    client = redis.Redis.from_url(args.redis_url)
    queue = Queue(name, connection=client)
    try:
        with app.app_context():
            if inspect(db.engine).get_table_names():
                raise SystemExit("--database-url must name an empty database")
            db.create_all()
            manager_id, facility_ids = build(2 * BATCH, args.requests)
            times = {}
            for count, ids in ((1, facility_ids[:BATCH]), (2, facility_ids[BATCH:])):
                workers = start_workers(count, env, queue)
                try:
                    times[count] = batch(manager_id, ids, args.time_limit)
                finally:
                    stop_workers(workers)
            if args.database_url:
                db.drop_all()
    finally:
        keys = list(client.scan_iter(match=f"*{name}*"))
        if keys:
            client.delete(*keys)
    cores = os.cpu_count()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"{BATCH} facility solves ({args.requests} requests, {args.time_limit:g} s limit each) "
        f"on {cores} cores, load {load}"
    )
    print(f"one worker:  {times[1]:6.1f} s")
    print(f"two workers: {times[2]:6.1f} s")
    print(f"ratio:       {times[2] / times[1]:6.2f}  (target <= 0.6)")


if __name__ == "__main__":
    main()
