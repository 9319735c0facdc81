"""Needs in the JSON API: write and read them, change their words, comment, move them through
their states, and ask what they suggest. Handlers load, check access (app/access.py through the
services) and serialise; the rules live in app/needs/services.py."""

from __future__ import annotations

from typing import Literal

from flask import Blueprint
from pydantic import Field

from app import access, openapi
from app.accounts import security
from app.apitypes import Answer, Body, Day, Int, Moment, Query, Text
from app.needs import services, suggestions
from app.needs.models import DeclineReason, Need, NeedEvent, NeedState

bp = Blueprint("needs_api", __name__, url_prefix="/api/v1")

States = Literal[tuple(s.value for s in NeedState)]  # type: ignore[valid-type]
Reasons = Literal[tuple(r.value for r in DeclineReason)]  # type: ignore[valid-type]


# Declare a needs operation: authenticated, 404 for a need the caller may not see.
route = openapi.area_router(bp, "needs")


# ---------------------------------------------------------------- schemas


class NeedWords(Body):
    """The words of a need, as its writer gives them."""

    title: Text = Field(max_length=services.MAX_TITLE, description="Required, not blank")
    text: Text = Field(max_length=services.MAX_TEXT, description="Required, not blank")
    material: Text = Field("", max_length=services.MAX_MATERIAL)
    quantity: Text = Field("", max_length=services.MAX_QUANTITY)
    wanted_by: Day | None = None
    budget_fen: Int | None = Field(None, ge=0, le=services.MAX_BUDGET_FEN)
    city: Text = Field("", max_length=services.MAX_CITY, description="Preferred city")
    centre_id: Int | None = Field(None, description="The centre asked to help; null: any centre")

    def service_input(self) -> services.NeedInput:
        return services.NeedInput(**self.model_dump(exclude={"project_id"}))


class NeedInput(NeedWords):
    """A new need of one of the caller's projects (brokers: of a startup they serve)."""

    project_id: Int


class NeedChange(Body):
    """The words to change; a field left out keeps its value."""

    title: Text | None = Field(None, max_length=services.MAX_TITLE)
    text: Text | None = Field(None, max_length=services.MAX_TEXT)
    material: Text | None = Field(None, max_length=services.MAX_MATERIAL)
    quantity: Text | None = Field(None, max_length=services.MAX_QUANTITY)
    wanted_by: Day | None = None
    budget_fen: Int | None = Field(None, ge=0, le=services.MAX_BUDGET_FEN)
    city: Text | None = Field(None, max_length=services.MAX_CITY)
    centre_id: Int | None = None

    def service_input(self, need: Need) -> services.NeedInput:
        """Return the need's words with the given fields replaced; null empties a field (the
        service refuses an empty title or text)."""
        given = {k: getattr(self, k) for k in self.model_fields_set}
        current = {k: getattr(need, k) for k in NeedChange.model_fields}
        return services.NeedInput(**{**current, **given})


class CommentInput(Body):
    body: Text = Field(max_length=services.MAX_COMMENT, description="Required, not blank")


class MoveInput(Body):
    """Move the need to a state its present one allows; a decline says why."""

    state: States  # type: ignore[valid-type]
    reason: Reasons | None = Field(  # type: ignore[valid-type]
        None, description="Required when the state is declined"
    )
    note: Text = Field("", max_length=services.MAX_COMMENT)


class NeedQuery(Query):
    state: States | None = None  # type: ignore[valid-type]


class Comment(Answer):
    id: int
    author: str
    body: str
    created_at: Moment

    @classmethod
    def of(cls, event: NeedEvent) -> Comment:
        return cls(
            id=event.id,
            author=event.user.name if event.user else "",
            body=event.body,
            created_at=event.created_at,
        )


class NeedAnswer(Answer):
    """A need, its state, and what the caller may do with it."""

    id: int
    project_id: int
    centre_id: int | None
    title: str
    text: str
    material: str
    quantity: str
    wanted_by: Day | None
    budget_fen: int | None
    city: str
    state: States  # type: ignore[valid-type]
    decline_reason: Reasons | None  # type: ignore[valid-type]
    decline_note: str
    capabilities: list[str] = Field(description="The matcher's best capabilities for the words")
    editable: bool = Field(description="Whether the caller may change the words now")
    next_states: list[States] = Field(  # type: ignore[valid-type]
        description="The states the caller may move the need to now"
    )
    comments: list[Comment]
    requests: list[int] = Field(description="Booking requests sent from its drafts")
    created_at: Moment
    updated_at: Moment

    @classmethod
    def of(cls, need: Need) -> NeedAnswer:
        user = security.user()
        return cls(
            id=need.id,
            project_id=need.project_id,
            centre_id=need.centre_id,
            title=need.title,
            text=need.text,
            material=need.material,
            quantity=need.quantity,
            wanted_by=need.wanted_by,
            budget_fen=need.budget_fen,
            city=need.city,
            state=need.state,
            decline_reason=need.decline_reason,
            decline_note=need.decline_note,
            capabilities=list(need.capabilities),
            editable=access.can_edit_need(user, need),
            next_states=[
                s
                for s in services.TRANSITIONS.get(need.state, ())
                if access.can_move_need(user, need, s)
            ],
            comments=[Comment.of(e) for e in need.comments],
            requests=[r.id for r in need.requests],
            created_at=need.created_at,
            updated_at=need.updated_at,
        )


