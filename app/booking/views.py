"""Booking pages: the route table and thin handlers (load, check access, call a service, render).

Startup members request time and follow their requests; facility managers solve, approve and
keep the schedule; every rule lives in the booking services.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.wrappers import Response as BaseResponse

from app import access, confirm, dates
from app.accounts import security
from app.booking import bookings as booking_service
from app.booking import maintenance as maintenance_service
from app.booking import presenters, reasons, settings
from app.booking import proposals as proposal_service
from app.booking import requests as request_service
from app.booking import runs as run_service
from app.booking import trainings as training_service
from app.booking.forms import (
    CancelForm,
    FacilitySettingsForm,
    MaintenanceForm,
    ManualBookingForm,
    NoShowSettingsForm,
    ReleaseForm,
    RequestForm,
    RescheduleForm,
    SingleRequestForm,
    TrainingForm,
    WeightForm,
    apply_errors,
    apply_service_errors,
    to_local,
    to_utc,
)
from app.booking.models import ProposalStatus, RequestStatus
from app.catalog.models import Equipment, Facility
from app.errors import Conflict, NotFound, ValidationError
from app.extensions import db
from app.i18n import number

bp = Blueprint("booking", __name__)


def _back(default: str) -> BaseResponse:
    """Redirect to the form's `next` when it is a local path, else to `default`."""
    target = request.form.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect(default)


# ---------------------------------------------------------------- startup members


@bp.get("/requests")
@login_required
def request_list() -> str:
    user = security.user()
    status = request.args.get("status") or None
    if status is not None and status not in {s.value for s in RequestStatus}:
        status = None
    requests = request_service.list_requests(user, status=status)
    return render_template(
        "booking/request_list.html",
        requests=requests,
        status=status,
        statuses=[s.value for s in RequestStatus],
    )


@bp.route("/requests/new", methods=["GET", "POST"])
@login_required
def request_new() -> str | BaseResponse:
    return _request_form(campaign=False)


@bp.route("/campaigns/new", methods=["GET", "POST"])
@login_required
def campaign_new() -> str | BaseResponse:
    return _request_form(campaign=True)


def _request_form(*, campaign: bool) -> str | BaseResponse:
    user = security.user()
    form = RequestForm() if campaign else SingleRequestForm()
    presenters.fill_request_choices(form, user, facility_required=campaign)
    if request.method == "GET" and request.args.get("unit"):
        presenters.prefill_unit(form, request.args["unit"], request.args.get("week"))
    if campaign and request.method == "POST" and request.form.get("action") == "add-step":
        return _render_request_form(form, campaign=campaign)
    errors: list[str] = []
    if not form.validate_on_submit():
        errors = form.general_errors()
    else:
        try:
            created = request_service.create_request(user, form.project_id.data, **_fields(form))
        except ValidationError as error:
            errors = apply_service_errors(form, error, [i for i, _s in form.filled_steps()])
        else:
            flash(
                _(
                    "Request “%(title)s” sent; a facility manager will schedule it.",
                    title=created.title,
                )
            )
            return redirect(url_for("booking.request_detail", request_id=created.id))
    return _render_request_form(form, campaign=campaign, errors=errors)


def _fields(form: RequestForm) -> dict[str, Any]:
    """Translate the form into the service's keyword arguments (times in UTC)."""
    facility_id = form.facility_id.data or None
    tz = presenters.timezone_of(facility_id)
    filled = form.filled_steps()
    return {
        "title": (form.title.data or "").strip(),
        "earliest_start": to_utc(form.earliest_start.data, tz),
        "deadline": to_utc(form.deadline.data, tz),
        "priority_reason": (form.priority_reason.data or "").strip(),
        "steps": [step.to_input(facility_id) for _i, step in filled],
    }


