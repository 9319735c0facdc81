"""Load benchmark: real gunicorn on a fresh PostgreSQL database, many concurrent clients.

    python -m bench.load                      # 32 clients for 60 s
    python -m bench.load --seconds 20 --clients 8
    python -m bench.load --separately --seconds 20 --clients 16   # one kind at a time
    python -m bench.load --compare main --kinds baseline,catalogue,availability --rounds 2

It creates a database of its own on the server of --database-url, migrates it, syncs
facilities.yaml, loads the demo data, adds API and feed tokens, starts gunicorn (2 workers) on a
free loopback port and drives a mix of catalogue reads, availability queries, feed fetches
(conditional ones answered 304) and request submissions from client threads spread over
--processes processes (so the load generator is not held back by one GIL). It stops by itself
after --seconds or --max-requests, prints throughput and latency per kind, each also as a ratio
to the baseline kind (/healthz) measured in the same run, then checks that every acknowledged
submission is stored exactly once and nothing else was stored. The database is dropped at the
end. With --separately each kind runs alone for --seconds against the same server, so the
gunicorn and PostgreSQL CPU time measured over its phase, divided by its calls, is that kind's
own cost per call. With --compare REF a second gunicorn serves the code of git ref REF (its
tree exported to a temporary directory, run with this virtualenv) on the same database, and
each kind's phase runs against both servers back to back, in alternating order over --rounds
rounds, so the two codes are measured under the same neighbours' load. The exit status is 1
when a target is missed: p95 < 100 ms for reads, no 5xx, no lost or duplicated write."""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
READ_KINDS = ("catalogue", "availability", "feed", "feed 304")
# Share of each kind of call in the mix. The baseline (/healthz: one `SELECT 1`) is the cheapest
# call the stack can answer; every kind's latency is also shown as a ratio to it, measured in
# the same run under the same load, so runs on a busy shared machine can be compared.
MIX = {"catalogue": 40, "availability": 25, "feed": 25, "submit": 10, "baseline": 5}
BASELINE = "baseline"
# With --separately: each phase's share of the mix (one kind), and whether its feed fetches are
# conditional ("feed 304": every token's ETag fetched before the phase) or never ("feed").
PHASES: dict[str, tuple[str, bool]] = {
    BASELINE: (BASELINE, False),
    "catalogue": ("catalogue", False),
    "availability": ("availability", False),
    "feed": ("feed", False),
    "feed 304": ("feed", True),
    "submit": ("submit", False),
}


@dataclass
class Member:
    token: str
    project_id: int
    unit_ids: list[int]


