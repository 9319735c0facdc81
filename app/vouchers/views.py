"""Voucher pages: the administrator records and edits vouchers; a project's members read
their own vouchers, balances and draws. Thin handlers around app.vouchers.services."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response as BaseResponse

from app import access
from app.accounts import security
from app.errors import NotFound, ValidationError
from app.vouchers import services

bp = Blueprint("vouchers", __name__)

LIST_FIELDS = ("centres", "facilities", "capabilities")


def _submitted(form: MultiDict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {k: form.get(k, "") for k in (*services.FIELDS, "project_id")}
    # A drawn voucher's form has no scope lists: absent lists are unchanged, not emptied.
    if form.get("scopes_shown"):
        for name in LIST_FIELDS:
            values[name] = form.getlist(name)
    return {k: v for k, v in values.items() if k in form or isinstance(v, list)}


@bp.get("/vouchers")
@login_required
def voucher_list() -> str:
    user = security.user()
    return render_template(
        "vouchers/list.html",
        vouchers=services.list_vouchers(user),
        can_manage=access.can_manage_vouchers(user),
    )


def _form_page(values: dict[str, Any], errors: dict[str, str], voucher: Any = None) -> str:
    return render_template(
        "vouchers/form.html",
        values=values,
        errors=errors,
        voucher=voucher,
        choices=services.choices(),
    )


@bp.get("/vouchers/new")
@login_required
def voucher_new() -> str:
    if not access.can_manage_vouchers(security.user()):
        raise NotFound(_("Not found."))
    values = {"share_percent": "100", "project_id": request.args.get("project", "")}
    return _form_page(values, {})


@bp.post("/vouchers/new")
@login_required
def voucher_create() -> str | tuple[str, int] | BaseResponse:
    user = security.user()
    if not access.can_manage_vouchers(user):
        raise NotFound(_("Not found."))
    values = _submitted(request.form)
    try:
        voucher = services.record_voucher(user, values)
    except ValidationError as error:
        return _form_page(values, error.errors), 422
    flash(_("Voucher %(number)s recorded.", number=voucher.number))
    return redirect(url_for("vouchers.voucher_detail", voucher_id=voucher.id))


def _detail_page(voucher: Any, values: dict[str, Any], errors: dict[str, str]) -> str:
    user = security.user()
    return render_template(
        "vouchers/detail.html",
        voucher=voucher,
        draws=services.draws_of(voucher),
        drawn=services.is_drawn(voucher),
        can_manage=access.can_manage_vouchers(user),
        values=values,
        errors=errors,
        choices=services.choices(),
    )


@bp.get("/vouchers/<int:voucher_id>")
@login_required
def voucher_detail(voucher_id: int) -> str:
    voucher = services.get_voucher(security.user(), voucher_id)
    return _detail_page(voucher, services.form_values(voucher), {})


@bp.post("/vouchers/<int:voucher_id>")
@login_required
def voucher_update(voucher_id: int) -> str | tuple[str, int] | BaseResponse:
    user = security.user()
    if not access.can_manage_vouchers(user):
        raise NotFound(_("Not found."))
    values = _submitted(request.form)
    try:
        voucher = services.update_voucher(user, voucher_id, values)
    except ValidationError as error:
        voucher = services.get_voucher(user, voucher_id)
        shown = {**services.form_values(voucher), **values}
        return _detail_page(voucher, shown, error.errors), 422
    flash(_("Voucher %(number)s saved.", number=voucher.number))
    return redirect(url_for("vouchers.voucher_detail", voucher_id=voucher.id))
