"""Need pages: my needs, a need with its suggestions, the new-need form, campaign drafts, the
broker board, broker assignments and the demand picture. Handlers are thin: the needs
services and app/access.py hold the rules."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from app import access
from app.accounts import security
from app.accounts.models import BrokerAssignment, Project, User
from app.admin import services as admin_services
from app.booking import presenters
from app.booking.forms import RequestForm, apply_errors, apply_service_errors, to_utc
from app.catalog import queries
from app.catalog.models import Centre, Equipment
from app.dbtypes import utcnow
from app.errors import AppError, Conflict, Forbidden, NotFound, ValidationError
from app.extensions import db
from app.i18n import localised
from app.needs import demand, services, suggestions
from app.needs.forms import (
    DECLINE_LABELS,
    NEED_FIELD_RENAMES,
    BrokerForm,
    CommentForm,
    MoveForm,
    NeedForm,
)
from app.needs.models import CampaignDraft, Need, NeedState
from app.reports.views import XLSX_MIMETYPE

bp = Blueprint("needs", __name__)


@bp.app_template_global()
def need_state_label(state: str) -> str:
    """Name a need's state in the reader's language."""
    return {
        NeedState.NEW.value: _("new"),
        NeedState.SCREENED.value: _("screened"),
        NeedState.MATCHED.value: _("matched"),
        NeedState.REQUESTED.value: _("requested"),
        NeedState.SERVED.value: _("served"),
        NeedState.DECLINED.value: _("declined"),
    }.get(state, state)


@bp.app_template_global()
def decline_label(reason: str | None) -> str:
    """Name a decline reason in the reader's language."""
    return str(DECLINE_LABELS.get(reason or "", reason or ""))


def _fill_need_choices(form: NeedForm, user: User) -> None:
    projects = db.session.scalars(
        select(Project).where(access.need_projects_filter(user)).order_by(Project.name)
    ).all()
    form.project_id.choices = [(p.id, p.name) for p in projects]
    form.city.choices = [("", _("Any city")), *queries.cities()]
    centres = db.session.scalars(select(Centre).order_by(Centre.slug)).all()
    form.centre_id.choices = [(0, _("Any centre")), *((c.id, localised(c)) for c in centres)]


@bp.get("/needs")
@login_required
def need_list() -> str:
    user = security.user()
    return render_template("needs/list.html", needs=services.list_needs(user, own=True))


@bp.route("/needs/new", methods=["GET", "POST"])
@login_required
def need_new() -> str | tuple[str, int] | BaseResponse:
    user = security.user()
    form = NeedForm()
    _fill_need_choices(form, user)
    if request.method == "GET" and request.args.get("q"):
        form.text.data = request.args["q"][: services.MAX_TEXT]
    errors: list[str] = []
    if form.validate_on_submit():
        try:
            need = services.create_need(user, form.project_id.data, form.to_input())
        except ValidationError as error:
            errors = apply_errors(form, error, NEED_FIELD_RENAMES)
        else:
            flash(_("Need saved; here is what the centres can do for it."))
            return redirect(url_for("needs.need_detail", need_id=need.id))
    page = render_template("needs/form.html", form=form, errors=errors)
    return (page, 422) if request.method == "POST" else page


@bp.route("/needs/<int:need_id>/edit", methods=["GET", "POST"])
@login_required
def need_edit(need_id: int) -> str | tuple[str, int] | BaseResponse:
    user = security.user()
    need = services.get_need(user, need_id)
    form = NeedForm(obj=None if request.method == "POST" else need)
    _fill_need_choices(form, user)
    form.project_id.choices = [(need.project_id, need.project.name)]
    if request.method == "GET":
        form.centre_id.data = need.centre_id or 0
        form.budget_yuan.data = None if need.budget_fen is None else Decimal(need.budget_fen) / 100
    errors: list[str] = []
    if form.validate_on_submit():
        try:
            services.update_need(user, need.id, form.to_input())
        except ValidationError as error:
            errors = apply_errors(form, error, NEED_FIELD_RENAMES)
        except Conflict as error:
            errors = [error.detail]
        else:
            flash(_("Need updated; the suggestions follow its new words."))
            return redirect(url_for("needs.need_detail", need_id=need.id))
    page = render_template("needs/form.html", form=form, errors=errors, editing=need)
    return (page, 422) if request.method == "POST" else page


@bp.get("/needs/<int:need_id>")
@login_required
def need_detail(need_id: int) -> str:
    user = security.user()
    need = services.get_need(user, need_id)
    return _render_need(user, need)