@dataclass
class Fixtures:
    members: list[Member]
    feed_tokens: list[str]
    facility_slugs: list[str]
    unit_slugs: list[str]
    etags: dict[str, str] = field(default_factory=dict)


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, dict[int, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    created: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # CPU seconds used during the run: by the client processes, gunicorn, PostgreSQL backends.
    client_cpu: float = 0.0
    server_cpu: float = 0.0
    database_cpu: float = 0.0
    # With --separately: per kind, the (gunicorn, PostgreSQL) CPU seconds of its phase.
    phase_cpu: dict[str, tuple[float, float]] = field(default_factory=dict)

    def add(self, kind: str, status: int, seconds: float) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            self.statuses[kind][status] += 1

    def plain(self) -> dict[str, Any]:
        """Return the tally as plain data, to send from a client process."""
        return {
            "latencies": dict(self.latencies),
            "statuses": {kind: dict(codes) for kind, codes in self.statuses.items()},
            "created": self.created,
            "failures": self.failures,
            "client_cpu": self.client_cpu,
        }

    def merge(self, plain: dict[str, Any]) -> None:
        """Add a client process's tally to this one."""
        for kind, values in plain["latencies"].items():
            self.latencies[kind].extend(values)
        for kind, codes in plain["statuses"].items():
            for code, n in codes.items():
                self.statuses[kind][code] += n
        self.created.update(plain["created"])
        self.failures.extend(plain["failures"])
        self.client_cpu += plain["client_cpu"]

    def absorb(self, other: Tally) -> None:
        """Add another tally (a phase's) to this one."""
        self.merge(other.plain())
        self.server_cpu += other.server_cpu
        self.database_cpu += other.database_cpu


def free_port() -> int:
    """Return a loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def create_database(server_url: str, name: str) -> str:
    """Create an empty database with btree_gist on the server and return its URL."""
    from app.schemaversion import create_extensions

    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    with engine.begin() as conn:
        create_extensions(conn)
    engine.dispose()
    return url


def drop_database(server_url: str, name: str) -> None:
    """Drop the benchmark's database, cutting any connection left to it."""
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def flask_command(env: dict[str, str], *args: str) -> None:
    """Run a `flask --app app` command against the benchmark database."""
    subprocess.run(
        [str(BIN / "flask"), "--app", "app", *args],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=600,
    )


def prepare(database_url: str) -> Fixtures:
    """Give every demo member an API token and a feed link; list what the clients may ask for."""
    from sqlalchemy import select

    from app import create_app
    from app.accounts.models import User
    from app.accounts.services import create_api_token
    from app.calendars import tokens
    from app.catalog.models import Equipment, Facility
    from app.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "RATELIMIT_ENABLED": False})
    with app.app_context():
        units = db.session.scalars(
            select(Equipment).where(Equipment.status != "retired").order_by(Equipment.id)
        ).all()
        bookable = [u for u in units if not u.training_required]
        members = []
        feed_tokens = []
        for user in db.session.scalars(select(User).order_by(User.id)):
            for membership in user.memberships:
                _row, secret = create_api_token(user, f"bench {membership.project_id}")
                facility_id = random.Random(user.id).choice(bookable).facility_id
                members.append(
                    Member(
                        secret,
                        membership.project_id,
                        [u.id for u in bookable if u.facility_id == facility_id],
                    )
                )
                _feed, raw = tokens.issue_token(
                    user, "project", membership.project_id, locale="en"
                )
                feed_tokens.append(raw)
        fixtures = Fixtures(
            members=members,
            feed_tokens=feed_tokens,
            facility_slugs=list(db.session.scalars(select(Facility.slug))),
            unit_slugs=[u.slug for u in units],
        )
        db.session.remove()
        db.engine.dispose()
    if not fixtures.members:
        raise SystemExit("the demo data has no project members")
    return fixtures


def start_server(
    env: dict[str, str], port: int, workers: int, root: Path = ROOT
) -> subprocess.Popen[bytes]:
    """Start gunicorn on the code in `root` and wait until /healthz answers 200."""
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py"],
        cwd=root,
        # PYTHONPATH first: the virtualenv's editable install points at this worktree.
        env=dict(
            env, BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY=str(workers), PYTHONPATH=str(root)
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.3)
    stop_server(server)
    raise SystemExit("gunicorn did not start within 60 s")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    """Stop gunicorn and its workers."""
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=30)


