"""Billing in the JSON API: charges, statements with their lines and notes, issuing them, rate
cards and projects' customer kinds. Handlers load, check access (app/access.py, through the
services) and serialise; the rules live in app/billing/services.py.

Rate cards are read without signing in, like the catalogue that already shows each unit's
hourly rate: a startup needs its price before it books. Money is integer fen throughout."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from flask import Blueprint
from pydantic import Field, StrictInt
from sqlalchemy import select

from app import openapi
from app.accounts import security
from app.accounts.models import Project
from app.apitypes import Answer, Body, Int, Moment, Month, Query, QueryFlag, QueryInt, Text
from app.billing import services
from app.billing.models import (
    Charge,
    ChargeBasis,
    CustomerKind,
    RateCard,
    Statement,
    StatementKind,
    StatementLine,
)
from app.billing.money import MAX_FEN
from app.booking.api import routing
from app.catalog.models import Equipment
from app.errors import BadRequest, ValidationError
from app.extensions import db

bp = Blueprint("billing_api", __name__, url_prefix="/api/v1")

CustomerKinds = Literal[tuple(k.value for k in CustomerKind)]  # type: ignore[valid-type]
Bases = Literal[tuple(b.value for b in ChargeBasis)]  # type: ignore[valid-type]
StatementKinds = Literal[tuple(k.value for k in StatementKind)]  # type: ignore[valid-type]
NoteKinds = Literal["credit_note", "debit_note"]
# Fen of a rate or a note: never negative, at most MAX_FEN (the database's integers allow more).
Fen = Annotated[StrictInt, Field(ge=0, le=MAX_FEN)]
PositiveFen = Annotated[StrictInt, Field(ge=1, le=MAX_FEN)]


# Declare a billing operation: 404 for what the caller may not see.
route = openapi.area_router(bp, "billing")


# ---------------------------------------------------------------- charges


class ChargeAnswer(Answer):
    """What one booking costs its project, at the rates of its customer kind."""

    id: int
    booking_id: int
    project_id: int
    facility: str = Field(description="the facility's slug")
    equipment: str = Field(description="the unit's slug")
    customer_kind: CustomerKinds  # type: ignore[valid-type]
    basis: Bases = Field(  # type: ignore[valid-type]
        description="actual: checked-in to checked-out time; booked: the booked time"
    )
    start: Moment
    end: Moment
    minutes: int = Field(description="billed minutes, changeover included when billed")
    hourly_fen: int
    surcharge_fen: int = Field(description="assisted-session surcharge per hour")
    amount_fen: int = Field(
        description="minutes × (hourly + surcharge) / 60, rounded to the fen, halves up; "
        "at least the minimum charge"
    )
    minimum_applied: bool
    voucher_fen: int = Field(description="what innovation vouchers paid of it")
    statement_id: int | None = Field(description="the statement it is billed on; null: unbilled")

    @classmethod
    def of(cls, charge: Charge, voucher_fen: int = 0) -> ChargeAnswer:
        return cls(
            id=charge.id,
            booking_id=charge.booking_id,
            project_id=charge.project_id,
            facility=charge.equipment.facility.slug,
            equipment=charge.equipment.slug,
            customer_kind=charge.customer_kind,
            basis=charge.basis,
            start=charge.start,
            end=charge.end,
            minutes=charge.minutes,
            hourly_fen=charge.hourly_fen,
            surcharge_fen=charge.surcharge_fen,
            amount_fen=charge.amount_fen,
            minimum_applied=charge.minimum_applied,
            voucher_fen=voucher_fen,
            statement_id=charge.statement_id,
        )


class ChargeList(Answer):
    charges: list[ChargeAnswer]
    total_fen: int
    voucher_fen: int


class ChargeQuery(Query):
    facility: Text | None = Field(None, description="facility slug")
    project: QueryInt | None = Field(None, description="project id")
    month: Month | None = Field(
        None, description="YYYY-MM: charges whose use started in that local month"
    )
    billed: QueryFlag | None = Field(None, description="true: billed only; false: unbilled only")


def _facility_id(slug: str | None) -> int | None:
    if not slug:
        return None
    return routing.facility(slug, field="facility", error=BadRequest).id


@route(
    "/charges",
    "GET",
    summary="Charges you may see: your projects' (members), your facilities' (managers)",
    answer=ChargeList,
    answer_description="Charges in time order",
    query=ChargeQuery,
    errors=(400,),
)
def charges_list(query: ChargeQuery) -> ChargeList:
    found = services.list_charges(
        security.user(),
        facility_id=_facility_id(query.facility),
        project_id=query.project,
        month=query.month,
        billed=query.billed,
    )
    paid = services.voucher_paid([c.id for c in found])
    return ChargeList(
        charges=[ChargeAnswer.of(c, paid.get(c.id, 0)) for c in found],
        total_fen=sum(c.amount_fen for c in found),
        voucher_fen=sum(paid.values()),
    )


# ---------------------------------------------------------------- statements


class StatementLineAnswer(Answer):
    """One billed booking of a statement (a copy made when issued), or a note's one amount."""

    position: int
    booking_id: int | None
    charge_id: int | None
    equipment: str | None = Field(description="the unit's slug")
    start: Moment | None
    end: Moment | None
    minutes: int
    hourly_fen: int
    surcharge_fen: int
    amount_fen: int
    voucher_fen: int = Field(description="what innovation vouchers paid of the line's charge")
    description: str

    @classmethod
    def of(cls, line: StatementLine, voucher_fen: int) -> StatementLineAnswer:
        return cls(
            position=line.position,
            booking_id=line.booking_id,
            charge_id=line.charge_id,
            equipment=line.equipment.slug if line.equipment else None,
            start=line.start,
            end=line.end,
            minutes=line.minutes,
            hourly_fen=line.hourly_fen,
            surcharge_fen=line.surcharge_fen,
            amount_fen=line.amount_fen,
            voucher_fen=voucher_fen,
            description=line.description,
        )


