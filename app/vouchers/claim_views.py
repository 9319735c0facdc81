"""Voucher claim pages (administrators): the list with the form that prepares one, a claim's
page, printable page and workbook, and its refresh, discard, submit and mark-paid buttons. Thin
handlers around app.vouchers.claims."""

from __future__ import annotations

from datetime import date, timedelta

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.wrappers import Response as BaseResponse

from app import access, confirm, dates
from app.accounts import security
from app.billing.money import money
from app.errors import AppError, NotFound
from app.vouchers import claim_exports, claim_presenters, claims
from app.vouchers.models import Claim, ClaimState

bp = Blueprint("claims", __name__)

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _admin() -> None:
    if not access.can_manage_claims(security.user()):
        raise NotFound(_("Not found."))


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        return None


def _last_month() -> tuple[date, date]:
    today = dates.today_in(current_app.config["DEFAULT_TIMEZONE"])
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


def _list_page(errors: dict[str, str], form: dict[str, str]) -> str:
    return render_template(
        "claims/claim_list.html",
        claims=claims.list_claims(security.user()),
        issuers=claims.known_issuers(),
        errors=errors,
        form=form,
    )


@bp.get("/claims")
@login_required
def claim_list() -> str:
    _admin()
    start, end = _last_month()
    return _list_page({}, {"period_start": start.isoformat(), "period_end": end.isoformat()})


@bp.post("/claims")
@login_required
def claim_prepare() -> tuple[str, int] | BaseResponse:
    _admin()
    try:
        claim = claims.prepare_claim(
            security.user(),
            request.form.get("issuer", ""),
            _date(request.form.get("period_start")),
            _date(request.form.get("period_end")),
        )
    except AppError as error:
        if isinstance(error, NotFound):
            raise
        errors = dict(getattr(error, "errors", {}) or {error.field or "period": error.detail})
        return _list_page(errors, dict(request.form)), error.status
    flash(_("Claim %(number)s prepared as a draft.", number=claim.number))
    return redirect(url_for("claims.claim_detail", claim_id=claim.id))


def _context(claim_id: int) -> dict[str, object]:
    claim = claims.get_claim(security.user(), claim_id)
    return {"claim": claim, "rows": claim_presenters.claim_rows(claim)}


@bp.get("/claims/<int:claim_id>")
@login_required
def claim_detail(claim_id: int) -> str:
    return render_template("claims/claim_detail.html", **_context(claim_id))


@bp.get("/claims/<int:claim_id>/print")
@login_required
def claim_print(claim_id: int) -> str:
    return render_template("claims/claim_print.html", **_context(claim_id))


@bp.get("/claims/<int:claim_id>.xlsx")
@login_required
def claim_xlsx(claim_id: int) -> Response:
    claim = claims.get_claim(security.user(), claim_id)
    response = Response(claim_exports.claim_xlsx(claim), mimetype=XLSX_MIMETYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{claim.number}.xlsx"'
    return response


@bp.post("/claims/<int:claim_id>/refresh")
@login_required
def claim_refresh(claim_id: int) -> BaseResponse:
    claim, added = claims.refresh_claim(security.user(), claim_id)
    flash(_("Claim refreshed: %(count)d charges added.", count=added))
    return redirect(url_for("claims.claim_detail", claim_id=claim.id))


def submit_question(claim: Claim) -> str:
    """Say what submitting a claim does."""
    return _(
        "Submit claim %(number)s to %(issuer)s for %(total)s CNY? Its lines and total are "
        "locked from then on.",
        number=claim.number,
        issuer=claim.issuer,
        total=money(claim.total_fen),
    )


def paid_question(claim: Claim) -> str:
    """Say what marking a claim paid does."""
    return _(
        "Mark claim %(number)s paid by %(issuer)s (%(total)s CNY)? This cannot be undone.",
        number=claim.number,
        issuer=claim.issuer,
        total=money(claim.total_fen),
    )


@bp.post("/claims/<int:claim_id>/submit")
@login_required
def claim_submit(claim_id: int) -> str | BaseResponse:
    claim = claims.get_claim(security.user(), claim_id)
    if not confirm.confirmed():
        return confirm.confirmation_page(
            title=_("Submit claim %(number)s?", number=claim.number),
            message=submit_question(claim),
            action=_("Mark submitted"),
            back=url_for("claims.claim_detail", claim_id=claim.id),
        )
    claims.submit_claim(security.user(), claim.id)
    flash(_("Claim %(number)s marked submitted; it is locked.", number=claim.number))
    return redirect(url_for("claims.claim_detail", claim_id=claim.id))


@bp.post("/claims/<int:claim_id>/paid")
@login_required
def claim_paid(claim_id: int) -> str | BaseResponse:
    claim = claims.get_claim(security.user(), claim_id)
    if not confirm.confirmed():
        return confirm.confirmation_page(
            title=_("Mark claim %(number)s paid?", number=claim.number),
            message=paid_question(claim),
            action=_("Mark paid"),
            back=url_for("claims.claim_detail", claim_id=claim.id),
        )
    claims.mark_paid(security.user(), claim.id)
    flash(_("Claim %(number)s marked paid.", number=claim.number))
    return redirect(url_for("claims.claim_detail", claim_id=claim.id))


def discard_question(claim: Claim) -> str:
    """Say what discarding a draft claim does."""
    return _(
        "Discard draft claim %(number)s to %(issuer)s (%(total)s CNY)? Its voucher-paid charges "
        "go back to unclaimed; a claim for the period can be prepared again.",
        number=claim.number,
        issuer=claim.issuer,
        total=money(claim.total_fen),
    )


@bp.post("/claims/<int:claim_id>/discard")
@login_required
def claim_discard(claim_id: int) -> str | BaseResponse:
    claim = claims.get_claim(security.user(), claim_id)
    if not confirm.confirmed():
        return confirm.confirmation_page(
            title=_("Discard claim %(number)s?", number=claim.number),
            message=discard_question(claim),
            action=_("Discard draft"),
            back=url_for("claims.claim_detail", claim_id=claim.id),
        )
    number = claims.discard_claim(security.user(), claim.id)
    flash(_("Draft claim %(number)s discarded; its charges are unclaimed again.", number=number))
    return redirect(url_for("claims.claim_list"))


def register(app: Flask) -> None:
    """Give templates the labels of claims and the questions their buttons ask."""
    app.jinja_env.globals.update(
        claim_state_label=claim_presenters.state_label,
        claim_period=claim_presenters.period_label,
        claim_submit_question=submit_question,
        claim_paid_question=paid_question,
        claim_discard_question=discard_question,
        ClaimState=ClaimState,
    )
