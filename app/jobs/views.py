"""Pages: the administrators' view of background jobs."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask_login import login_required

from app.access import require_admin
from app.accounts.security import user
from app.dbtypes import utcnow
from app.jobs import overview

bp = Blueprint("jobs", __name__)


@bp.get("/admin/jobs")
@login_required
def admin_jobs() -> str:
    """Show the lease, every job's next run and latest outcome, and recent failures."""
    require_admin(user())
    now = utcnow()
    state = overview.lease_state(now)
    return render_template(
        "jobs/admin.html",
        lease=state,
        jobs=overview.jobs(),
        failures=overview.recent_failures(),
        runs=overview.recent_runs(),
        run_state=lambda run: overview.run_state(run, state),
        outbox=overview.outbox_counts(),
        smtp_configured=bool(current_app.config.get("SMTP_URL")),
    )