def _render_request_form(
    form: RequestForm, *, campaign: bool, errors: list[str] | None = None, editing: Any = None
) -> str:
    spare_row = len(form.steps) < 2 or not form.steps[-1].form.is_blank()
    if campaign and spare_row and len(form.steps) < (form.steps.max_entries or 0):
        # Without JavaScript there is always one spare row to add a step.
        form.steps.append_entry()
        presenters.share_step_choices(form)
    return render_template(
        "booking/request_form.html",
        form=form,
        campaign=campaign,
        errors=errors or [],
        editing=editing,
        timezone=presenters.timezone_of(form.facility_id.data or None),
    )


@bp.get("/requests/<int:request_id>")
@login_required
def request_detail(request_id: int) -> str:
    user = security.user()
    req = request_service.get_request(user, request_id)
    return render_template(
        "booking/request_detail.html",
        req=req,
        facility=request_service.request_facility(req),
        steps=[(step, request_service.allowed_units(step)) for step in req.steps],
        proposed=presenters.proposed_items(req),
        bookings=sorted(req.bookings, key=lambda b: b.start),
        overrides=booking_service.overrides(req.bookings),
        budget_notices=[n["message"] for n in reasons.budget_notices(req)],
        cancel_form=CancelForm(),
        manages=access.can_manage(user, request_service.request_facility(req)),
    )


@bp.route("/requests/<int:request_id>/edit", methods=["GET", "POST"])
@login_required
def request_edit(request_id: int) -> str | BaseResponse:
    user = security.user()
    req = request_service.get_request(user, request_id)
    campaign = req.is_campaign
    form_class = RequestForm if campaign else SingleRequestForm
    form = form_class(data=None if request.method == "POST" else presenters.form_data(req))
    presenters.fill_request_choices(form, user, facility_required=campaign)
    form.project_id.choices = [(req.project_id, req.project.name)]
    if campaign and request.method == "POST" and request.form.get("action") == "add-step":
        return _render_request_form(form, campaign=campaign, editing=req)
    errors: list[str] = []
    if not form.validate_on_submit():
        errors = form.general_errors()
    else:
        try:
            request_service.update_request(user, req.id, **_fields(form))
        except ValidationError as error:
            errors = apply_service_errors(form, error, [i for i, _s in form.filled_steps()])
        except Conflict as error:
            errors = [error.detail]
        else:
            flash(_("Request updated."))
            return redirect(url_for("booking.request_detail", request_id=req.id))
    return _render_request_form(form, campaign=campaign, errors=errors, editing=req)


@bp.post("/requests/<int:request_id>/withdraw")
@login_required
def request_withdraw(request_id: int) -> BaseResponse:
    try:
        request_service.withdraw_request(security.user(), request_id)
    except Conflict as error:
        flash(error.detail)
    else:
        flash(_("Request withdrawn."))
    return redirect(url_for("booking.request_detail", request_id=request_id))


@bp.get("/bookings/<int:booking_id>")
@login_required
def booking_detail(booking_id: int) -> str:
    user = security.user()
    booking = booking_service.get_booking(user, booking_id)
    facility = booking.equipment.facility
    return render_template(
        "booking/booking_detail.html",
        booking=booking,
        facility=facility,
        manages=access.can_manage(user, facility),
        overrides=booking_service.overrides([booking]),
        cancel_form=CancelForm(),
        release_form=ReleaseForm(),
    )


