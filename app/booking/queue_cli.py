"""`flask worker` (a solver host) and `flask queue region|night` (the nightly re-solve)."""

from __future__ import annotations

import importlib
import logging

import click
import redis
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from app.booking import queue as solve_queue
from app.errors import ServiceUnavailable

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
queue_cli = AppGroup("queue", help="The solve queue.")


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop once the queue is empty.")
@click.option("--name", default=None, help="The worker's name (default: a random one).")
@with_appcontext
def worker_command(burst: bool, name: str | None) -> None:
    """Serve the solve queue: run solves as they come; start any number, on any hosts."""
    if not solve_queue.configured():
        raise click.ClickException(
            "no solve queue configured: set REDIS_URL (or PILOTSLOT_SOLVE_QUEUE_URL)"
        )
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    # No socket timeout: the worker blocks on Redis for the next job.
    client = redis.Redis.from_url(current_app.config["SOLVE_QUEUE_URL"], socket_connect_timeout=5)
    try:
        client.ping()
    except redis.RedisError as error:
        raise click.ClickException(f"the solve queue is not reachable: {error}") from error
    # Load OR-Tools (and the pandas it imports) once here: every work horse forked from this
    # process then has it, instead of spending about a second of each solve's time limit on it.
    importlib.import_module("scheduler.cpsat.search")
    worker = solve_queue.SolveWorker(
        [solve_queue.solve_queue(client)], connection=client, name=name
    )
    worker.work(burst=burst, logging_level="INFO", with_scheduler=False)


@queue_cli.command("region")
@click.option("--night", default=None, help="The night (YYYY-MM-DD; default: tonight).")
def region_command(night: str | None) -> None:
    """Queue tonight's re-solve of every active facility, each once per night."""
    try:
        outcome = solve_queue.resolve_region(night)
    except ServiceUnavailable as error:
        raise click.ClickException(error.detail) from error
    except ValueError as error:
        raise click.ClickException(f"--night: {error}") from error
    click.echo(
        f"queued {len(outcome['queued'])} facilities; "
        f"{len(outcome['already'])} already had their re-solve this night"
    )


@queue_cli.command("night")
@click.option("--night", default=None, help="The night (YYYY-MM-DD; default: tonight).")
def night_command(night: str | None) -> None:
    """Print which facilities the night's re-solve solved, skipped or failed."""
    try:
        summary = solve_queue.night_summary(night or solve_queue.tonight())
    except ServiceUnavailable as error:
        raise click.ClickException(error.detail) from error
    for state in solve_queue.STATES:
        for entry in summary[state]:
            details = " ".join(f"{k}={v}" for k, v in entry.items() if k != "facility")
            click.echo(f"{state:<8} {entry['facility']:<24} {details}".rstrip())
    counts = ", ".join(f"{len(summary[s])} {s}" for s in solve_queue.STATES)
    click.echo(f"night {night or solve_queue.tonight()}: {counts}")
