"""Who may see or change what: the one home of the access rules, with their query filters.

Pages, exports and jobs call these; a rule written anywhere else is a bug. A check that fails
answers NotFound (404), so ids leak nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import false, or_

from app.accounts.models import User

if TYPE_CHECKING:
    from app.billing.models import Statement
    from app.booking.models import Booking
    from app.catalog.models import Facility


def manages(user: User, facility: Facility | int) -> bool:
    """Tell whether the user manages the facility (administrators manage all)."""
    facility_id = facility if isinstance(facility, int) else facility.id
    return user.is_admin or facility_id in user.facility_ids


# ---------------------------------------------------------------- usage


def can_record_usage(user: User, booking: Booking) -> bool:
    """Tell whether the user may check the booking in or out from the facility's side."""
    return manages(user, booking.equipment.facility_id)


def can_use_kiosk(user: User, booking: Booking) -> bool:
    """Tell whether the user may check the booking in or out at the unit's kiosk: a member of
    its project, or the facility's staff."""
    return booking.request.project_id in user.project_ids or can_record_usage(user, booking)


def can_correct_usage(user: User, booking: Booking) -> bool:
    """Tell whether the user may correct recorded usage: the facility's managers."""
    return manages(user, booking.equipment.facility_id)


def can_see_no_shows(user: User, facility: Facility | int) -> bool:
    """Tell whether the user may see a facility's no-show counts per project: its managers."""
    return manages(user, facility)


# ---------------------------------------------------------------- billing


def can_edit_rates(user: User) -> bool:
    """Tell whether the user may edit rate cards and projects' customer kinds."""
    return user.is_admin


def can_issue_statements(user: User, facility: Facility | int) -> bool:
    """Tell whether the user may issue statements and notes for the facility."""
    return manages(user, facility)


def can_see_statement(user: User, statement: Statement) -> bool:
    """Tell whether the user may see a statement: its project's members, the facility's
    managers, administrators."""
    return statement.project_id in user.project_ids or manages(user, statement.facility_id)


def statement_filter(user: User, facility_column: Any, project_column: Any) -> Any:
    """Return the WHERE clause that keeps only the statements or charges the user may see."""
    if user.is_admin:
        return or_(facility_column.is_not(None))
    clauses = []
    if user.project_ids:
        clauses.append(project_column.in_(sorted(user.project_ids)))
    if user.facility_ids:
        clauses.append(facility_column.in_(sorted(user.facility_ids)))
    return or_(*clauses) if clauses else false()