@bp.route("/bookings/<int:booking_id>/reschedule", methods=["GET", "POST"])
@login_required
def booking_reschedule(booking_id: int) -> str | tuple[str, int] | BaseResponse:
    user = security.user()
    booking = booking_service.get_booking(user, booking_id)
    facility = booking.equipment.facility
    access.require_manager(user, facility)
    form = RescheduleForm()
    presenters.fill_unit_choices(form.equipment_id, facility)
    if request.method == "GET":
        form.equipment_id.data = booking.equipment_id
        form.start.data = to_local(booking.start, facility.timezone)
        form.end.data = to_local(booking.end, facility.timezone)
    errors: list[str] = []
    overridable = False
    status = 200
    if form.validate_on_submit():
        try:
            booking_service.reschedule_booking(
                user,
                booking.id,
                start=to_utc(form.start.data, facility.timezone),
                end=to_utc(form.end.data, facility.timezone),
                equipment_id=form.equipment_id.data,
                reason=form.reason.data or "",
                override=bool(form.override.data),
                override_reason=form.override_reason.data or "",
            )
        except ValidationError as error:
            errors = apply_errors(form, error, {"equipment": "equipment_id"})
            status = 422
        except Conflict as error:
            violations = error.extra.get("violations")
            if violations:
                errors = [_("This move breaks the rules the solver obeys:")]
                errors += [v["detail"] for v in violations]
                overridable = bool(error.extra.get("overridable"))
            else:
                form.start.errors = [*form.start.errors, error.detail]
            status = 409
        else:
            flash(_("Booking moved; calendar feeds show the new time."))
            return redirect(url_for("booking.booking_detail", booking_id=booking.id))
    elif request.method == "POST":
        status = 422
    page = render_template(
        "booking/reschedule.html",
        booking=booking,
        facility=facility,
        form=form,
        errors=errors,
        overridable=overridable,
    )
    return page if status == 200 else (page, status)


@bp.post("/bookings/<int:booking_id>/cancel")
@login_required
def booking_cancel(booking_id: int) -> BaseResponse:
    form = CancelForm()
    form.validate()
    booking_service.cancel_booking(security.user(), booking_id, (form.reason.data or "").strip())
    flash(_("Booking cancelled; the calendar feeds show it as cancelled."))
    return _back(url_for("booking.booking_detail", booking_id=booking_id))


@bp.post("/bookings/<int:booking_id>/release")
@login_required
def booking_release(booking_id: int) -> BaseResponse:
    form = ReleaseForm()
    if not form.validate():
        flash(_("Say why the booking may move: %(error)s", error=form.reason.errors[0]))
        return _back(url_for("booking.booking_detail", booking_id=booking_id))
    booking_service.release_booking(security.user(), booking_id, form.reason.data.strip())
    flash(_("Booking released: the next solve may move it."))
    return _back(url_for("booking.booking_detail", booking_id=booking_id))


@bp.post("/bookings/<int:booking_id>/pin")
@login_required
def booking_pin(booking_id: int) -> BaseResponse:
    booking_service.pin_booking(security.user(), booking_id)
    flash(_("Booking pinned: later solves keep it where it is."))
    return _back(url_for("booking.booking_detail", booking_id=booking_id))


@bp.get("/equipment/<slug>/availability")
@login_required
def equipment_availability(slug: str) -> str:
    user = security.user()
    unit = db.session.query(Equipment).filter_by(slug=slug).one_or_none()
    if unit is None:
        raise NotFound(_("No such equipment unit."))
    monday = presenters.week_start(request.args.get("week"), unit.facility.timezone)
    view = presenters.availability_view(unit, monday, user)
    return render_template(
        "booking/availability.html",
        unit=unit,
        monday=monday,
        previous_week=monday - timedelta(days=7),
        next_week=monday + timedelta(days=7),
        **view,
    )


# ---------------------------------------------------------------- facility managers


@bp.get("/manage")
@login_required
def manage_home() -> str:
    user = security.user()
    facilities = access.manageable_facilities(user)
    if not facilities and not user.is_admin:
        raise NotFound(_("You manage no facility."))
    return render_template(
        "booking/manage_home.html", rows=[presenters.facility_summary(user, f) for f in facilities]
    )


def _managed_facility(slug: str) -> tuple[Any, Facility]:
    user = security.user()
    facility = db.session.query(Facility).filter_by(slug=slug).one_or_none()
    if facility is None:
        raise NotFound(_("No such facility among those you manage."))
    access.require_manager(user, facility)
    return user, facility


@bp.get("/manage/<slug>")
@login_required
def facility_manage(slug: str) -> str:
    user, facility = _managed_facility(slug)
    form = MaintenanceForm(prefix="maintenance")
    presenters.fill_unit_choices(form.equipment_id, facility)
    return _render_manage(user, facility, form)


