"""Spending caps in the JSON API: list the caps the caller may see, state one for a project,
remove one. Handlers serialise; the rules live in app/billing/caps.py and app/access.py."""

from __future__ import annotations

from flask import Blueprint, Response
from pydantic import Field

from app import openapi
from app.accounts import security
from app.apitypes import Answer, Body, Day, Int, Moment, Month, Text
from app.billing import caps
from app.billing.models import SpendingCap
from app.billing.money import MAX_FEN

bp = Blueprint("caps_api", __name__, url_prefix="/api/v1")


# Declare a spending-cap operation: authenticated, 404 for what the caller may not see.
route = openapi.area_router(bp, "billing")


class CapInput(Body):
    """A spending cap of one of the caller's projects: a whole month, or from and to dates."""

    project_id: Int
    amount_fen: Int = Field(ge=0, le=MAX_FEN, description="The cap, in fen")
    month: Month | None = Field(None, description="The month the cap covers")
    period_start: Day | None = Field(None, description="First day (when no month is given)")
    period_end: Day | None = Field(None, description="Last day, inclusive")
    note: Text = Field("", max_length=caps.MAX_CAP_NOTE)


class Cap(Answer):
    id: int
    project_id: int
    amount_fen: int
    period_start: Day
    period_end: Day
    note: str
    created_at: Moment

    @classmethod
    def of(cls, cap: SpendingCap) -> Cap:
        return cls(
            id=cap.id,
            project_id=cap.project_id,
            amount_fen=cap.amount_fen,
            period_start=cap.period_start,
            period_end=cap.period_end,
            note=cap.note,
            created_at=cap.created_at,
        )


class CapList(Answer):
    caps: list[Cap]


@route(
    "/spending-caps",
    "GET",
    summary="Spending caps you may see (your projects', and those of projects booking your "
    "facilities)",
    answer=CapList,
    answer_description="Caps by project and period",
)
def caps_list() -> CapList:
    return CapList(caps=[Cap.of(c) for c in caps.list_caps(security.user())])


@route(
    "/spending-caps",
    "POST",
    summary="State a spending cap of one of your projects; periods of a project never overlap",
    answer=Cap,
    status=201,
    answer_description="Created",
    body=CapInput,
    errors=(422,),
)
def caps_create(body: CapInput) -> tuple[Cap, dict[str, str]]:
    created = caps.set_cap(
        security.user(),
        body.project_id,
        caps.CapInput(
            amount_fen=body.amount_fen,
            month=body.month,
            period_start=body.period_start,
            period_end=body.period_end,
            note=body.note,
        ),
    )
    return Cap.of(created), {"Location": "/api/v1/spending-caps"}


@route(
    "/spending-caps/<int:cap_id>",
    "DELETE",
    summary="Remove a spending cap of one of your projects",
    status=204,
    answer_description="Removed",
)
def caps_remove(cap_id: int) -> Response:
    caps.remove_cap(security.user(), cap_id)
    return Response(status=204)