class Client(threading.Thread):
    """One keep-alive connection making calls from the mix until told to stop."""

    def __init__(
        self,
        number: int,
        port: int,
        fixtures: Fixtures,
        tally: Tally,
        budget: Budget,
        tag: str,
        mix: dict[str, int],
        conditional: bool = True,
    ) -> None:
        super().__init__(daemon=True)
        self.mix = mix
        self.conditional = conditional
        self.number = number
        self.port = port
        self.fixtures = fixtures
        self.tally = tally
        self.budget = budget
        self.tag = tag
        self.random = random.Random(number)
        self.etags: dict[str, str] = dict(fixtures.etags)
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, method: str, path: str, headers: dict[str, str], body: bytes | None = None):  # type: ignore[no-untyped-def]
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            return response.status, response.getheader("ETag"), response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            raise

    def run(self) -> None:
        kinds = list(self.mix)
        weights = list(self.mix.values())
        n = 0
        while self.budget.take():
            kind = self.random.choices(kinds, weights)[0]
            n += 1
            started = time.perf_counter()
            try:
                kind, status = getattr(self, kind.replace(" ", "_"))(n)
            except (OSError, http.client.HTTPException) as error:
                with self.tally.lock:
                    self.tally.failures.append(f"{kind}: {type(error).__name__}: {error}")
                continue
            self.tally.add(kind, status, time.perf_counter() - started)

    def catalogue(self, n: int) -> tuple[str, int]:
        choice = n % 3
        if choice == 0:
            path = "/api/v1/facilities"
        elif choice == 1:
            path = f"/api/v1/facilities/{self.random.choice(self.fixtures.facility_slugs)}"
        else:
            path = f"/facilities/{self.random.choice(self.fixtures.facility_slugs)}"
        status, _etag, _body = self.call("GET", path, {})
        return "catalogue", status

    def availability(self, n: int) -> tuple[str, int]:
        member = self.random.choice(self.fixtures.members)
        unit = self.random.choice(self.fixtures.unit_slugs)
        status, _etag, _body = self.call(
            "GET",
            f"/api/v1/equipment/{unit}/availability",
            {"Authorization": f"Bearer {member.token}"},
        )
        return "availability", status

    def baseline(self, n: int) -> tuple[str, int]:
        status, _etag, _body = self.call("GET", "/healthz", {})
        return BASELINE, status

    def feed(self, n: int) -> tuple[str, int]:
        token = self.random.choice(self.fixtures.feed_tokens)
        known = self.conditional and token in self.etags
        headers = {"If-None-Match": self.etags[token]} if known else {}
        status, etag, _body = self.call("GET", f"/feeds/{token}.ics", headers)
        if etag:
            self.etags[token] = etag
        return ("feed 304" if headers else "feed"), status

    def submit(self, n: int) -> tuple[str, int]:
        member = self.random.choice(self.fixtures.members)
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30 + n % 20)
        title = f"bench-{self.tag}-{self.number}-{n}"
        body = {
            "project_id": member.project_id,
            "title": title,
            "earliest_start": start.isoformat(),
            "deadline": (start + timedelta(days=14)).isoformat(),
            "steps": [{"duration_minutes": 60, "unit_ids": [self.random.choice(member.unit_ids)]}],
        }
        headers = {"Authorization": f"Bearer {member.token}", "Content-Type": "application/json"}
        status, _etag, raw = self.call(
            "POST", "/api/v1/requests", headers, json.dumps(body).encode()
        )
        if status == 201:
            with self.tally.lock:
                self.tally.created[title] = int(json.loads(raw)["id"])
        elif status != 422:
            with self.tally.lock:
                self.tally.failures.append(f"submit {status}: {raw[:200]!r}")
        return "submit", status


class Budget:
    """A shared allowance: a number of calls and a wall-clock deadline, whichever ends first."""

    def __init__(self, calls: int, deadline: float) -> None:
        self.left = calls
        self.deadline = deadline
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            if self.left <= 0 or time.time() >= self.deadline:
                return False
            self.left -= 1
            return True


def drive(
    first: int,
    count: int,
    port: int,
    fixtures: Fixtures,
    calls: int,
    window: tuple[float, float],
    tag: str,
    mix: dict[str, int],
    conditional: bool,
) -> dict[str, Any]:
    """Run `count` client threads in this process within the wall-clock window; return the tally.

    Runs in its own process, so the load generator has a GIL (and a core) of its own."""
    start, deadline = window
    time.sleep(max(0.0, start - time.time()))
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    tally = Tally()
    budget = Budget(calls, deadline)
    clients = [
        Client(first + n, port, fixtures, tally, budget, tag, mix, conditional)
        for n in range(count)
    ]
    for client in clients:
        client.start()
    for client in clients:
        client.join(timeout=max(0.0, deadline - time.time()) + 60)
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    tally.client_cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (
        cpu_after.ru_stime - cpu_before.ru_stime
    )
    return tally.plain()


