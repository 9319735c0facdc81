"""Billing pages: statements (page, printable page, workbook), issuing them and their notes,
and the administrator's rate cards. Thin handlers around app.billing.services."""

from __future__ import annotations

import re
from datetime import date

from flask import Blueprint, Flask, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from app import access, dates
from app.accounts import security
from app.accounts.models import Project
from app.billing import caps as cap_service
from app.billing import exports, presenters, services
from app.billing.forms import CapForm
from app.billing.models import CustomerKind, StatementKind
from app.billing.money import fen_from_yuan, money, yuan
from app.catalog.models import Equipment, EquipmentStatus, Facility
from app.errors import BadRequest, NotFound, ValidationError
from app.extensions import db

bp = Blueprint("billing", __name__)

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def _month(text: str | None, default: date) -> date:
    match = _MONTH.match(text or "")
    if not match:
        return default
    year, month = int(match[1]), int(match[2])
    if not (1 <= month <= 12 and 2000 <= year <= 2100):
        return default
    return date(year, month, 1)


def _previous_month(tz: str) -> date:
    today = dates.today_in(tz)
    first = today.replace(day=1)
    return date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)


@bp.get("/statements")
@login_required
def statement_list() -> str:
    user = security.user()
    managed = [
        f
        for f in db.session.scalars(select(Facility).order_by(Facility.slug))
        if access.can_issue_statements(user, f)
    ]
    facility = next((f for f in managed if f.slug == request.args.get("facility")), None)
    if facility is None and managed:
        facility = managed[0]
    drafts, month = [], None
    if facility is not None:
        month = _month(request.args.get("month"), _previous_month(facility.timezone))
        drafts = services.billable_projects(user, facility, month)
    return render_template(
        "billing/statement_list.html",
        statements=services.list_statements(user),
        managed=managed,
        facility=facility,
        month=month,
        drafts=drafts,
    )


@bp.post("/statements/issue")
@login_required
def statement_issue() -> BaseResponse:
    user = security.user()
    try:
        facility_id = int(request.form.get("facility_id", ""))
        project_id = int(request.form.get("project_id", ""))
    except ValueError as error:
        raise BadRequest(_("Choose a facility and a project."), field="project_id") from error
    month = _month(request.form.get("month"), date.min)
    if month == date.min:
        raise BadRequest(_("Choose a month written YYYY-MM."), field="month")
    statement = services.issue_statement(user, facility_id, project_id, month)
    flash(_("Statement %(number)s issued.", number=statement.number))
    return redirect(url_for("billing.statement_detail", statement_id=statement.id))


def _statement_context(statement_id: int) -> dict[str, object]:
    user = security.user()
    statement = services.get_statement(user, statement_id)
    return {
        "statement": statement,
        "rows": presenters.line_rows(statement),
        "deductions": presenters.deduction_rows(statement),
        "notes": services.notes_of(statement),
        "reference": statement.reference,
        "can_note": access.can_issue_statements(user, statement.facility_id)
        and statement.kind == StatementKind.STATEMENT.value,
    }


@bp.get("/statements/<int:statement_id>")
@login_required
def statement_detail(statement_id: int) -> str:
    return render_template(
        "billing/statement_detail.html", errors={}, **_statement_context(statement_id)
    )


@bp.get("/statements/<int:statement_id>/print")
@login_required
def statement_print(statement_id: int) -> str:
    return render_template("billing/statement_print.html", **_statement_context(statement_id))


