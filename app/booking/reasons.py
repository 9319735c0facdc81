"""Why a request is unplaced, in the reader's language, with the units' names and local times.

The solver (and ``problems.build_problem`` for requests it never sees) gives each reason a
stable code and its arguments (``scheduler/FORMAT-EXTENSIONS.md``). They are stored as a
*detail* ``{"code", "args", "units"}``, where ``units`` maps the solver's unit ids to equipment
ids, so a later rename of a unit's slug does not lose its name. The pages write the reason from
the detail with one gettext template per code; rows from before codes keep their English text.

A detail names only the request's own units, times and project, never another request's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from babel.lists import format_list
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import select

from app.billing import budgets
from app.billing.money import currency
from app.booking.models import RequestStatus
from app.booking.requests import request_facility
from app.catalog.labels import capability_name
from app.catalog.models import Equipment
from app.extensions import db
from app.i18n import local_date, local_time, localised

if TYPE_CHECKING:
    from app.booking.models import BookingRequest, ProposalUnplaced

log = logging.getLogger(__name__)


def detail(code: str | None, args: Mapping[str, Any], units: Mapping[str, Equipment]) -> Any:
    """Return the stored form of a reason: its code, its arguments and the units they name."""
    if code is None:
        return None
    named = [*args.get("units", []), args.get("free_unit")]
    return {
        "code": code,
        "args": dict(args),
        "units": {uid: units[uid].id for uid in named if isinstance(uid, str) and uid in units},
    }


class _Reader:
    """Turns one detail's arguments into the words of the current language."""

    def __init__(self, stored: Mapping[str, Any], tz: str, project: str) -> None:
        self.args: Mapping[str, Any] = stored.get("args") or {}
        self.unit_ids: Mapping[str, int] = stored.get("units") or {}
        self.tz = tz
        self.project = project

    def unit(self, solver_id: str) -> str:
        unit = None
        if solver_id in self.unit_ids:
            unit = db.session.get(Equipment, self.unit_ids[solver_id])
        if unit is None:
            unit = db.session.scalar(
                select(Equipment).where(Equipment.slug == solver_id.removeprefix("u"))
            )
        return localised(unit) if unit is not None else solver_id

    def units(self) -> str:
        names = [self.unit(u) for u in self.args.get("units", [])]
        return format_list(names, locale=str(get_locale() or "zh")) if names else ""

    def time(self, key: str) -> str:
        return local_time(datetime.fromisoformat(self.args[key]), self.tz, "short")

    def minutes(self, key: str = "minutes") -> str:
        hours, rest = divmod(int(self.args[key]), 60)
        if not hours:
            return _("%(minutes)d min", minutes=rest)
        if not rest:
            return _("%(hours)d h", hours=hours)
        return _("%(hours)d h %(minutes)d min", hours=hours, minutes=rest)

    def count(self) -> int:
        return len(self.args.get("units", []))

    def common(self) -> dict[str, Any]:
        """Return the placeholders most templates use (window, units, duration)."""
        # ngettext fills %(num)d itself from the count it is given.
        out: dict[str, Any] = {"units": self.units()}
        if "earliest" in self.args:
            out |= {"earliest": self.time("earliest"), "deadline": self.time("deadline")}
        if "minutes" in self.args:
            out["duration"] = self.minutes()
        return out

    def of_step(self, text: str) -> str:
        """Say which step a reason is about, when the request has more than one."""
        if int(self.args.get("steps", 1)) > 1:
            return _("Step %(step)d: %(reason)s", step=int(self.args["step"]), reason=text)
        return text


def _window_too_short(r: _Reader) -> str:
    return _(
        "The window %(earliest)s – %(deadline)s is shorter than the %(duration)s its steps "
        "need; widen the window or shorten the steps.",
        **r.common(),
    )


def _not_open_long_enough(r: _Reader) -> str:
    return r.of_step(
        _(
            "No allowed unit (%(units)s) is open long enough for this attended %(duration)s "
            "step; split it or mark it unattended.",
            **r.common(),
        )
    )


def _units_in_maintenance(r: _Reader) -> str:
    return r.of_step(
        ngettext(
            "%(units)s is in maintenance whenever this %(duration)s step could run between "
            "%(earliest)s and %(deadline)s; choose another window.",
            "All %(num)d allowed units (%(units)s) are in maintenance whenever this "
            "%(duration)s step could run between %(earliest)s and %(deadline)s; choose "
            "another window.",
            r.count(),
            **r.common(),
        )
    )