def run_clients(
    port: int,
    fixtures: Fixtures,
    clients: int,
    processes: int,
    calls: int,
    seconds: float,
    tag: str,
    mix: dict[str, int] = MIX,
    conditional: bool = True,
) -> Tally:
    """Spread the clients over `processes` processes and merge what they measured."""
    processes = max(1, min(processes, clients))
    # Everyone starts together once the processes are up: give them a moment to spawn.
    start = time.time() + 3.0
    window = (start, start + seconds)
    shares = [
        clients // processes + (1 if i < clients % processes else 0) for i in range(processes)
    ]
    tally = Tally()
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        pending = []
        first = 0
        for share in shares:
            pending.append(
                pool.apply_async(
                    drive,
                    (
                        first,
                        share,
                        port,
                        fixtures,
                        calls // processes,
                        window,
                        tag,
                        mix,
                        conditional,
                    ),
                )
            )
            first += share
        for result in pending:
            tally.merge(result.get(timeout=seconds + 180))
    return tally


def _cpu_seconds(pid: int) -> float | None:
    """Return the user + system CPU seconds a process has used so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # After the command: state is field 3; utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu(process_group: int) -> dict[int, float]:
    """Return the CPU seconds of every process in gunicorn's process group (master, workers)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == process_group:
            seconds = _cpu_seconds(int(entry.name))
            if seconds is not None:
                found[int(entry.name)] = seconds
    return found


