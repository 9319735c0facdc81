"""`make run`: serve the app on 127.0.0.1 for development and demos, the scheduler beside it.

Solves go on the solve queue with one `flask worker` beside the server when Redis answers
(REDIS_URL, else a local Redis on its default port); without Redis each solve gets a worker
process of its own, as before the queue."""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import os
import signal
import subprocess
import sys
from types import FrameType

import redis

from app import create_app
from app.config import PROJECT_ROOT, from_environment

_PR_SET_PDEATHSIG = 1
LOCAL_REDIS = "redis://127.0.0.1:6379/0"


def _die_with_parent() -> None:
    """Ask Linux to stop this child when its parent dies, even by SIGKILL."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def start_scheduler() -> subprocess.Popen[bytes]:
    """Start `flask scheduler run` as a child process on the same environment."""
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "scheduler", "run"],
        cwd=PROJECT_ROOT,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    )


def use_solve_queue() -> bool:
    """Point this process and its children at a solve queue if Redis answers; say if it does.

    A queue found by looking (no REDIS_URL) is named after the database, so two checkouts
    sharing one Redis never take each other's jobs."""
    configured = from_environment()
    url = configured["SOLVE_QUEUE_URL"] or LOCAL_REDIS
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5).ping()
    except redis.RedisError:
        return False
    if not configured["SOLVE_QUEUE_URL"]:
        database = hashlib.sha1(configured["SQLALCHEMY_DATABASE_URI"].encode()).hexdigest()
        os.environ["PILOTSLOT_SOLVE_QUEUE_URL"] = url
        os.environ["PILOTSLOT_SOLVE_QUEUE"] = f"pilotslot-dev-{database[:10]}"
    return True


def start_worker() -> subprocess.Popen[bytes]:
    """Start `flask worker` (one solver host) as a child process on the same environment."""
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "worker"],
        cwd=PROJECT_ROOT,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    )


def stop_scheduler(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """Stop the scheduler (or the worker) cleanly, or kill it if it hangs."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _exit_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    # Unwinds the server loop like Ctrl-C does, so the scheduler is stopped on the way out.
    raise SystemExit(128 + signum)


def main() -> None:
    """Serve the app with Flask's threaded development server and run the scheduler."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "5000")))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--no-scheduler", action="store_true", help="Serve pages only; run no background jobs."
    )
    args = parser.parse_args()
    worker = start_worker() if use_solve_queue() else None
    app = create_app()
    scheduler = None if args.no_scheduler else start_scheduler()
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        app.run(host=args.host, port=args.port, threaded=True, use_reloader=False)
    finally:
        for child in (scheduler, worker):
            if child is not None:
                stop_scheduler(child)


if __name__ == "__main__":
    main()