class StatementRef(Answer):
    id: int
    number: str
    kind: StatementKinds  # type: ignore[valid-type]
    payable_fen: int
    issued_at: Moment


class StatementSummary(Answer):
    """An issued statement or note; it never changes."""

    id: int
    number: str
    kind: StatementKinds  # type: ignore[valid-type]
    facility: str = Field(description="the facility's slug")
    project_id: int
    project: str = Field(description="the project's name")
    month: Month
    customer_kind: CustomerKinds  # type: ignore[valid-type]
    subtotal_fen: int = Field(description="signed: a credit note's is negative")
    voucher_deductions_fen: int
    payable_fen: int = Field(description="subtotal less voucher deductions; signed")
    reference: StatementRef | None = Field(description="the statement a note corrects")
    reason: str
    issued_at: Moment

    @staticmethod
    def fields(statement: Statement) -> dict[str, Any]:
        reference = statement.reference
        return {
            "id": statement.id,
            "number": statement.number,
            "kind": statement.kind,
            "facility": statement.facility.slug,
            "project_id": statement.project_id,
            "project": statement.project.name,
            "month": statement.month,
            "customer_kind": statement.customer_kind,
            "subtotal_fen": statement.subtotal_fen,
            "voucher_deductions_fen": statement.voucher_deductions_fen,
            "payable_fen": statement.payable_fen,
            "reference": _ref(reference) if reference else None,
            "reason": statement.reason,
            "issued_at": statement.issued_at,
        }

    @classmethod
    def of(cls, statement: Statement) -> StatementSummary:
        return cls(**cls.fields(statement))


def _ref(statement: Statement) -> StatementRef:
    return StatementRef(
        id=statement.id,
        number=statement.number,
        kind=statement.kind,
        payable_fen=statement.payable_fen,
        issued_at=statement.issued_at,
    )


class StatementAnswer(StatementSummary):
    """A statement with its lines and the notes that correct it."""

    lines: list[StatementLineAnswer]
    notes: list[StatementRef] = Field(description="credit and debit notes referencing it")

    @classmethod
    def of(cls, statement: Statement) -> StatementAnswer:
        paid = services.voucher_paid([ln.charge_id for ln in statement.lines if ln.charge_id])
        return cls(
            **StatementSummary.fields(statement),
            lines=[
                StatementLineAnswer.of(ln, paid.get(ln.charge_id or 0, 0))
                for ln in statement.lines
            ],
            notes=[_ref(n) for n in services.notes_of(statement)],
        )