def _render_need(
    user: User, need: Need, *, move_form: Any = None, comment_form: Any = None, **extra: Any
) -> str:
    move_form = move_form or MoveForm()
    move_form.reason.choices = [("", "—"), *((k, str(v)) for k, v in DECLINE_LABELS.items())]
    move_form.state.choices = [
        (state, need_state_label(state))
        for state in services.TRANSITIONS.get(need.state, ())
        if access.can_move_need(user, need, state)
    ]
    open_for_drafts = need.state in (NeedState.NEW, NeedState.SCREENED, NeedState.MATCHED)
    return render_template(
        "needs/detail.html",
        need=need,
        suggestions=suggestions.suggest(
            services.matching_text(need),
            city=need.city,
            viewer=user,
            customer_kind=need.project.customer_kind,
        ),
        move_form=move_form,
        comment_form=comment_form or CommentForm(),
        can_draft=open_for_drafts and access.can_draft_for_need(user, need),
        can_confirm=access.can_confirm_draft(user, need),
        can_edit=access.can_edit_need(user, need),
        broker=access.serves_need(user, need),
        **extra,
    )


@bp.post("/needs/<int:need_id>/comments")
@login_required
def need_comment(need_id: int) -> str | tuple[str, int] | BaseResponse:
    user = security.user()
    need = services.get_need(user, need_id)
    form = CommentForm()
    if form.validate_on_submit():
        try:
            services.comment(user, need.id, form.body.data)
        except ValidationError as error:
            apply_errors(form, error, {})
        else:
            flash(_("Comment added."))
            return redirect(url_for("needs.need_detail", need_id=need.id) + "#history")
    return _render_need(user, need, comment_form=form), 422


@bp.post("/needs/<int:need_id>/state")
@login_required
def need_move(need_id: int) -> str | tuple[str, int] | BaseResponse:
    user = security.user()
    need = services.get_need(user, need_id)
    form = MoveForm()
    if form.validate_on_submit():
        try:
            services.move(
                user,
                need.id,
                form.state.data,
                reason=form.reason.data or None,
                note=form.note.data,
            )
        except (ValidationError, Conflict, Forbidden) as error:
            problem = ValidationError(error.detail, field=error.field or "state")
            apply_errors(form, problem if isinstance(error, Conflict | Forbidden) else error, {})
            db.session.rollback()
            need = services.get_need(user, need_id)
        else:
            flash(_("The need is now %(state)s.", state=need_state_label(need.state)))
            return redirect(url_for("needs.need_detail", need_id=need.id))
    return _render_need(user, need, move_form=form), 422


def _chosen() -> list[tuple[str, int]]:
    chosen = []
    for value in request.form.getlist("choice"):
        capability, _sep, unit_id = value.rpartition(":")
        if capability and unit_id.isdigit():
            chosen.append((capability, int(unit_id)))
    return chosen


@bp.post("/needs/<int:need_id>/drafts")
@login_required
def draft_create(need_id: int) -> str | tuple[str, int] | BaseResponse:
    user = security.user()
    need = services.get_need(user, need_id)
    try:
        draft = services.create_draft(user, need.id, _chosen())
    except (ValidationError, Conflict) as error:
        db.session.rollback()
        need = services.get_need(user, need_id)
        return _render_need(user, need, draft_error=error.detail), 422
    flash(_("Campaign draft made; give each step its duration and send it."))
    return redirect(url_for("needs.draft_detail", need_id=need.id, draft_id=draft.id))


def _draft_form_data(draft: CampaignDraft) -> dict[str, Any]:
    """Return the draft as the campaign form's first data: steps in order, durations empty."""
    need = draft.need
    zone = ZoneInfo(draft.facility.timezone)
    start = (utcnow() + timedelta(days=1)).astimezone(zone)
    start = datetime.combine(start.date(), time(9), zone)
    deadline = (
        datetime.combine(need.wanted_by, time(18), zone)
        if need.wanted_by and datetime.combine(need.wanted_by, time(18), zone) > start
        else start + timedelta(days=14)
    )
    return {
        "project_id": need.project_id,
        "title": need.title,
        "facility_id": draft.facility_id,
        "earliest_start": start.replace(tzinfo=None),
        "deadline": deadline.replace(tzinfo=None),
        "steps": [
            {"capability": step["capability"], "unit_ids": [step["unit_id"]]}
            for step in draft.steps
        ],
    }


