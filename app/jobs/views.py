"""Pages: the administrators' view of background jobs, and each user's in-app reminders."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, redirect, render_template, url_for
from flask_login import login_required

from app.accounts.security import require_admin, user
from app.dbtypes import utcnow
from app.jobs import outbox, overview

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


@bp.get("/reminders")
@login_required
def reminders() -> str:
    """List the user's reminders (shown here when no mail server is configured)."""
    me = user()
    return render_template(
        "jobs/reminders.html",
        messages=outbox.messages_for(me, utcnow()),
        smtp_configured=bool(current_app.config.get("SMTP_URL")),
    )


@bp.post("/reminders/<int:message_id>/read")
@login_required
def reminder_read(message_id: int) -> Response:
    """Mark one of the user's reminders read."""
    outbox.mark_read(user(), message_id)
    return redirect(url_for("jobs.reminders"))
