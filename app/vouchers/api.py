"""Innovation vouchers in the JSON API: a project's members read their vouchers, balances and
draws; administrators record vouchers and extend or annotate them. Handlers load, check access
(app/access.py through the services) and serialise; the rules live in app/vouchers/services.py."""

from __future__ import annotations

from typing import Annotated, Any

from flask import Blueprint
from pydantic import Field, StrictInt

from app import openapi
from app.accounts import security
from app.apitypes import Answer, Body, Day, Int, Moment, Query, QueryInt, Text
from app.billing.money import MAX_FEN, yuan
from app.vouchers import services
from app.vouchers.models import Voucher, VoucherDraw

bp = Blueprint("vouchers_api", __name__, url_prefix="/api/v1")

Fen = Annotated[StrictInt, Field(ge=1, le=MAX_FEN)]


# Declare a vouchers operation: authenticated, 404 for a voucher the caller may not see.
route = openapi.area_router(bp, "vouchers")


# ---------------------------------------------------------------- schemas


class VoucherInput(Body):
    """A voucher a bureau issued to a project (administrators)."""

    project_id: Int
    issuer: Text = Field(max_length=services.MAX_ISSUER, description="The issuing bureau")
    number: Text = Field(max_length=services.MAX_NUMBER, description="Unique per issuer")
    amount_fen: Fen
    valid_from: Day
    valid_until: Day = Field(description="Inclusive, in the facility's local calendar")
    share_percent: Int = Field(100, ge=1, le=100, description="The share of each charge it pays")
    centres: list[Int] = Field(default_factory=list, max_length=100, description="Centre ids")
    facilities: list[Int] = Field(default_factory=list, max_length=100, description="Facility ids")
    capabilities: list[Text] = Field(
        default_factory=list, max_length=100, description="Capability slugs"
    )
    note: Text = Field("", max_length=services.MAX_NOTE)

    def service_values(self) -> dict[str, Any]:
        return {
            "project_id": str(self.project_id),
            "issuer": self.issuer,
            "number": self.number,
            "amount": str(yuan(self.amount_fen)),
            "valid_from": self.valid_from.isoformat(),
            "valid_until": self.valid_until.isoformat(),
            "share_percent": str(self.share_percent),
            "centres": [str(i) for i in self.centres],
            "facilities": [str(i) for i in self.facilities],
            "capabilities": list(self.capabilities),
            "note": self.note,
        }


class VoucherChange(Body):
    """What may change once a voucher is drawn: a later end of validity, and its note."""

    valid_until: Day | None = None
    note: Text | None = Field(None, max_length=services.MAX_NOTE)

    def service_values(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if self.valid_until is not None:
            values["valid_until"] = self.valid_until.isoformat()
        if self.note is not None:
            values["note"] = self.note
        return values


class VoucherQuery(Query):
    project: QueryInt | None = Field(None, description="project id")


class DrawAnswer(Answer):
    """The part of one charge the voucher paid."""

    charge_id: int
    booking_id: int
    facility: str = Field(description="The facility's slug")
    unit: str = Field(description="The unit's slug")
    start: Moment
    charge_fen: int
    amount_fen: int
    statement_id: int | None = Field(description="The statement that billed it; null: unbilled")

    @classmethod
    def of(cls, draw: VoucherDraw) -> DrawAnswer:
        charge = draw.charge
        return cls(
            charge_id=charge.id,
            booking_id=charge.booking_id,
            facility=charge.equipment.facility.slug,
            unit=charge.equipment.slug,
            start=charge.start,
            charge_fen=charge.amount_fen,
            amount_fen=draw.amount_fen,
            statement_id=charge.statement_id,
        )


class VoucherAnswer(Answer):
    """A voucher, its balance, where it may be spent, and what it paid."""

    id: int
    project_id: int
    issuer: str
    number: str
    amount_fen: int
    balance_fen: int
    used_fen: int
    share_percent: int
    valid_from: Day
    valid_until: Day
    centres: list[int]
    facilities: list[int]
    capabilities: list[str]
    note: str
    draws: list[DrawAnswer]

    @classmethod
    def of(cls, voucher: Voucher) -> VoucherAnswer:
        scopes = voucher.scopes
        return cls(
            id=voucher.id,
            project_id=voucher.project_id,
            issuer=voucher.issuer,
            number=voucher.number,
            amount_fen=voucher.amount_fen,
            balance_fen=voucher.balance_fen,
            used_fen=voucher.amount_fen - voucher.balance_fen,
            share_percent=voucher.share_percent,
            valid_from=voucher.valid_from,
            valid_until=voucher.valid_until,
            centres=[s.centre_id for s in scopes if s.centre_id is not None],
            facilities=[s.facility_id for s in scopes if s.facility_id is not None],
            capabilities=[s.capability_slug for s in scopes if s.capability_slug],
            note=voucher.note,
            draws=[DrawAnswer.of(d) for d in services.draws_of(voucher)],
        )


class VoucherList(Answer):
    vouchers: list[VoucherAnswer]


# ---------------------------------------------------------------- operations


@route(
    "/vouchers",
    "GET",
    summary="Vouchers you may see (your projects'; administrators: all)",
    answer=VoucherList,
    answer_description="Vouchers by project, earliest expiry first",
    query=VoucherQuery,
)
def vouchers_list(query: VoucherQuery) -> VoucherList:
    found = services.list_vouchers(security.user(), project_id=query.project)
    return VoucherList(vouchers=[VoucherAnswer.of(v) for v in found])


@route(
    "/vouchers",
    "POST",
    summary="Record a voucher issued to a project (administrators)",
    answer=VoucherAnswer,
    status=201,
    answer_description="Recorded; its balance is its amount",
    body=VoucherInput,
    errors=(422,),
)
def vouchers_create(body: VoucherInput) -> tuple[VoucherAnswer, dict[str, str]]:
    created = services.record_voucher(security.user(), body.service_values())
    return VoucherAnswer.of(created), {"Location": f"/api/v1/vouchers/{created.id}"}


@route(
    "/vouchers/<int:voucher_id>", "GET", summary="One voucher and its draws", answer=VoucherAnswer
)
def vouchers_detail(voucher_id: int) -> VoucherAnswer:
    return VoucherAnswer.of(services.get_voucher(security.user(), voucher_id))


@route(
    "/vouchers/<int:voucher_id>",
    "PATCH",
    summary="Extend a voucher's validity or change its note (administrators)",
    answer=VoucherAnswer,
    answer_description="Changed",
    body=VoucherChange,
    errors=(422,),
)
def vouchers_update(voucher_id: int, body: VoucherChange) -> VoucherAnswer:
    return VoucherAnswer.of(
        services.update_voucher(security.user(), voucher_id, body.service_values())
    )