class StatementList(Answer):
    statements: list[StatementSummary]


class StatementQuery(Query):
    facility: Text | None = Field(None, description="facility slug")
    project: QueryInt | None = Field(None, description="project id")
    month: Month | None = Field(None, description="YYYY-MM: the billed month")


class StatementInput(Body):
    """Issue a project's statement of a month at a facility (its managers), once it is over."""

    facility: Text = Field(description="the facility's slug")
    project_id: Int
    month: Month


class NoteInput(Body):
    """Correct an issued statement by an amount, with a reason (audited)."""

    kind: NoteKinds
    amount_fen: PositiveFen = Field(description="positive; a credit note subtracts it")
    reason: Text = Field(max_length=services.MAX_NOTE_REASON, description="Required, not blank")


@route(
    "/statements",
    "GET",
    summary="Statements and notes you may see: your projects' (members), your facilities' "
    "(managers)",
    answer=StatementList,
    answer_description="Newest month first",
    query=StatementQuery,
    errors=(400,),
)
def statements_list(query: StatementQuery) -> StatementList:
    found = services.list_statements(
        security.user(),
        facility_id=_facility_id(query.facility),
        project_id=query.project,
        month=query.month,
    )
    return StatementList(statements=[StatementSummary.of(s) for s in found])


@route(
    "/statements",
    "POST",
    summary="Issue the month's statement of a project at one of your facilities (managers)",
    answer=StatementAnswer,
    status=201,
    answer_description="Issued",
    body=StatementInput,
    errors=(409, 422),
)
def statements_issue(body: StatementInput) -> tuple[StatementAnswer, dict[str, str]]:
    facility = routing.facility(body.facility, field="facility", error=ValidationError)
    issued = services.issue_statement(security.user(), facility.id, body.project_id, body.month)
    return StatementAnswer.of(issued), {"Location": f"/api/v1/statements/{issued.id}"}


@route(
    "/statements/<int:statement_id>",
    "GET",
    summary="One statement or note, with its lines and notes",
    answer=StatementAnswer,
)
def statements_detail(statement_id: int) -> StatementAnswer:
    return StatementAnswer.of(services.get_statement(security.user(), statement_id))


@route(
    "/statements/<int:statement_id>/notes",
    "POST",
    summary="Issue a credit or debit note on a statement (its facility's managers)",
    answer=StatementAnswer,
    status=201,
    answer_description="The note",
    body=NoteInput,
    errors=(409, 422),
)
def statements_note(statement_id: int, body: NoteInput) -> tuple[StatementAnswer, dict[str, str]]:
    note = services.issue_note(
        security.user(),
        statement_id,
        kind=body.kind,
        amount_fen=body.amount_fen,
        reason=body.reason,
    )
    return StatementAnswer.of(note), {"Location": f"/api/v1/statements/{note.id}"}


class DraftAnswer(Answer):
    """What a project's statement of the month would hold if a manager issued it now."""

    project_id: int
    project: str
    month: Month
    charges: int = Field(description="lines it would have")
    subtotal_fen: int
    voucher_deductions_fen: int
    payable_fen: int


class DraftList(Answer):
    facility: str
    month: Month
    drafts: list[DraftAnswer]


class DraftQuery(Query):
    month: Month = Field(description="YYYY-MM: the month to bill")


@route(
    "/facilities/<slug>/statement-drafts",
    "GET",
    summary="The projects with unbilled charges at one of your facilities by a month's end, "
    "and what each statement would hold (managers)",
    answer=DraftList,
    answer_description="One draft per project, by project id",
    query=DraftQuery,
    errors=(400,),
)
def statement_drafts(slug: str, query: DraftQuery) -> DraftList:
    facility = routing.facility(slug)
    drafts = services.billable_projects(security.user(), facility, query.month)
    return DraftList(
        facility=facility.slug,
        month=query.month,
        drafts=[
            DraftAnswer(
                project_id=d.project.id,
                project=d.project.name,
                month=d.month,
                charges=len(d.charges),
                subtotal_fen=d.subtotal_fen,
                voucher_deductions_fen=d.voucher_deductions_fen,
                payable_fen=d.payable_fen,
            )
            for d in drafts
        ],
    )


# ---------------------------------------------------------------- rate cards