def _units_closed(r: _Reader) -> str:
    return r.of_step(
        ngettext(
            "%(units)s is closed or in maintenance whenever this %(duration)s step could run "
            "between %(earliest)s and %(deadline)s; choose another window.",
            "All %(num)d allowed units (%(units)s) are closed or in maintenance whenever this "
            "%(duration)s step could run between %(earliest)s and %(deadline)s; choose "
            "another window.",
            r.count(),
            **r.common(),
        )
    )


def _units_taken_by_approved_bookings(r: _Reader) -> str:
    return r.of_step(
        ngettext(
            "%(units)s is taken by approved bookings whenever this %(duration)s step could "
            "run between %(earliest)s and %(deadline)s; choose another window.",
            "All %(num)d allowed units (%(units)s) are taken by approved bookings whenever "
            "this %(duration)s step could run between %(earliest)s and %(deadline)s; choose "
            "another window.",
            r.count(),
            **r.common(),
        )
    )


def _lag_too_short(r: _Reader) -> str:
    return _(
        "The units of step %(step)d (%(units)s) are never free within %(lag)s after step "
        "%(previous)d can end between %(earliest)s and %(deadline)s; allow a longer gap or "
        "other units.",
        step=int(r.args["step"]),
        previous=int(r.args["previous"]),
        lag=r.minutes("max_lag_minutes"),
        **r.common(),
    )


def _steps_cannot_follow(r: _Reader) -> str:
    return _(
        "Its %(steps)d steps cannot follow one another between %(earliest)s and %(deadline)s "
        "on open units; widen the window.",
        steps=int(r.args["steps"]),
        **r.common(),
    )


def _fair_share_used(r: _Reader) -> str:
    return _(
        "Project %(project)s already holds its fair share (%(percent)d%%) of the units this "
        "request needs (%(units)s); it fits once the project releases other bookings.",
        project=r.project,
        percent=int(r.args["percent"]),
        **r.common(),
    )


def _over_budget(r: _Reader) -> str:
    return _(
        "Project %(project)s has a budget of %(budget)s and has already committed "
        "%(committed)s; this request would cost %(cost)s more. Raise the budget (a voucher "
        "or the spending cap) or withdraw another request.",
        project=r.project,
        budget=_yuan(r.args["budget_fen"]),
        committed=_yuan(r.args["committed_fen"]),
        cost=_yuan(r.args["cost_fen"]),
    )


def _yuan(fen: Any) -> str:
    """Show an amount in fen as yuan in the reader's locale (exact: no float on the way)."""
    return currency(int(fen))


def _booked_by_others(r: _Reader) -> str:
    place = {"free_start": r.time("free_start"), "free_unit": r.unit(r.args["free_unit"])}
    if int(r.args.get("steps", 1)) > 1:
        text = _(
            "The units its %(steps)d steps need (%(units)s) are booked by other requests "
            "between %(earliest)s and %(deadline)s; the earliest time the whole campaign fits "
            "is %(free_start)s on %(free_unit)s.",
            steps=int(r.args["steps"]),
            **place,
            **r.common(),
        )
    else:
        text = ngettext(
            "%(units)s is booked by other requests between %(earliest)s and %(deadline)s; "
            "the earliest free %(duration)s slot is %(free_start)s on %(free_unit)s.",
            "All %(num)d allowed units (%(units)s) are booked by other requests between "
            "%(earliest)s and %(deadline)s; the earliest free %(duration)s slot is "
            "%(free_start)s on %(free_unit)s.",
            r.count(),
            **place,
            **r.common(),
        )
    if r.args.get("fair_share_used"):
        return _(
            "%(reason)s But project %(project)s has used its fair share there.",
            reason=text,
            project=r.project,
        )
    return text


def _booked_until_horizon_end(r: _Reader) -> str:
    if int(r.args.get("steps", 1)) > 1:
        return _(
            "The units its %(steps)d steps need (%(units)s) are booked by other requests "
            "between %(earliest)s and %(deadline)s; no time the whole campaign fits remains "
            "before the planning horizon ends.",
            steps=int(r.args["steps"]),
            **r.common(),
        )
    return ngettext(
        "%(units)s is booked by other requests between %(earliest)s and %(deadline)s; no free "
        "%(duration)s slot remains before the planning horizon ends.",
        "All %(num)d allowed units (%(units)s) are booked by other requests between "
        "%(earliest)s and %(deadline)s; no free %(duration)s slot remains before the planning "
        "horizon ends.",
        r.count(),
        **r.common(),
    )


