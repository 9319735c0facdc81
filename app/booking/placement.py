"""Whether a booking may stand at a place: the solver's own checker run on a manager's move,
and what it finds written in the reader's language with the units' names and local times.

The rules are not restated here: ``problems.build_move_problem`` translates the move into the
solver's problem and result, and ``scheduler.check`` (the validator of every solve) judges it.
Findings are stored as ``{"code", "args"}`` (in the audit log of an override), so a member reads
them later in their own language.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _

from app.billing import budgets
from app.billing.money import currency
from app.booking import problems
from app.booking.reasons import _Reader
from app.booking.requests import allowed_units
from app.i18n import local_date
from scheduler.check import PLACEMENT_CODES, Finding, check
from scheduler.problem import problem_to_dict

if TYPE_CHECKING:
    from app.booking.models import Booking
    from app.catalog.models import Equipment

NEVER_OVERRIDDEN = frozenset({"over-capacity", "changeover", "blackout"})
"""Rules a manager cannot set aside: they protect another booking or a unit in maintenance."""


def _concerns(finding: Finding, rid: str, k: int) -> bool:
    args = finding.args
    if args.get("request") == rid and k in (args.get("step"), args.get("previous")):
        return True
    return [rid, k] in args.get("steps", [])


def move_findings(
    booking: Booking, unit: Equipment, start: datetime, end: datetime, *, new: bool = False
) -> list[dict[str, Any]]:
    """Return the rules the solver obeys that moving the booking to (unit, start, end) breaks.

    Each is ``{"code", "args"}``; rules that other bookings already broke before the move are
    not the move's and are left out. The project's budget (its spending cap and vouchers) is
    the solver's rule too; ``app.billing.budgets`` says when a booking (``new``) or a move
    breaks it."""
    move = problems.build_move_problem(booking, unit, start, end)
    found = check(problem_to_dict(move.problem), move.result)
    out: list[dict[str, Any]] = []
    for finding in found:
        if not isinstance(finding, Finding) or finding.code not in PLACEMENT_CODES:
            # A line without a code is the checker refusing the problem itself: a bug here.
            raise RuntimeError(f"move check of booking {booking.id}: {finding}")
        if not _concerns(finding, move.request, move.step):
            continue
        args = dict(finding.args)
        args["steps"] = len(move.steps)
        args["step"] = move.steps[finding.args["step"]].position + 1
        if "previous" in args:
            args["previous"] = move.steps[finding.args["previous"]].position + 1
        if finding.code == "resource-not-allowed":
            step = booking.step
            untrained = {u.id for u in allowed_units(step, need_training=False)}
            kind = "capability" if step.capability else "units"
            args["why"] = "training" if unit.id in untrained else kind
            args["capability"] = step.capability
        out.append({"code": finding.code, "args": args})
    over = budgets.placement_over_budget(booking, unit, start, end, new=new)
    if over is not None:
        out.append({"code": "over-budget", "args": over})
    return out


def _unit(r: _Reader) -> str:
    return r.unit(str(r.args["resource"]))


def _not_allowed(r: _Reader) -> str:
    why = r.args.get("why")
    if why == "training":
        return _("%(unit)s needs a training that no member of the project has.", unit=_unit(r))
    if why == "capability":
        return _(
            "%(unit)s cannot do what this step asks for (%(capability)s).",
            unit=_unit(r),
            capability=r.args.get("capability") or "",
        )
    return _("%(unit)s is not among the units this step may use.", unit=_unit(r))


def _outside_open_hours(r: _Reader) -> str:
    return _(
        "This step needs staff, and %(start)s – %(end)s is not inside the opening hours of "
        "%(unit)s (its facility's hours and closures, unless the unit has staffed hours of its "
        "own).",
        unit=_unit(r),
        start=r.time("start"),
        end=r.time("end"),
    )


def _before_release(r: _Reader) -> str:
    return _(
        "It would start at %(start)s, before the request's earliest start %(earliest)s.",
        start=r.time("start"),
        earliest=r.time("release"),
    )


def _after_deadline(r: _Reader) -> str:
    return _(
        "It would end at %(end)s, after the request's deadline %(deadline)s.",
        end=r.time("end"),
        deadline=r.time("deadline"),
    )


def _before_previous_step(r: _Reader) -> str:
    return _(
        "Step %(step)d would start before step %(previous)d ends.",
        step=int(r.args["step"]),
        previous=int(r.args["previous"]),
    )


def _lag_too_short(r: _Reader) -> str:
    return _(
        "Step %(step)d would start %(lag)s after step %(previous)d ends; it needs at least "
        "%(min_lag)s.",
        step=int(r.args["step"]),
        previous=int(r.args["previous"]),
        lag=r.minutes("lag"),
        min_lag=r.minutes("min_lag"),
    )


def _lag_too_long(r: _Reader) -> str:
    return _(
        "Step %(step)d would start %(lag)s after step %(previous)d ends; it may wait at most "
        "%(max_lag)s.",
        step=int(r.args["step"]),
        previous=int(r.args["previous"]),
        lag=r.minutes("lag"),
        max_lag=r.minutes("max_lag"),
    )


def _blackout(r: _Reader) -> str:
    return _("%(unit)s is under maintenance then.", unit=_unit(r))


def _over_capacity(r: _Reader) -> str:
    return _("%(unit)s is already fully booked then.", unit=_unit(r))


def _changeover(r: _Reader) -> str:
    return _(
        "%(unit)s needs %(minutes)s of changeover between two projects' bookings.",
        unit=_unit(r),
        minutes=r.minutes(),
    )


def _over_budget(r: _Reader) -> str:
    return _(
        "It would cost %(cost)s, and the project's spending cap for %(first)s to %(last)s has "
        "%(left)s left (cap %(cap)s, committed %(committed)s, vouchers %(vouchers)s).",
        cost=currency(r.args["cost_fen"]),
        first=local_date(date.fromisoformat(str(r.args["period_start"]))),
        last=local_date(date.fromisoformat(str(r.args["period_end"]))),
        left=currency(r.args["remaining_fen"]),
        cap=currency(r.args["budget_fen"]),
        committed=currency(r.args["committed_fen"]),
        vouchers=currency(r.args["vouchers_fen"]),
    )


def _other(r: _Reader) -> str:
    return _("The move breaks a scheduling rule (%(code)s).", code=str(r.args.get("code", "")))


TEMPLATES: dict[str, Callable[[_Reader], str]] = {
    "resource-not-allowed": _not_allowed,
    "outside-open-hours": _outside_open_hours,
    "before-release": _before_release,
    "after-deadline": _after_deadline,
    "before-previous-step": _before_previous_step,
    "lag-too-short": _lag_too_short,
    "lag-too-long": _lag_too_long,
    "blackout": _blackout,
    "over-capacity": _over_capacity,
    "changeover": _changeover,
    "over-budget": _over_budget,
}


def finding_text(stored: Mapping[str, Any], *, tz: str) -> str:
    """Return one stored finding as a sentence of the current language."""
    code = str(stored.get("code", ""))
    reader = _Reader({"args": stored.get("args") or {}}, tz, "")
    template = TEMPLATES.get(code)
    if template is None:
        reader = _Reader({"args": {"code": code}}, tz, "")
        return _other(reader)
    text = template(reader)
    if int(reader.args.get("steps", 1)) > 1 and code not in {
        "before-previous-step",
        "lag-too-short",
        "lag-too-long",
        "over-budget",
    }:
        return _("Step %(step)d: %(reason)s", step=int(reader.args["step"]), reason=text)
    return text
