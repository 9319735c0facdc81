"""Administration pages: accounts and roles, and running the catalogue sync."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from app import access, confirm
from app.accounts import security
from app.accounts.models import Project, User
from app.admin import services
from app.admin.forms import AccountForm, ManagerForm, MemberForm, ProjectForm
from app.booking.forms import apply_errors
from app.catalog.models import Facility
from app.catalog.sync import sync_catalogue
from app.errors import AppError, NotFound, ValidationError
from app.extensions import db
from app.i18n import localised

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _admin() -> User:
    user = security.user()
    access.require_admin(user)
    return user


def _forms() -> dict[str, Any]:
    forms: dict[str, Any] = {
        "account_form": AccountForm(prefix="account"),
        "project_form": ProjectForm(prefix="project"),
        "member_form": MemberForm(prefix="member"),
        "manager_form": ManagerForm(prefix="manager"),
    }
    projects = db.session.scalars(select(Project).order_by(Project.name)).all()
    facilities = db.session.scalars(select(Facility).order_by(Facility.slug)).all()
    forms["member_form"].project_id.choices = [(p.id, p.name) for p in projects]
    forms["manager_form"].facility_id.choices = [(f.id, localised(f)) for f in facilities]
    return forms


def _page(
    forms: dict[str, Any], status: int = 200, report: Any = None, sync_error: str = ""
) -> Any:
    users = db.session.scalars(select(User).order_by(User.email)).all()
    projects = db.session.scalars(select(Project).order_by(Project.name)).all()
    return (
        render_template(
            "admin/index.html",
            users=users,
            projects=projects,
            report=report,
            sync_error=sync_error,
            facilities_file=current_app.config["FACILITIES_FILE"],
            **forms,
        ),
        status,
    )


@bp.get("/")
@login_required
def index() -> Any:
    _admin()
    return _page(_forms())


def _submit(form_name: str, call: Any, renames: dict[str, str], message: str) -> Any:
    """Validate one of the page's forms, call the service, and show errors beside fields."""
    forms = _forms()
    form = forms[form_name]
    if form.validate_on_submit():
        try:
            call(form)
        except AppError as error:
            problem = (
                error
                if isinstance(error, ValidationError)
                else ValidationError(error.detail, field=error.field or "email")
            )
            leftover = apply_errors(form, problem, renames)
            for text in leftover:
                flash(text)
        else:
            flash(message)
            return redirect(url_for("admin.index"))
    return _page(forms, 422)


@bp.post("/accounts")
@login_required
def account_create() -> Any:
    actor = _admin()
    return _submit(
        "account_form",
        lambda f: services.create_account(
            actor,
            email=f.email.data,
            name=f.name.data,
            password=f.password.data,
            is_admin=f.is_admin.data,
        ),
        {},
        _("Account created."),
    )


@bp.post("/projects")
@login_required
def project_create() -> Any:
    actor = _admin()
    return _submit(
        "project_form",
        lambda f: services.create_project(actor, name=f.name.data, origin=f.origin.data or ""),
        {},
        _("Project created."),
    )


@bp.post("/members")
@login_required
def member_add() -> Any:
    actor = _admin()
    return _submit(
        "member_form",
        lambda f: services.add_member(
            actor, email=f.email.data, project_id=f.project_id.data, role=f.role.data
        ),
        {},
        _("Member added."),
    )


@bp.post("/managers")
@login_required
def manager_add() -> Any:
    actor = _admin()
    return _submit(
        "manager_form",
        lambda f: services.make_manager(actor, email=f.email.data, facility_id=f.facility_id.data),
        {},
        _("Manager added."),
    )


@bp.post("/accounts/<int:user_id>/admin/<any(grant, revoke):change>")
@login_required
def admin_flag(user_id: int, change: str) -> BaseResponse:
    actor = _admin()
    try:
        services.set_admin(actor, user_id, change == "grant")
    except AppError as error:
        flash(error.detail)
    else:
        flash(_("Administration granted.") if change == "grant" else _("Administration revoked."))
    return redirect(url_for("admin.index"))


@bp.post("/accounts/<int:user_id>/<any(disable, enable):change>")
@login_required
def account_active(user_id: int, change: str) -> BaseResponse:
    actor = _admin()
    try:
        services.set_active(actor, user_id, change == "enable")
    except AppError as error:
        flash(error.detail)
    else:
        flash(
            _("Account enabled.")
            if change == "enable"
            else _("Account disabled; its sessions ended and its API tokens were revoked.")
        )
    return redirect(url_for("admin.index"))


@bp.post("/accounts/<int:user_id>/projects/<int:project_id>/remove")
@login_required
def member_remove(user_id: int, project_id: int) -> str | BaseResponse:
    actor = _admin()
    if not confirm.confirmed():
        member, project = db.session.get(User, user_id), db.session.get(Project, project_id)
        if member is None or project is None:
            raise NotFound(_("No such membership."))
        return confirm.confirmation_page(
            title=_("End a membership?"),
            message=membership_question(member, project),
            action=_("End membership"),
            back=url_for("admin.index"),
        )
    services.remove_member(actor, user_id=user_id, project_id=project_id)
    flash(_("Membership ended."))
    return redirect(url_for("admin.index"))


@bp.post("/accounts/<int:user_id>/facilities/<int:facility_id>/remove")
@login_required
def manager_remove(user_id: int, facility_id: int) -> str | BaseResponse:
    actor = _admin()
    if not confirm.confirmed():
        manager, facility = db.session.get(User, user_id), db.session.get(Facility, facility_id)
        if manager is None or facility is None:
            raise NotFound(_("No such manager."))
        return confirm.confirmation_page(
            title=_("Remove a manager?"),
            message=manager_question(manager, facility),
            action=_("Stop managing"),
            back=url_for("admin.index"),
        )
    services.remove_manager(actor, user_id=user_id, facility_id=facility_id)
    flash(_("Manager removed."))
    return redirect(url_for("admin.index"))


def membership_question(member: User, project: Project) -> str:
    """Say what ending a membership does."""
    return _(
        "End %(name)s's membership of %(project)s? They will no longer see the project's "
        "requests and bookings.",
        name=member.name,
        project=project.name,
    )


def manager_question(manager: User, facility: Facility) -> str:
    """Say what taking a facility from its manager does."""
    return _(
        "Stop %(name)s managing %(facility)s? They lose access to its requests, proposals "
        "and bookings at once.",
        name=manager.name,
        facility=localised(facility),
    )


@bp.app_context_processor
def _questions() -> dict[str, Any]:
    return {"membership_question": membership_question, "manager_question": manager_question}


@bp.post("/sync")
@login_required
def facilities_sync() -> Any:
    _admin()
    try:
        report = sync_catalogue(current_app.config["FACILITIES_FILE"])
    except AppError as error:
        # A broken file changes nothing; its lines say where and why.
        return _page(_forms(), 422, sync_error=error.detail)
    return _page(_forms(), report=report)
