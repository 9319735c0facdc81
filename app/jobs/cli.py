"""`flask scheduler run` and `flask scheduler status`."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

import click
from flask import current_app
from flask.cli import AppGroup

from app.dbtypes import utcnow
from app.jobs import overview
from app.jobs.scheduler import SchedulerProcess

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
scheduler_cli = AppGroup("scheduler", help="Background jobs.")


@scheduler_cli.command("run")
def run_command() -> None:
    """Run the scheduler; several may run, the holder of the lease acts, the others stand by."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    process = SchedulerProcess(app)
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger(__name__).info("signal %d: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    click.echo(f"scheduler {process.holder}: waiting for the lease")
    process.run(stop)


@scheduler_cli.command("status")
def status_command() -> None:
    """Print the lease holder, each job's next run and its last outcome."""
    now = utcnow()
    state = overview.lease_state(now)
    if not state.holder:
        click.echo("lease: never taken (no scheduler has run)")
    elif state.held:
        click.echo(f"lease: held by {state.holder} until {state.expires_at:%Y-%m-%d %H:%M:%S} UTC")
    else:
        click.echo(
            f"lease: free (last held by {state.holder}, expired "
            f"{state.expires_at:%Y-%m-%d %H:%M:%S} UTC)"
        )
    jobs = overview.jobs()
    if not jobs:
        click.echo("jobs: none stored yet")
    for job in jobs:
        when = f"{job.next_run:%Y-%m-%d %H:%M:%S} UTC" if job.next_run else "paused"
        last = ""
        if job.last is not None:
            outcome = overview.run_state(job.last, state)
            last = f"  last: {job.last.started_at:%Y-%m-%d %H:%M:%S} {outcome}"
        click.echo(f"{job.id:<32} next {when}{last}")