def _render_manage(
    user: Any,
    facility: Facility,
    form: MaintenanceForm,
    status: int = 200,
    weight_errors: dict[int, str] | None = None,
    settings_form: FacilitySettingsForm | None = None,
    no_show_form: NoShowSettingsForm | None = None,
) -> Any:
    if settings_form is None:
        settings_form = FacilitySettingsForm(prefix="settings", formdata=None, obj=facility)
    if no_show_form is None:
        no_show_form = NoShowSettingsForm(prefix="noshow", formdata=None, obj=facility)
    return (
        render_template(
            "booking/facility_manage.html",
            facility=facility,
            maintenance_form=form,
            settings_form=settings_form,
            no_show_form=no_show_form,
            release_form=ReleaseForm(),
            weight_errors=weight_errors or {},
            **presenters.manage_view(user, facility),
        ),
        status,
    )


@bp.post("/manage/<slug>/requests/<int:request_id>/weight")
@login_required
def request_weight(slug: str, request_id: int) -> Any:
    user, facility = _managed_facility(slug)
    req = request_service.get_request(user, request_id)
    if request_service.request_facility(req).id != facility.id:
        raise NotFound(_("No such request among those you can see."))
    form = WeightForm()
    try:
        if not form.validate_on_submit():
            raise ValidationError(" ".join(form.weight.errors), field="weight")
        request_service.update_request(user, req.id, weight=form.weight.data)
    except (ValidationError, Conflict) as error:
        maintenance = MaintenanceForm(prefix="maintenance", formdata=None)
        presenters.fill_unit_choices(maintenance.equipment_id, facility)
        return _render_manage(user, facility, maintenance, 422, {req.id: error.detail})
    flash(_("Weight of “%(title)s” set to %(weight)d.", title=req.title, weight=req.weight))
    return redirect(url_for("booking.facility_manage", slug=slug))


@bp.post("/manage/<slug>/settings")
@login_required
def facility_settings(slug: str) -> Any:
    user, facility = _managed_facility(slug)
    form = FacilitySettingsForm(prefix="settings")
    try:
        if not form.validate_on_submit():
            raise ValidationError(settings.fair_share_message(), field="fair_share_percent")
        settings.set_fair_share(user, facility.id, form.fair_share_percent.data)
    except ValidationError as error:
        form.fair_share_percent.errors = [error.detail]
        maintenance = MaintenanceForm(prefix="maintenance", formdata=None)
        presenters.fill_unit_choices(maintenance.equipment_id, facility)
        return _render_manage(user, facility, maintenance, 422, settings_form=form)
    if facility.fair_share_percent is None:
        flash(_("Fair share is off: the next solve gives no project a limit."))
    else:
        flash(
            _(
                "Fair share set: from the next solve, no project holds more than %(percent)d%% "
                "of any unit.",
                percent=facility.fair_share_percent,
            )
        )
    return redirect(url_for("booking.facility_manage", slug=slug))


@bp.post("/manage/<slug>/settings/no-shows")
@login_required
def facility_no_show_setting(slug: str) -> Any:
    user, facility = _managed_facility(slug)
    form = NoShowSettingsForm(prefix="noshow")
    try:
        if not form.validate_on_submit():
            raise ValidationError(
                settings.no_show_penalty_message(), field="no_show_penalty_percent"
            )
        settings.set_no_show_penalty(user, facility.id, form.no_show_penalty_percent.data)
    except ValidationError as error:
        form.no_show_penalty_percent.errors = [error.detail]
        maintenance = MaintenanceForm(prefix="maintenance", formdata=None)
        presenters.fill_unit_choices(maintenance.equipment_id, facility)
        return _render_manage(user, facility, maintenance, 422, no_show_form=form)
    if facility.no_show_penalty_percent is None:
        flash(_("No-shows no longer change weights: the next solve uses the requests' own."))
    else:
        flash(
            _(
                "From the next solve, each no-show in the last 90 days lowers the project's "
                "weights by %(percent)d%%.",
                percent=facility.no_show_penalty_percent,
            )
        )
    return redirect(url_for("booking.facility_manage", slug=slug))


