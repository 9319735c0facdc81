"""`make run`: serve the app on 127.0.0.1 for development and demos, the scheduler beside it."""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import subprocess
import sys
from types import FrameType

from app import create_app
from app.config import PROJECT_ROOT

_PR_SET_PDEATHSIG = 1


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


def stop_scheduler(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """Stop the scheduler cleanly (it gives its lease up), or kill it if it hangs."""
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
    app = create_app()
    scheduler = None if args.no_scheduler else start_scheduler()
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        app.run(host=args.host, port=args.port, threaded=True, use_reloader=False)
    finally:
        if scheduler is not None:
            stop_scheduler(scheduler)


if __name__ == "__main__":
    main()