class NeedList(Answer):
    needs: list[NeedAnswer]


class UnitSuggestionAnswer(Answer):
    unit: str = Field(description="The unit's slug")
    unit_id: int
    facility: str = Field(description="The facility's slug")
    rate_fen: int = Field(description="An hour for the need's project, in fen")
    earliest_free: Moment | None = Field(
        description=f"The next free {suggestions.SLOT_MINUTES} minutes, within "
        f"{suggestions.SLOT_HORIZON.days} days; null: none"
    )
    in_city: bool = Field(description="In the need's preferred city")


class SuggestionAnswer(Answer):
    capability: str
    score: float
    why: list[str] = Field(description="The words of the need that matched")
    units: list[UnitSuggestionAnswer]

    @classmethod
    def of(cls, found: suggestions.Suggestion) -> SuggestionAnswer:
        return cls(
            capability=found.capability,
            score=found.score,
            why=list(found.why),
            units=[
                UnitSuggestionAnswer(
                    unit=u.unit.slug,
                    unit_id=u.unit.id,
                    facility=u.unit.facility.slug,
                    rate_fen=u.rate_fen,
                    earliest_free=u.earliest,
                    in_city=u.in_city,
                )
                for u in found.units
            ],
        )


class SuggestionList(Answer):
    suggestions: list[SuggestionAnswer]


# ---------------------------------------------------------------- operations


@route(
    "/needs",
    "GET",
    summary="Needs you may see (your projects', and those of the centres you serve)",
    answer=NeedList,
    answer_description="Needs, newest first",
    query=NeedQuery,
)
def needs_list(query: NeedQuery) -> NeedList:
    found = services.list_needs(security.user(), state=query.state)
    return NeedList(needs=[NeedAnswer.of(n) for n in found])


@route(
    "/needs",
    "POST",
    summary="Write a need of one of your projects (brokers: for a startup they serve)",
    answer=NeedAnswer,
    status=201,
    answer_description="Created",
    body=NeedInput,
    errors=(422,),
)
def needs_create(body: NeedInput) -> tuple[NeedAnswer, dict[str, str]]:
    created = services.create_need(security.user(), body.project_id, body.service_input())
    return NeedAnswer.of(created), {"Location": f"/api/v1/needs/{created.id}"}


@route("/needs/<int:need_id>", "GET", summary="One need", answer=NeedAnswer)
def needs_detail(need_id: int) -> NeedAnswer:
    return NeedAnswer.of(services.get_need(security.user(), need_id))


@route(
    "/needs/<int:need_id>",
    "PATCH",
    summary="Change a new or screened need's words (its project's members)",
    answer=NeedAnswer,
    answer_description="Changed",
    body=NeedChange,
    errors=(409, 422),
)
def needs_update(need_id: int, body: NeedChange) -> NeedAnswer:
    user = security.user()
    need = services.get_need(user, need_id)
    return NeedAnswer.of(services.update_need(user, need.id, body.service_input(need)))


@route(
    "/needs/<int:need_id>/comments",
    "POST",
    summary="Comment on a need",
    answer=Comment,
    status=201,
    answer_description="Added",
    body=CommentInput,
    errors=(422,),
)
def needs_comment(need_id: int, body: CommentInput) -> Comment:
    return Comment.of(services.comment(security.user(), need_id, body.body))


@route(
    "/needs/<int:need_id>/state",
    "POST",
    summary="Move a need: screen, serve, decline with a reason, reopen",
    answer=NeedAnswer,
    answer_description="Moved",
    body=MoveInput,
    errors=(403, 409, 422),
)
def needs_move(need_id: int, body: MoveInput) -> NeedAnswer:
    moved = services.move(security.user(), need_id, body.state, reason=body.reason, note=body.note)
    return NeedAnswer.of(moved)


@route(
    "/needs/<int:need_id>/suggestions",
    "GET",
    summary="What the need's words suggest: capabilities, their units, rates and free time",
    answer=SuggestionList,
    answer_description="Capabilities, best first; each with its units, the preferred city's first",
)
def needs_suggestions(need_id: int) -> SuggestionList:
    user = security.user()
    need = services.get_need(user, need_id)
    found = suggestions.suggest(
        services.matching_text(need),
        city=need.city,
        viewer=user,
        customer_kind=need.project.customer_kind,
    )
    return SuggestionList(suggestions=[SuggestionAnswer.of(s) for s in found])