def _training_missing(r: _Reader) -> str:
    return _(
        "Step %(step)d may only use units that need a training no member of your project has "
        "(%(units)s); complete the training or change the request.",
        step=int(r.args["step"]),
        **r.common(),
    )


def _no_unit_left(r: _Reader) -> str:
    if r.args.get("capability"):
        return _(
            "Step %(step)d asks for %(capability)s, but no unit that can do it is in service "
            "any more; change the request.",
            step=int(r.args["step"]),
            capability=capability_name(r.args["capability"]),
        )
    return _(
        "Step %(step)d has no unit it may use any more (retired, or out of service); change "
        "the request.",
        step=int(r.args["step"]),
    )


def _solve_stopped(r: _Reader) -> str:
    return _(
        "The solve stopped (its time limit, or a stop) before it could place this request on "
        "%(units)s between %(earliest)s and %(deadline)s or say when it would fit; it fits on "
        "an empty calendar. A longer solve may place it.",
        **r.common(),
    )


TEMPLATES: dict[str, Callable[[_Reader], str]] = {
    "window-too-short": _window_too_short,
    "not-open-long-enough": _not_open_long_enough,
    "units-in-maintenance": _units_in_maintenance,
    "units-closed": _units_closed,
    "units-taken-by-approved-bookings": _units_taken_by_approved_bookings,
    "lag-too-short": _lag_too_short,
    "steps-cannot-follow": _steps_cannot_follow,
    "fair-share-used": _fair_share_used,
    "over-budget": _over_budget,
    "booked-by-others": _booked_by_others,
    "booked-until-horizon-end": _booked_until_horizon_end,
    "solve-stopped": _solve_stopped,
    # Reasons of build_problem for requests the solver never sees.
    "training-missing": _training_missing,
    "no-unit-left": _no_unit_left,
}


def describe(stored: Mapping[str, Any] | None, fallback: str, *, tz: str, project: str) -> str:
    """Return the reason in the current language; the stored text if it has no known code."""
    if not stored or stored.get("code") not in TEMPLATES:
        return fallback
    try:
        return TEMPLATES[stored["code"]](_Reader(stored, tz, project))
    except (KeyError, TypeError, ValueError):
        log.warning("unplaced reason %r not written from its arguments", stored, exc_info=True)
        # A detail written by a newer or older solver with other arguments: its text still
        # says why, in English.
        return fallback


def request_reason(req: BookingRequest) -> str:
    """Return why a request is unplaced, for its project's members and its managers."""
    return describe(
        req.unplaced_reason_detail,
        req.unplaced_reason,
        tz=request_facility(req).timezone,
        project=req.project.name,
    )


def proposal_reason(unplaced: ProposalUnplaced) -> str:
    """Return why a proposal left a request unplaced."""
    return describe(
        unplaced.reason_detail,
        unplaced.reason,
        tz=unplaced.proposal.facility.timezone,
        project=unplaced.request.project.name,
    )


def budget_notices(req: BookingRequest) -> list[dict[str, Any]]:
    """Return, per facility, what an open request would cost there when that is more than
    its project's spending cap leaves (app.billing.budgets.request_over_budget), with a
    ``message`` saying so: a solve would leave it out for that."""
    if req.status not in (RequestStatus.PENDING.value, RequestStatus.UNPLACED.value):
        return []
    return [
        {
            **over,
            "message": _(
                "At %(facility)s this request is estimated at %(cost)s, more than the project's "
                "spending cap for %(first)s to %(last)s leaves there (%(left)s): a solve will "
                "leave it out unless the cap is raised, a voucher is added or the request asks "
                "for less.",
                facility=localised(over["facility"]),
                cost=currency(over["cost_fen"]),
                first=local_date(date.fromisoformat(over["period_start"])),
                last=local_date(date.fromisoformat(over["period_end"])),
                left=currency(over["remaining_fen"]),
            ),
        }
        for over in budgets.request_over_budget(req)
    ]