@bp.get("/statements/<int:statement_id>.xlsx")
@login_required
def statement_xlsx(statement_id: int) -> Response:
    statement = services.get_statement(security.user(), statement_id)
    body = exports.statement_xlsx(statement, reference=statement.reference)
    response = Response(body, mimetype=XLSX_MIMETYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{statement.number}.xlsx"'
    return response


@bp.post("/statements/<int:statement_id>/notes")
@login_required
def statement_note(statement_id: int) -> str | tuple[str, int] | BaseResponse:
    user = security.user()
    try:
        amount: int | None = fen_from_yuan(request.form.get("amount", "").strip())
    except (ValueError, ArithmeticError):
        amount = None
    try:
        note = services.issue_note(
            user,
            statement_id,
            kind=request.form.get("kind", ""),
            amount_fen=amount,
            reason=request.form.get("reason", ""),
        )
    except ValidationError as error:
        page = render_template(
            "billing/statement_detail.html",
            errors=error.errors,
            form=request.form,
            **_statement_context(statement_id),
        )
        return page, 422
    flash(
        _("%(kind)s %(number)s issued.", kind=presenters.kind_label(note.kind), number=note.number)
    )
    return redirect(url_for("billing.statement_detail", statement_id=note.id))


# ---------------------------------------------------------------- the administrator's


def _rate_page(errors: dict[str, str], failed_unit: int | None = None) -> str:
    units = db.session.scalars(
        select(Equipment)
        .where(Equipment.status == EquipmentStatus.ACTIVE.value)
        .order_by(Equipment.facility_id, Equipment.slug)
    ).all()
    return render_template(
        "billing/rate_cards.html",
        cards=[(u, services.rate_card(u)) for u in units],
        projects=db.session.scalars(select(Project).order_by(Project.name)).all(),
        kinds=[k.value for k in CustomerKind],
        fields=services.RATE_FIELDS,
        errors=errors,
        failed_unit=failed_unit,
        form=request.form,
    )


@bp.get("/admin/rates")
@login_required
def rate_cards() -> str:
    if not access.can_edit_rates(security.user()):
        raise NotFound(_("Not found."))
    return _rate_page({})


@bp.post("/admin/rates/<int:equipment_id>")
@login_required
def rate_card_update(equipment_id: int) -> str | tuple[str, int] | BaseResponse:
    user = security.user()
    if not access.can_edit_rates(user):
        raise NotFound(_("Not found."))
    try:
        services.update_rate_card(user, equipment_id, services.rate_values(request.form))
    except ValidationError as error:
        return _rate_page(error.errors, equipment_id), 422
    flash(_("Rate card saved."))
    return redirect(url_for("billing.rate_cards") + f"#unit-{equipment_id}")


@bp.post("/admin/projects/<int:project_id>/customer-kind")
@login_required
def customer_kind(project_id: int) -> BaseResponse:
    services.set_customer_kind(security.user(), project_id, request.form.get("customer_kind", ""))
    flash(_("Customer kind saved."))
    return redirect(url_for("billing.rate_cards") + "#projects")


def _caps_page(form: CapForm, status: int = 200) -> tuple[str, int]:
    user = security.user()
    form.project_id.choices = [(p.id, p.name) for p in access.project_choices(user)]
    return (
        render_template(
            "billing/caps.html",
            form=form,
            caps=cap_service.list_caps(user),
            can_set=lambda cap: access.can_set_caps(user, cap.project_id),
        ),
        status,
    )


@bp.get("/spending-caps")
@login_required
def caps() -> tuple[str, int]:
    return _caps_page(CapForm(formdata=None))


@bp.post("/spending-caps")
@login_required
def cap_create() -> tuple[str, int] | BaseResponse:
    form = CapForm()
    form.project_id.choices = [(p.id, p.name) for p in access.project_choices(security.user())]
    if not form.validate_on_submit():
        return _caps_page(form, 422)
    try:
        cap = cap_service.set_cap(
            security.user(),
            form.project_id.data,
            cap_service.CapInput(
                amount_yuan=form.amount_yuan.data,
                month=form.month.data,
                period_start=form.period_start.data,
                period_end=form.period_end.data,
                note=form.note.data,
            ),
        )
    except ValidationError as error:
        for name, message in error.errors.items():
            getattr(form, name).errors = [message]
        return _caps_page(form, 422)
    flash(
        _(
            "Spending cap of %(amount)s yuan set for %(start)s to %(end)s.",
            amount=money(cap.amount_fen),
            start=cap.period_start.isoformat(),
            end=cap.period_end.isoformat(),
        )
    )
    return redirect(url_for("billing.caps"))


@bp.post("/spending-caps/<int:cap_id>/remove")
@login_required
def cap_remove(cap_id: int) -> BaseResponse:
    cap_service.remove_cap(security.user(), cap_id)
    flash(_("Spending cap removed."))
    return redirect(url_for("billing.caps"))


def register(app: Flask) -> None:
    """Give templates money formatting and the labels of kinds."""
    app.jinja_env.globals.update(
        money=money,
        yuan=yuan,
        customer_kind_label=presenters.customer_kind_label,
        statement_kind_label=presenters.kind_label,
        statement_period=presenters.period_label,
    )