class RateCardAnswer(Answer):
    """A unit's prices per hour by customer kind, in fen, and how its facility bills."""

    equipment: str = Field(description="the unit's slug")
    facility: str = Field(description="the facility's slug")
    incubated_fen: int = Field(description="per hour, incubated startups of the centre")
    startup_fen: int = Field(description="per hour, other startups")
    university_fen: int = Field(description="per hour, universities")
    external_fen: int = Field(description="per hour, external companies")
    assisted_surcharge_fen: int = Field(description="per hour, added for an assisted step")
    minimum_charge_fen: int = Field(description="per booking")
    source: Literal["catalogue", "admin"] = Field(
        description="catalogue: from facilities.yaml (or the unit's hourly rate); admin: edited"
    )
    charge_basis: Bases = Field(  # type: ignore[valid-type]
        description="the facility bills the actual (checked-in) or the booked time"
    )
    bill_changeover: bool = Field(description="the unit's changeover time is billed too")
    changeover_minutes: int

    @classmethod
    def of(cls, unit: Equipment, card: RateCard) -> RateCardAnswer:
        return cls(
            equipment=unit.slug,
            facility=unit.facility.slug,
            **{name: getattr(card, name) for name in services.RATE_FIELDS},
            source="admin" if card.source == "admin" else "catalogue",
            charge_basis=unit.facility.charge_basis,
            bill_changeover=unit.facility.bill_changeover,
            changeover_minutes=unit.changeover_minutes,
        )


class RateCardList(Answer):
    rate_cards: list[RateCardAnswer]


class RateCardInput(Body):
    """A unit's whole rate card, in fen (administrators); the catalogue sync keeps off it."""

    incubated_fen: Fen
    startup_fen: Fen
    university_fen: Fen
    external_fen: Fen
    assisted_surcharge_fen: Fen
    minimum_charge_fen: Fen


@openapi.route(
    bp,
    "/facilities/<slug>/rates",
    "GET",
    summary="The rate cards of a facility's units (public, like the catalogue)",
    answer=RateCardList,
    answer_description="One card per unit, by slug",
    errors=(404,),
    secured=False,
    tags=("billing",),
)
def facility_rates(slug: str) -> RateCardList:
    facility = routing.facility(slug)
    units = db.session.scalars(
        select(Equipment).where(Equipment.facility_id == facility.id).order_by(Equipment.slug)
    )
    return RateCardList(rate_cards=[RateCardAnswer.of(u, services.rate_card(u)) for u in units])


@openapi.route(
    bp,
    "/equipment/<slug>/rates",
    "GET",
    summary="A unit's rate card (public, like the catalogue)",
    answer=RateCardAnswer,
    answer_description="The card",
    errors=(404,),
    secured=False,
    tags=("billing",),
)
def equipment_rates(slug: str) -> RateCardAnswer:
    unit = routing.unit(slug)
    return RateCardAnswer.of(unit, services.rate_card(unit))


@route(
    "/equipment/<slug>/rates",
    "PUT",
    summary="Set a unit's rate card (administrators)",
    answer=RateCardAnswer,
    answer_description="Saved",
    body=RateCardInput,
    errors=(422,),
)
def equipment_rates_update(slug: str, body: RateCardInput) -> RateCardAnswer:
    unit = routing.unit(slug)
    card = services.update_rate_card(security.user(), unit.id, body.model_dump())
    return RateCardAnswer.of(unit, card)


# ---------------------------------------------------------------- customer kinds


class CustomerKindInput(Body):
    customer_kind: CustomerKinds  # type: ignore[valid-type]


class CustomerKindAnswer(Answer):
    project_id: int
    customer_kind: CustomerKinds  # type: ignore[valid-type]


@route(
    "/projects/<int:project_id>/customer-kind",
    "PUT",
    summary="Set who a project is to the centre, which picks its rates (administrators)",
    answer=CustomerKindAnswer,
    answer_description="Saved",
    body=CustomerKindInput,
    errors=(422,),
)
def project_customer_kind(project_id: int, body: CustomerKindInput) -> CustomerKindAnswer:
    project: Project = services.set_customer_kind(security.user(), project_id, body.customer_kind)
    return CustomerKindAnswer(project_id=project.id, customer_kind=project.customer_kind)