@bp.route("/needs/<int:need_id>/drafts/<int:draft_id>", methods=["GET", "POST"])
@login_required
def draft_detail(need_id: int, draft_id: int) -> str | tuple[str, int] | BaseResponse:
    user = security.user()
    draft = services.get_draft(user, need_id, draft_id)
    need = draft.need
    units = {
        u.id: u
        for u in db.session.scalars(
            select(Equipment).where(Equipment.id.in_([s["unit_id"] for s in draft.steps]))
        )
    }
    if draft.submitted or not access.can_confirm_draft(user, need):
        if request.method == "POST":
            raise NotFound(_("No such draft to confirm."))
        return render_template("needs/draft.html", need=need, draft=draft, units=units)
    form = RequestForm(data=None if request.method == "POST" else _draft_form_data(draft))
    presenters.fill_request_choices(form, user, facility_required=True)
    form.project_id.choices = [(need.project_id, need.project.name)]
    presenters.share_step_choices(form)
    errors: list[str] = []
    if request.method == "POST" and form.validate_on_submit():
        tz = presenters.timezone_of(form.facility_id.data or None)
        fields = {
            "title": (form.title.data or "").strip(),
            "earliest_start": to_utc(form.earliest_start.data, tz),
            "deadline": to_utc(form.deadline.data, tz),
            "priority_reason": (form.priority_reason.data or "").strip(),
            "steps": [s.to_input(form.facility_id.data or None) for _i, s in form.filled_steps()],
        }
        try:
            created = services.submit_draft(user, draft, **fields)
        except ValidationError as error:
            errors = apply_service_errors(form, error, [i for i, _s in form.filled_steps()])
        except Conflict as error:
            errors = [error.detail]
        else:
            flash(
                _(
                    "Request “%(title)s” sent; a facility manager will schedule it.",
                    title=created.title,
                )
            )
            return redirect(url_for("booking.request_detail", request_id=created.id))
    elif request.method == "POST":
        errors = form.general_errors()
    page = render_template(
        "needs/draft.html",
        need=need,
        draft=draft,
        units=units,
        form=form,
        errors=errors,
        timezone=presenters.timezone_of(draft.facility_id),
    )
    return (page, 422) if request.method == "POST" else page


# ---------------------------------------------------------------- brokers


@bp.get("/brokers/board")
@login_required
def broker_board() -> str:
    user = security.user()
    if not access.is_broker(user):
        raise NotFound(_("Not found."))
    needs = services.list_needs(user)
    columns = [(state.value, [n for n in needs if n.state == state.value]) for state in NeedState]
    return render_template("needs/board.html", columns=columns)


def _broker_page(form: BrokerForm, status: int = 200) -> tuple[str, int]:
    assignments = db.session.scalars(
        select(BrokerAssignment).join(User).order_by(User.email, BrokerAssignment.id)
    ).all()
    return render_template("needs/brokers.html", form=form, assignments=assignments), status


def _broker_form() -> BrokerForm:
    form = BrokerForm()
    centres = db.session.scalars(select(Centre).order_by(Centre.slug)).all()
    form.centre_id.choices = [
        (0, _("Region-wide: every centre")),
        *((c.id, localised(c)) for c in centres),
    ]
    return form


@bp.route("/admin/brokers", methods=["GET", "POST"])
@login_required
def brokers() -> tuple[str, int] | BaseResponse:
    actor = security.user()
    access.require_admin(actor)
    form = _broker_form()
    if request.method == "POST" and form.validate_on_submit():
        try:
            admin_services.make_broker(
                actor, email=form.email.data or "", centre_id=form.centre_id.data or None
            )
        except AppError as error:
            apply_errors(form, ValidationError(error.detail, field=error.field or "email"), {})
            return _broker_page(form, 422)
        flash(_("Broker assigned."))
        return redirect(url_for("needs.brokers"))
    return _broker_page(form, 422 if request.method == "POST" else 200)


@bp.post("/admin/brokers/<int:assignment_id>/remove")
@login_required
def broker_remove(assignment_id: int) -> BaseResponse:
    admin_services.remove_broker(security.user(), assignment_id=assignment_id)
    flash(_("Broker assignment ended."))
    return redirect(url_for("needs.brokers"))


# ---------------------------------------------------------------- the demand picture


def _demand() -> demand.Demand:
    user = security.user()
    if not access.can_see_demand(user):
        raise NotFound(_("Not found."))
    return demand.build(access.demand_centre_ids(user))


@bp.get("/demand")
@login_required
def demand_page() -> str:
    return render_template("needs/demand.html", picture=_demand())


@bp.get("/demand/<any(capabilities, outcomes):name>.svg")
@login_required
def demand_picture(name: str) -> Response:
    picture = _demand()
    body = (
        demand.capabilities_svg(picture)
        if name == "capabilities"
        else demand.outcomes_svg(picture)
    )
    response = Response(body, mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/demand/<any(months, capabilities):key>.csv")
@login_required
def demand_csv(key: str) -> Response:
    picture = _demand()
    table = picture.months if key == "months" else picture.capabilities
    return _download(demand.as_csv(table), "text/csv; charset=utf-8", f"demand-{key}.csv")


@bp.get("/demand/demand.xlsx")
@login_required
def demand_xlsx() -> Response:
    return _download(demand.as_xlsx(_demand()), XLSX_MIMETYPE, "demand.xlsx")


def _download(body: bytes, mimetype: str, name: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename={name}"
    response.headers["Cache-Control"] = "private, no-store"
    return response
