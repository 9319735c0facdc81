"""Spending caps: what a project means to spend at most in a period, stated by its members.

The solver keeps every plan within them (app.billing.budgets says how); here they are
stated, checked and removed. Amounts are given in yuan and kept in integer fen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _
from sqlalchemy import select

from app import access, dates
from app.accounts.models import Project
from app.billing.models import SpendingCap
from app.billing.money import MAX_FEN, fen_from_yuan
from app.booking import audit
from app.database import write_transaction
from app.errors import NotFound, ValidationError
from app.extensions import db

if TYPE_CHECKING:
    from app.accounts.models import User

# The longest period one cap may cover; longer is a typo, not a plan.
MAX_CAP_DAYS = 366
MAX_CAP_NOTE = 500


@dataclass
class CapInput:
    """A cap as a member gives it: the amount in yuan and a month, or from and to dates."""

    amount_yuan: Any = None
    month: Any = None
    period_start: Any = None
    period_end: Any = None
    note: Any = ""
    # The API gives the amount in fen instead (then amount_yuan is None).
    amount_fen: Any = None


def month_period(month: date) -> tuple[date, date]:
    """Return the first and the last day of a date's calendar month."""
    first = month.replace(day=1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def _amount(data: CapInput, errors: dict[str, str]) -> int | None:
    if data.amount_yuan is None and data.amount_fen is not None:
        fen = data.amount_fen
        if isinstance(fen, bool) or not isinstance(fen, int) or not 0 <= fen <= MAX_FEN:
            errors["amount_fen"] = _("Enter an amount from 0 to 100,000,000 yuan.")
            return None
        return fen
    raw = str(data.amount_yuan if data.amount_yuan is not None else "").strip()
    try:
        fen = fen_from_yuan(raw)
    except (ValueError, ArithmeticError):
        errors["amount_yuan"] = _("Enter an amount in yuan with at most two decimals.")
        return None
    if not 0 <= fen <= MAX_FEN:
        errors["amount_yuan"] = _("Enter an amount from 0 to 100,000,000 yuan.")
        return None
    return fen


def _period(data: CapInput, errors: dict[str, str]) -> tuple[date, date] | None:
    if data.month is not None:
        if not isinstance(data.month, date) or not dates.supported(data.month):
            errors["month"] = dates.range_message()
            return None
        return month_period(data.month)
    start, end = data.period_start, data.period_end
    if not isinstance(start, date):
        errors["period_start"] = _("Give a month, or the first and the last day of the period.")
    elif not dates.supported(start):
        errors["period_start"] = dates.range_message()
    if not isinstance(end, date):
        errors["period_end"] = _("Give a month, or the first and the last day of the period.")
    elif not dates.supported(end):
        errors["period_end"] = dates.range_message()
    if errors.get("period_start") or errors.get("period_end"):
        return None
    if end < start:
        errors["period_end"] = _("The last day cannot come before the first.")
        return None
    if (end - start).days + 1 > MAX_CAP_DAYS:
        errors["period_end"] = _(
            "A cap covers at most %(days)d days; state one per period.", days=MAX_CAP_DAYS
        )
        return None
    return start, end


def overlapping(project_id: int, start: date, end: date) -> SpendingCap | None:
    """Return a cap of the project whose period shares a day with [start, end], if any."""
    return db.session.scalar(
        select(SpendingCap)
        .where(
            SpendingCap.project_id == project_id,
            SpendingCap.period_start <= end,
            SpendingCap.period_end >= start,
        )
        .order_by(SpendingCap.period_start)
        .limit(1)
    )


def set_cap(user: User, project_id: Any, data: CapInput) -> SpendingCap:
    """State a spending cap of a project for a period that overlaps none of its others."""
    write_transaction()
    project = db.session.get(Project, project_id) if isinstance(project_id, int) else None
    if project is None or not access.can_set_caps(user, project.id):
        raise ValidationError(_("Choose one of the projects in the list."), field="project_id")
    # Two members stating caps at once: the second waits here, then sees the first's period.
    db.session.execute(select(Project.id).where(Project.id == project.id).with_for_update())
    errors: dict[str, str] = {}
    fen = _amount(data, errors)
    period = _period(data, errors)
    note = data.note.strip() if isinstance(data.note, str) else ""
    if len(note) > MAX_CAP_NOTE:
        errors["note"] = _("Use at most %(n)d characters.", n=MAX_CAP_NOTE)
    if period is not None:
        clash = overlapping(project.id, *period)
        if clash is not None:
            field = "month" if data.month is not None else "period_start"
            errors[field] = _(
                "This period overlaps the project's cap from %(start)s to %(end)s; change or "
                "remove that one first.",
                start=clash.period_start.isoformat(),
                end=clash.period_end.isoformat(),
            )
    if errors or fen is None or period is None:
        db.session.rollback()
        raise ValidationError(next(iter(errors.values())), errors=errors)
    cap = SpendingCap(
        project_id=project.id,
        amount_fen=fen,
        period_start=period[0],
        period_end=period[1],
        note=note,
        created_by_id=user.id,
    )
    db.session.add(cap)
    db.session.flush()
    audit.record(
        user,
        "cap.set",
        "spending_cap",
        cap.id,
        project_id=project.id,
        amount_fen=fen,
        period_start=period[0],
        period_end=period[1],
    )
    db.session.commit()
    return cap


def remove_cap(user: User, cap_id: int) -> None:
    """Remove a spending cap (its project's members, administrators)."""
    write_transaction()
    cap = db.session.get(SpendingCap, cap_id)
    if cap is None or not access.can_set_caps(user, cap.project_id):
        raise NotFound(_("No such spending cap among those you can see."))
    audit.record(
        user,
        "cap.remove",
        "spending_cap",
        cap.id,
        project_id=cap.project_id,
        amount_fen=cap.amount_fen,
        period_start=cap.period_start,
        period_end=cap.period_end,
    )
    db.session.delete(cap)
    db.session.commit()


def list_caps(user: User) -> list[SpendingCap]:
    """Return the caps the user may see, by project and period."""
    return list(
        db.session.scalars(
            select(SpendingCap)
            .join(Project, Project.id == SpendingCap.project_id)
            .where(access.caps_filter(user, SpendingCap.project_id))
            .order_by(Project.name, SpendingCap.period_start)
        )
    )
