"""Command-line groups; each command is a few lines around a service."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from app.database import MAX_INTEGER
from app.errors import AppError

users_cli = AppGroup("users", help="Accounts.")


@users_cli.command("create")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--admin", is_flag=True, help="Make the account an administrator.")
def create_user_command(email: str, name: str, password: str, admin: bool) -> None:
    """Create an account."""
    from app.accounts.services import create_user

    try:
        user = create_user(email, name, password, is_admin=admin)
    except AppError as error:
        raise click.ClickException(f"{error.field}: {error.detail}") from error
    click.echo(f"created {user.email}{' (administrator)' if admin else ''}")


@users_cli.command("set-password")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def set_password_command(email: str, password: str) -> None:
    """Reset an account's password (account recovery for administrators)."""
    from sqlalchemy import func, select

    from app.accounts.models import User
    from app.accounts.services import set_password
    from app.extensions import db

    user = db.session.scalar(select(User).where(func.lower(User.email) == email.lower()))
    if user is None:
        raise click.ClickException(f"no account {email}")
    try:
        set_password(user, password)
    except AppError as error:
        raise click.ClickException(f"{error.field}: {error.detail}") from error
    click.echo(f"password of {user.email} changed; its sessions were ended")


demo_cli = AppGroup("demo", help="Demo data.")


@demo_cli.command("load")
def demo_load_command() -> None:
    """Create the demo startups, accounts and congested fortnight (idempotent)."""
    from app.demo import load

    try:
        report = load()
    except AppError as error:
        raise click.ClickException(error.detail) from error
    click.echo(str(report))


schedule_cli = AppGroup("schedule", help="Solve runs.")


@schedule_cli.command("run")
@click.argument("facility_slug")
@click.option("--time-limit", type=float, default=None, help="Seconds (default: configured).")
@click.option(
    "--work-limit",
    type=float,
    default=None,
    help="Work units: the plan replays exactly (default: PILOTSLOT_SOLVER_WORK_LIMIT, if set).",
)
def schedule_run_command(
    facility_slug: str, time_limit: float | None, work_limit: float | None
) -> None:
    """Solve a facility's open requests in the foreground and print the progress."""
    from sqlalchemy import select

    import scheduler
    from app.booking.models import SolveRun
    from app.booking.runs import execute_run, replay_command, start_solve
    from app.catalog.models import Facility
    from app.extensions import db

    facility = db.session.scalar(select(Facility).where(Facility.slug == facility_slug))
    if facility is None:
        raise click.ClickException(f"no facility {facility_slug}")
    try:
        run = start_solve(
            None,
            facility.id,
            time_limit=time_limit,
            work_limit=work_limit,
            trigger="cli",
            launch=False,
        )
    except AppError as error:
        raise click.ClickException(error.detail) from error

    def show(progress: scheduler.Progress) -> None:
        click.echo(
            f"{progress.elapsed_seconds:7.1f} s  best {progress.objective:g}  "
            f"bound {progress.bound:g}  ({progress.components_done}/"
            f"{progress.components_total} groups)"
        )

    click.echo(f"solve run {run.id} of {facility.slug}")
    execute_run(run.id, on_progress=show)
    db.session.expire_all()
    finished = db.session.get(SolveRun, run.id)
    assert finished is not None
    if finished.proposal is None:
        raise click.ClickException(f"run {run.id} {finished.status}: {finished.error}")
    metrics = finished.proposal.metrics
    click.echo(f"replay: {replay_command(finished)}")
    click.echo(
        f"proposal {finished.proposal.id}: {metrics['accepted_requests']}/{metrics['requests']} "
        f"requests, weight {metrics['accepted_weight']} "
        f"(first come, first served: {metrics['fcfs']['accepted_weight']}), "
        f"{len(finished.proposal.unplaced)} unplaced"
    )


@schedule_cli.command("export")
@click.argument("run_id", type=click.IntRange(1, MAX_INTEGER))
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), required=True)
def schedule_export_command(run_id: int, output: str) -> None:
    """Write the problem file of a solve run (reproduce it with `python -m scheduler solve`)."""
    from pathlib import Path

    from app.booking.models import SolveRun
    from app.extensions import db

    run = db.session.get(SolveRun, run_id)
    if run is None or run.problem_json is None:
        raise click.ClickException(f"run {run_id} has no problem file")
    Path(output).write_text(run.problem_json, encoding="utf-8")
    click.echo(f"wrote {output}")


backup_cli = AppGroup("backup", help="Backups of the application database.")


@backup_cli.command("create")
@click.argument("destination", type=click.Path(dir_okay=False))
def backup_create_command(destination: str) -> None:
    """Back up the database: SQLite's online backup, or pg_dump for PostgreSQL."""
    from pathlib import Path

    from flask import current_app

    from app.backup import backup_postgres, backup_sqlite

    url = current_app.config["SQLALCHEMY_DATABASE_URI"]
    try:
        if url.startswith("sqlite"):
            backup_sqlite(url, Path(destination))
        else:
            backup_postgres(url, Path(destination))
    except AppError as error:
        raise click.ClickException(error.detail) from error
    click.echo(f"backed up to {destination}")


@backup_cli.command("restore")
@click.argument("dump", type=click.Path(exists=True, dir_okay=False))
def backup_restore_command(dump: str) -> None:
    """Restore a pg_dump file into the configured PostgreSQL database."""
    from pathlib import Path

    from flask import current_app

    from app.backup import restore_postgres

    try:
        restore_postgres(current_app.config["SQLALCHEMY_DATABASE_URI"], Path(dump))
    except AppError as error:
        raise click.ClickException(error.detail) from error
    click.echo(f"restored {dump}")


def register(app: Flask) -> None:
    """Attach every command group."""
    from app.booking.queue_cli import queue_cli, worker_command
    from app.catalog.cli import facilities_cli
    from app.jobs.cli import scheduler_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(facilities_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(schedule_cli)
    app.cli.add_command(backup_cli)
    app.cli.add_command(scheduler_cli)
    app.cli.add_command(queue_cli)
    app.cli.add_command(worker_command)
