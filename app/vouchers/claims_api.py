"""Voucher claims in the JSON API (administrators): list and read them, prepare one for an
issuer and period, refresh or discard a draft, mark it submitted and then paid. Handlers load and
serialise; the rules, access included, live in app/vouchers/claims.py."""

from __future__ import annotations

from typing import Literal

from flask import Blueprint, Response
from pydantic import Field

from app import openapi
from app.accounts import security
from app.apitypes import Answer, Body, Day, Moment, Text
from app.vouchers import claims
from app.vouchers.models import Claim, ClaimState

bp = Blueprint("claims_api", __name__, url_prefix="/api/v1")

States = Literal[tuple(s.value for s in ClaimState)]  # type: ignore[valid-type]


# Declare a claims operation: authenticated, 404 for anyone but an administrator.
route = openapi.area_router(bp, "claims")


class ClaimInput(Body):
    """The issuer to claim from and the period, both days included."""

    issuer: Text = Field(max_length=200, description="The issuer of recorded vouchers")
    period_start: Day
    period_end: Day


class ClaimLineAnswer(Answer):
    """One voucher-paid charge: what the voucher paid of one billed booking."""

    draw_id: int
    charge_id: int
    booking_id: int
    project_id: int
    project: str
    facility: str = Field(description="The facility's slug")
    unit: str = Field(description="The unit's slug")
    start: Moment = Field(description="The use's actual (or booked, per facility) start")
    end: Moment
    voucher: str = Field(description="The voucher's number")
    charge_fen: int
    amount_fen: int = Field(description="What the voucher paid, claimed from its issuer")


class ClaimAnswer(Answer):
    id: int
    number: str
    issuer: str
    period_start: Day
    period_end: Day
    state: States  # type: ignore[valid-type]
    total_fen: int
    created_at: Moment
    submitted_at: Moment | None
    paid_at: Moment | None
    lines: list[ClaimLineAnswer]

    @classmethod
    def of(cls, claim: Claim) -> ClaimAnswer:
        return cls(
            id=claim.id,
            number=claim.number,
            issuer=claim.issuer,
            period_start=claim.period_start,
            period_end=claim.period_end,
            state=claim.state,
            total_fen=claim.total_fen,
            created_at=claim.created_at,
            submitted_at=claim.submitted_at,
            paid_at=claim.paid_at,
            lines=[
                ClaimLineAnswer(
                    draw_id=line.draw.id,
                    charge_id=line.charge.id,
                    booking_id=line.charge.booking_id,
                    project_id=line.charge.project_id,
                    project=line.voucher.project.name,
                    facility=line.facility.slug,
                    unit=line.charge.equipment.slug,
                    start=line.charge.start,
                    end=line.charge.end,
                    voucher=line.voucher.number,
                    charge_fen=line.charge.amount_fen,
                    amount_fen=line.draw.amount_fen,
                )
                for line in claims.claim_lines(claim)
            ],
        )


class ClaimList(Answer):
    claims: list[ClaimAnswer]


@route(
    "/claims",
    "GET",
    summary="The centre's voucher claims (administrators)",
    answer=ClaimList,
    answer_description="Claims, the latest period first",
)
def claims_list() -> ClaimList:
    return ClaimList(claims=[ClaimAnswer.of(c) for c in claims.list_claims(security.user())])


@route(
    "/claims",
    "POST",
    summary="Prepare a draft claim of an issuer's voucher-paid, billed charges in a period",
    answer=ClaimAnswer,
    status=201,
    answer_description="Prepared",
    body=ClaimInput,
    errors=(409, 422),
)
def claims_create(body: ClaimInput) -> tuple[ClaimAnswer, dict[str, str]]:
    claim = claims.prepare_claim(security.user(), body.issuer, body.period_start, body.period_end)
    return ClaimAnswer.of(claim), {"Location": f"/api/v1/claims/{claim.id}"}


@route("/claims/<int:claim_id>", "GET", summary="One claim and its lines", answer=ClaimAnswer)
def claims_detail(claim_id: int) -> ClaimAnswer:
    return ClaimAnswer.of(claims.get_claim(security.user(), claim_id))


@route(
    "/claims/<int:claim_id>/refresh",
    "POST",
    summary="Add to a draft claim its period's voucher-paid charges billed since",
    answer=ClaimAnswer,
    answer_description="Refreshed",
    errors=(409,),
)
def claims_refresh(claim_id: int) -> ClaimAnswer:
    claim, _added = claims.refresh_claim(security.user(), claim_id)
    return ClaimAnswer.of(claim)


@route(
    "/claims/<int:claim_id>/submit",
    "POST",
    summary="Mark a draft claim submitted to its issuer; its lines and total lock",
    answer=ClaimAnswer,
    answer_description="Submitted",
    errors=(409,),
)
def claims_submit(claim_id: int) -> ClaimAnswer:
    return ClaimAnswer.of(claims.submit_claim(security.user(), claim_id))


@route(
    "/claims/<int:claim_id>/paid",
    "POST",
    summary="Mark a submitted claim paid by its issuer",
    answer=ClaimAnswer,
    answer_description="Paid",
    errors=(409,),
)
def claims_paid(claim_id: int) -> ClaimAnswer:
    return ClaimAnswer.of(claims.mark_paid(security.user(), claim_id))


@route(
    "/claims/<int:claim_id>",
    "DELETE",
    summary="Discard a draft claim; its voucher-paid charges go back to unclaimed",
    description="A submitted or paid claim is never discarded: 409 says so.",
    status=204,
    answer_description="Discarded",
    errors=(409,),
)
def claims_discard(claim_id: int) -> Response:
    claims.discard_claim(security.user(), claim_id)
    return Response(status=204)