@bp.post("/manage/<slug>/solve")
@login_required
def facility_solve(slug: str) -> BaseResponse:
    user, facility = _managed_facility(slug)
    run = run_service.start_solve(user, facility.id)
    return redirect(url_for("booking.run_detail", run_id=run.id))


@bp.post("/manage/<slug>/maintenance")
@login_required
def maintenance_add(slug: str) -> Any:
    user, facility = _managed_facility(slug)
    form = MaintenanceForm(prefix="maintenance")
    presenters.fill_unit_choices(form.equipment_id, facility)
    if form.validate_on_submit():
        try:
            maintenance_service.add_maintenance(
                user,
                form.equipment_id.data,
                start=to_utc(form.start.data, facility.timezone),
                end=to_utc(form.end.data, facility.timezone),
                reason_zh=form.reason_zh.data,
                reason_en=form.reason_en.data,
            )
        except ValidationError as error:
            for message in apply_errors(form, error, {"equipment": "equipment_id"}):
                form.reason_zh.errors = [*form.reason_zh.errors, message]
        except Conflict as error:
            form.start.errors = [*form.start.errors, error.detail]
        else:
            flash(_("Maintenance window added; the next solve keeps the unit free then."))
            return redirect(url_for("booking.facility_manage", slug=slug))
    return _render_manage(user, facility, form, 422)


@bp.route("/manage/<slug>/bookings/new", methods=["GET", "POST"])
@login_required
def manual_booking(slug: str) -> tuple[str, int] | BaseResponse:
    user, facility = _managed_facility(slug)
    form = ManualBookingForm()
    presenters.fill_unit_choices(form.equipment_id, facility)
    form.project_id.choices = presenters.all_project_choices()
    errors: list[str] = []
    overridable = False
    status = 200
    if form.validate_on_submit():
        try:
            booking = booking_service.manual_booking(
                user,
                project_id=form.project_id.data,
                equipment_id=form.equipment_id.data,
                start=to_utc(form.start.data, facility.timezone),
                end=to_utc(form.end.data, facility.timezone),
                title=form.title.data.strip(),
                note=(form.note.data or "").strip(),
                override=bool(form.override.data),
                override_reason=form.override_reason.data or "",
            )
        except ValidationError as error:
            errors = apply_errors(
                form, error, {"project": "project_id", "equipment": "equipment_id"}
            )
            status = 422
        except Conflict as error:
            violations = error.extra.get("violations")
            if violations:
                errors = [_("This booking breaks the rules the solver obeys:")]
                errors += [v["detail"] for v in violations]
                overridable = bool(error.extra.get("overridable"))
            else:
                form.start.errors = [*form.start.errors, error.detail]
            status = 409
        else:
            flash(_("Booking made and published."))
            return redirect(url_for("booking.booking_detail", booking_id=booking.id))
    elif request.method == "POST":
        status = 422
    page = render_template(
        "booking/manual_booking.html",
        facility=facility,
        form=form,
        errors=errors,
        overridable=overridable,
    )
    return page, status


@bp.route("/manage/<slug>/trainings", methods=["GET", "POST"])
@login_required
def trainings(slug: str) -> str | BaseResponse:
    user, facility = _managed_facility(slug)
    form = TrainingForm()
    presenters.fill_unit_choices(form.equipment_id, facility, only_training=True)
    if request.method == "GET":
        form.trained_on.data = dates.today_in(facility.timezone)
    errors: list[str] = []
    if form.validate_on_submit():
        try:
            training_service.record_training(
                user,
                equipment_id=form.equipment_id.data,
                email=form.email.data.strip(),
                trained_on=form.trained_on.data,
            )
        except ValidationError as error:
            errors = apply_errors(form, error, {"user": "email", "equipment": "equipment_id"})
        else:
            flash(_("Training recorded."))
            return redirect(url_for("booking.trainings", slug=slug))
    return render_template(
        "booking/trainings.html",
        facility=facility,
        form=form,
        errors=errors,
        trainings=presenters.trainings_of(facility),
    )


