"""`flask facilities ...`: the catalogue file's commands."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

facilities_cli = AppGroup("facilities", help="The equipment catalogue (facilities.yaml).")


@facilities_cli.command("sync")
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False),
    default=None,
    help="The catalogue file (default: FACILITIES_FILE, facilities.yaml).",
)
@click.option("--dry-run", is_flag=True, help="Report what would change; write nothing.")
@click.option(
    "--allow-retire",
    is_flag=True,
    help="Allow a sync that retires much of the catalogue (docs/catalogue.md).",
)
def sync_command(path: str | None, dry_run: bool, allow_retire: bool) -> None:
    """Load facilities.yaml into the database: add, update, retire; all or nothing."""
    from app.catalog.sync import CatalogueInvalid, RetireRefused, sync_catalogue

    try:
        report = sync_catalogue(
            path or current_app.config["FACILITIES_FILE"],
            dry_run=dry_run,
            allow_retire=allow_retire,
        )
    except CatalogueInvalid as error:
        for line in error.lines:
            click.echo(line, err=True)
        raise SystemExit(1) from error
    except RetireRefused as error:
        click.echo(error.detail, err=True)
        raise SystemExit(1) from error
    click.echo(str(report))