def database_cpu(database_url: str) -> dict[int, float]:
    """Return the CPU seconds of the PostgreSQL backends serving the benchmark's database."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            pids = conn.scalars(
                text(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).all()
    finally:
        engine.dispose()
    found = {pid: _cpu_seconds(pid) for pid in pids}
    return {pid: seconds for pid, seconds in found.items() if seconds is not None}


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """Return the CPU seconds spent between two snapshots (processes born between count whole).

    A process that ended between the snapshots is missed: the figure is a lower bound."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def percentile(values: list[float], share: float) -> float:
    """Return the value below which `share` of the sorted values lie (nearest rank)."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(share * len(ordered) + 0.5)) - 1))
    return ordered[index]


def check_writes(database_url: str, tag: str, created: dict[str, int]) -> dict[str, int]:
    """Compare the stored benchmark requests with the acknowledged ones."""
    engine = create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, title FROM requests WHERE title LIKE :p"), {"p": f"bench-{tag}-%"}
        ).all()
    engine.dispose()
    stored_ids = {row.id for row in rows}
    titles = [row.title for row in rows]
    return {
        "acknowledged": len(created),
        "stored": len(rows),
        "lost": sum(1 for i in created.values() if i not in stored_ids),
        "duplicated": len(titles) - len(set(titles)),
        "unacknowledged": len(stored_ids - set(created.values())),
    }


def report(tally: Tally, seconds: float, writes: dict[str, int], load: tuple[float, ...]) -> bool:
    """Print the table and tell whether every target was met."""
    total = sum(len(v) for v in tally.latencies.values())
    print(f"\n{total} calls in {seconds:.1f} s: {total / seconds:.0f} calls/s")
    if tally.phase_cpu:
        print("(each kind alone in its own phase; calls/s is the average over all phases)")
    print(f"load average before/after: {load[0]:.2f} / {load[1]:.2f} ({os.cpu_count()} CPUs)")
    # CPU time per call does not depend on how many neighbours share the cores.
    per_call = 1000 / max(1, total)
    print(
        f"CPU per call: gunicorn {tally.server_cpu * per_call:.1f} ms, "
        f"PostgreSQL {tally.database_cpu * per_call:.1f} ms, "
        f"clients {tally.client_cpu * per_call:.1f} ms\n"
    )
    # Run alone, a kind's phase's CPU divided by its calls is that kind's own cost per call.
    per_kind = " gunicorn CPU ms/call | PostgreSQL CPU ms/call |" if tally.phase_cpu else ""
    print(
        "| kind | calls | p50 ms | p95 ms | p99 ms | p50 ÷ baseline | p95 ÷ baseline |"
        f"{per_kind} statuses |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|" + ("---:|---:|" if per_kind else "") + "---|")
    ok = True
    errors = 0
    base = tally.latencies.get(BASELINE) or [float("nan")]
    base50, base95 = percentile(base, 0.5), percentile(base, 0.95)
    for kind in sorted(tally.latencies):
        values = tally.latencies[kind]
        p50, p95, p99 = (percentile(values, s) for s in (0.5, 0.95, 0.99))
        statuses = ", ".join(f"{code}×{n}" for code, n in sorted(tally.statuses[kind].items()))
        errors += sum(n for code, n in tally.statuses[kind].items() if code >= 500)
        cpu = ""
        if kind in tally.phase_cpu:
            server, database = tally.phase_cpu[kind]
            cpu = f" {server * 1000 / len(values):.2f} | {database * 1000 / len(values):.2f} |"
        elif per_kind:
            cpu = " | |"
        print(
            f"| {kind} | {len(values)} | {p50 * 1000:.1f} | {p95 * 1000:.1f} | {p99 * 1000:.1f}"
            f" | {p50 / base50:.2f} | {p95 / base95:.2f} |{cpu} {statuses} |"
        )
        if kind in READ_KINDS and p95 >= 0.1:
            ok = False
    print(f"\n5xx: {errors}; connection failures: {len(tally.failures)}")
    for failure in tally.failures[:10]:
        print(f"  {failure}")
    print("writes: " + ", ".join(f"{k} {v}" for k, v in writes.items()))
    return ok and errors == 0 and writes["lost"] == 0 and writes["duplicated"] == 0


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    from app.config import normalise_database_url

    server_url = normalise_database_url(args.database_url)
    if make_url(server_url).host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("the benchmark runs against a loopback PostgreSQL only")
    tag = uuid.uuid4().hex[:8]
    name = f"pilotslot_bench_{tag}"
    database_url = create_database(server_url, name)
    instance = tempfile.mkdtemp(prefix="pilotslot-bench-")
    try:
        env = _server_env(args, database_url, tag, instance)
        os.environ["PILOTSLOT_INSTANCE_DIR"] = env["PILOTSLOT_INSTANCE_DIR"]
        print(f"database {name}: migrating, syncing facilities.yaml, loading the demo data")
        flask_command(env, "db", "upgrade")
        flask_command(env, "facilities", "sync")
        flask_command(env, "demo", "load")
        met = _measure(args, env, database_url, tag)
    finally:
        drop_database(server_url, name)
        shutil.rmtree(instance, ignore_errors=True)
        _forget_rate_limit_keys(args.redis_url, f"bench-{tag}")
    print("targets met" if met else "TARGETS MISSED")
    return 0 if met else 1


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--max-requests", type=int, default=200_000, help="hard cap on calls")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--threads", type=int, default=None, help="gunicorn threads per worker (its default)"
    )
    parser.add_argument(
        "--processes", type=int, default=2, help="client processes the clients are spread over"
    )
    parser.add_argument(
        "--separately",
        action="store_true",
        help="run each kind alone for --seconds, to measure its CPU time per call",
    )
    parser.add_argument(
        "--kinds",
        default=",".join(PHASES),
        help="with --separately or --compare: the phases to run, comma-separated",
    )
    parser.add_argument(
        "--compare",
        metavar="REF",
        help="also serve git ref REF and measure each kind's CPU per call on both, side by side",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="with --compare: rounds of every kind on both"
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="a PostgreSQL server (its database is only used to create the benchmark's own)",
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in PHASES]
    if unknown or not kinds:
        parser.error(f"--kinds takes some of: {', '.join(PHASES)}")
    args.kinds = kinds
    if args.compare:
        args.separately = True
    return args


def _server_env(
    args: argparse.Namespace, database_url: str, tag: str, instance: str
) -> dict[str, str]:
    """Return the environment of the Flask commands and gunicorn for this run."""
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        SECRET_KEY=f"bench-{tag}",
        REDIS_URL=args.redis_url,
        PILOTSLOT_RATELIMIT_PREFIX=f"bench-{tag}",
        # Every client shares one address; the limits would measure themselves, not the app.
        PILOTSLOT_API_RATE_LIMIT="1000000/minute",
        PILOTSLOT_FEED_RATE_LIMIT="1000000/minute",
        PILOTSLOT_INSTANCE_DIR=instance,
    )
    if args.threads:
        env["GUNICORN_THREADS"] = str(args.threads)
    return env


def _measure(args: argparse.Namespace, env: dict[str, str], database_url: str, tag: str) -> bool:
    """Start gunicorn, drive the clients, stop it, check the writes; return whether every
    target was met."""
    fixtures = prepare(database_url)
    if args.compare:
        return compare(args, env, database_url, tag, fixtures)
    port = free_port()
    server = start_server(env, port, args.workers)
    try:
        print(
            f"gunicorn ({args.workers} workers, {env.get('GUNICORN_THREADS', 'default')} threads)"
            f" on 127.0.0.1:{port}; {args.clients} clients in {args.processes} processes"
            f" for {args.seconds:.0f} s"
        )
        load_before = os.getloadavg()[0]
        if args.separately:
            tally = Tally()
            for kind in args.kinds:
                mix_kind, conditional = PHASES[kind]
                if conditional:
                    fixtures.etags = feed_etags(port, fixtures.feed_tokens)
                phase = measured_run(
                    server.pid, database_url, port, fixtures, args, tag, {mix_kind: 1}, conditional
                )
                fixtures.etags = {}
                tally.absorb(phase)
                tally.phase_cpu[kind] = (phase.server_cpu, phase.database_cpu)
                print(f"  {kind}: {sum(len(v) for v in phase.latencies.values())} calls")
            elapsed = args.seconds * len(args.kinds)
        else:
            tally = measured_run(server.pid, database_url, port, fixtures, args, tag, MIX, True)
            elapsed = args.seconds
        load_after = os.getloadavg()[0]
    finally:
        stop_server(server)
    writes = check_writes(database_url, tag, tally.created)
    return report(tally, elapsed, writes, (load_before, load_after))


def measured_run(
    server_pid: int,
    database_url: str,
    port: int,
    fixtures: Fixtures,
    args: argparse.Namespace,
    tag: str,
    mix: dict[str, int],
    conditional: bool,
) -> Tally:
    """Run the clients on a mix and measure the CPU gunicorn and PostgreSQL spent meanwhile."""
    server_before, database_before = server_cpu(server_pid), database_cpu(database_url)
    tally = run_clients(
        port,
        fixtures,
        args.clients,
        args.processes,
        args.max_requests,
        args.seconds,
        tag,
        mix,
        conditional,
    )
    tally.server_cpu = cpu_used(server_before, server_cpu(server_pid))
    tally.database_cpu = cpu_used(database_before, database_cpu(database_url))
    return tally


def export_tree(ref: str) -> Path:
    """Write the files of git ref `ref` to a temporary directory and return it.

    Compiled translations are not in git: this worktree's are copied in."""
    target = Path(tempfile.mkdtemp(prefix="pilotslot-bench-ref-"))
    archive = subprocess.run(
        ["git", "archive", "--format=tar", ref], cwd=ROOT, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    for compiled in (ROOT / "app" / "translations").rglob("*.mo"):
        copy = target / compiled.relative_to(ROOT)
        if not copy.exists():
            shutil.copyfile(compiled, copy)
    return target


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()


def compare(
    args: argparse.Namespace,
    env: dict[str, str],
    database_url: str,
    tag: str,
    fixtures: Fixtures,
) -> bool:
    """Serve REF and this tree side by side, run each kind on both (alternating which goes
    first), and print gunicorn and PostgreSQL CPU per call of each kind on each."""
    dirty = "+" if _git("status", "--porcelain", "--untracked-files=no") else ""
    labels = {
        "before": f"{args.compare} ({_git('rev-parse', '--short', args.compare)})",
        "after": f"this tree ({_git('rev-parse', '--short', 'HEAD')}{dirty})",
    }
    tree = export_tree(args.compare)
    servers: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
    # Per (code, kind): calls, gunicorn CPU seconds, PostgreSQL CPU seconds.
    totals: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    everything = Tally()
    try:
        for code, root in (("before", tree), ("after", ROOT)):
            port = free_port()
            servers[code] = (start_server(env, port, args.workers, root), port)
        print(
            f"before: {labels['before']}; after: {labels['after']}; {args.workers} gunicorn "
            f"workers each; {args.clients} clients, {args.seconds:.0f} s per phase, "
            f"{args.rounds} round(s)"
        )
        load_before = os.getloadavg()
        for round_number in range(args.rounds):
            for index, kind in enumerate(args.kinds):
                mix_kind, conditional = PHASES[kind]
                order = (
                    ["before", "after"] if (round_number + index) % 2 == 0 else ["after", "before"]
                )
                for code in order:
                    server, port = servers[code]
                    fixtures.etags = feed_etags(port, fixtures.feed_tokens) if conditional else {}
                    phase = measured_run(
                        server.pid,
                        database_url,
                        port,
                        fixtures,
                        args,
                        tag,
                        {mix_kind: 1},
                        conditional,
                    )
                    fixtures.etags = {}
                    everything.absorb(phase)
                    calls = sum(len(v) for v in phase.latencies.values())
                    total = totals[(code, kind)]
                    total[0] += calls
                    total[1] += phase.server_cpu
                    total[2] += phase.database_cpu
                    print(
                        f"  round {round_number + 1}, {kind}, {code}: {calls} calls, gunicorn "
                        f"{phase.server_cpu * 1000 / max(1, calls):.2f} ms/call, "
                        f"load {os.getloadavg()[0]:.2f}"
                    )
        load_after = os.getloadavg()
    finally:
        for server, _port in servers.values():
            stop_server(server)
        shutil.rmtree(tree, ignore_errors=True)
    print(
        "\nload average (1, 5, 15 min) at the start: "
        + ", ".join(f"{x:.2f}" for x in load_before)
        + "; at the end: "
        + ", ".join(f"{x:.2f}" for x in load_after)
        + f" ({os.cpu_count()} CPUs)"
    )
    print("gunicorn CPU ms per call (PostgreSQL CPU ms per call in brackets):\n")
    print("| code | " + " | ".join(args.kinds) + " |")
    print("|---|" + "---:|" * len(args.kinds))
    for code in ("before", "after"):
        cells = []
        for kind in args.kinds:
            calls, server_seconds, database_seconds = totals[(code, kind)]
            per = 1000 / max(1.0, calls)
            cells.append(f"{server_seconds * per:.2f} ({database_seconds * per:.2f})")
        print(f"| {labels[code]} | " + " | ".join(cells) + " |")
    errors = sum(
        n for codes in everything.statuses.values() for status, n in codes.items() if status >= 500
    )
    writes = check_writes(database_url, tag, everything.created)
    print(f"\n5xx: {errors}; connection failures: {len(everything.failures)}")
    for failure in everything.failures[:10]:
        print(f"  {failure}")
    print("writes: " + ", ".join(f"{k} {v}" for k, v in writes.items()))
    return errors == 0 and writes["lost"] == 0 and writes["duplicated"] == 0


def feed_etags(port: int, tokens: list[str]) -> dict[str, str]:
    """Fetch every feed once and return its ETag, so that a phase's fetches are all 304s."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    found = {}
    try:
        for token in tokens:
            conn.request("GET", f"/feeds/{token}.ics")
            response = conn.getresponse()
            response.read()
            etag = response.getheader("ETag")
            if etag:
                found[token] = etag
    finally:
        conn.close()
    return found


def _forget_rate_limit_keys(redis_url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url, socket_connect_timeout=2)
    try:
        keys = list(client.scan_iter(match=f"*{prefix}*"))
        if keys:
            client.delete(*keys)
    except redis.RedisError:
        pass
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())