@bp.get("/manage/<slug>/audit")
@login_required
def facility_audit(slug: str) -> str:
    _user, facility = _managed_facility(slug)
    return render_template(
        "booking/audit.html", facility=facility, events=presenters.audit_events(facility)
    )


@bp.get("/runs/<int:run_id>")
@login_required
def run_detail(run_id: int) -> str:
    run = run_service.get_run(security.user(), run_id)
    return render_template(
        "booking/run_detail.html",
        run=run,
        facility=run.facility,
        replay_command=run_service.replay_command(run),
        replays_exactly=run_service.replays_exactly(run),
        elapsed=run_service.run_elapsed(run),
    )


@bp.post("/runs/<int:run_id>/cancel")
@login_required
def run_cancel(run_id: int) -> BaseResponse:
    try:
        run_service.cancel_run(security.user(), run_id)
    except Conflict as error:
        flash(error.detail)
    else:
        flash(_("Stopping the solve; nothing of it will be kept."))
    return redirect(url_for("booking.run_detail", run_id=run_id))


@bp.get("/runs/<int:run_id>/<any(problem, result):kind>.json")
@login_required
def run_download(run_id: int, kind: str) -> Response:
    run = run_service.get_run(security.user(), run_id)
    body = run.problem_json if kind == "problem" else run.result_json
    if not body:
        raise NotFound(_("This run has no %(kind)s file yet.", kind=kind))
    filename = run_service.download_name(run, kind)
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.get("/proposals/<int:proposal_id>")
@login_required
def proposal_detail(proposal_id: int) -> str:
    proposal = proposal_service.get_proposal(security.user(), proposal_id)
    return render_template(
        "booking/proposal_detail.html",
        proposal=proposal,
        facility=proposal.facility,
        release_form=ReleaseForm(),
        fair_share=presenters.fair_share(proposal),
        approval_question=(
            presenters.approval_question(proposal)
            if proposal.status == ProposalStatus.DRAFT.value
            else None
        ),
        **presenters.proposal_view(
            proposal, security.user(), request.args.get("zoom"), request.args.get("day")
        ),
    )


@bp.post("/proposals/<int:proposal_id>/approve")
@login_required
def proposal_approve(proposal_id: int) -> str | BaseResponse:
    proposal = proposal_service.get_proposal(security.user(), proposal_id)
    if not confirm.confirmed():
        return confirm.confirmation_page(
            title=_("Approve proposal %(id)d?", id=proposal.id),
            message=presenters.approval_question(proposal),
            action=_("Approve and publish"),
            back=url_for("booking.proposal_detail", proposal_id=proposal.id),
        )
    try:
        published = proposal_service.approve_proposal(security.user(), proposal.id)
    except Conflict as error:
        # Every refusal of an approval says itself that nothing was published.
        flash(error.detail)
        return redirect(url_for("booking.proposal_detail", proposal_id=proposal_id))
    flash(_("Proposal approved: %(count)d bookings published.", count=len(published)))
    return redirect(url_for("booking.facility_manage", slug=proposal.facility.slug))


@bp.post("/proposals/<int:proposal_id>/discard")
@login_required
def proposal_discard(proposal_id: int) -> BaseResponse:
    proposal = proposal_service.get_proposal(security.user(), proposal_id)
    proposal_service.discard_proposal(security.user(), proposal.id)
    flash(_("Proposal discarded; the requests wait for the next solve."))
    return redirect(url_for("booking.facility_manage", slug=proposal.facility.slug))


@bp.app_context_processor
def _dashboard_helpers() -> dict[str, Any]:
    return {
        "booking_dashboard": presenters.dashboard,
        "unplaced_reason": reasons.request_reason,
        "proposal_unplaced_reason": reasons.proposal_reason,
    }


@bp.app_template_filter("hours")
def _hours(minutes: int | float | None) -> str:
    if minutes is None:
        return ""
    return _("%(hours)s h", hours=number(minutes / 60, "#,##0.##"))
