"""The booking API's objects, one schema each: what a body may hold, what an answer shows.

The same classes validate bodies, serialise rows (`of()`) and are the OpenAPI document's
components; the step limits are the ones `app.booking.requests` names."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StrictInt

from app.apitypes import (
    Answer,
    Body,
    Day,
    Flag,
    Int,
    Moment,
    Number,
    Query,
    QueryFlag,
    QueryInt,
    Text,
    limit_message,
)
from app.booking import maintenance, models, reasons
from app.booking import proposals as proposal_service
from app.booking import requests as request_service
from app.booking import runs as run_service
from app.booking.models import BookingStatus, ProposalStatus, RequestStatus, RunStatus
from app.booking.requests import (
    LONG_GAP_MESSAGE,
    MAX_LAG_MINUTES,
    MAX_STEP_MINUTES,
    MAX_STEPS,
    MAX_WEIGHT,
    MIN_STEP_MINUTES,
    STEP_COUNT_MESSAGE,
    STEP_DURATION_MESSAGE,
)
from app.catalog.models import MaintenanceWindow

# Who acted, in the API, when no person did (auto-publish, expiry, a failed solve).
SCHEDULER = "scheduler"

Lag = Annotated[StrictInt, Field(ge=0, le=MAX_LAG_MINUTES)]

# The named limits refuse with their own messages, as the form and the service do.
limit_message("duration_minutes", STEP_DURATION_MESSAGE)
limit_message("steps", STEP_COUNT_MESSAGE, below=False)
limit_message("min_lag_minutes", LONG_GAP_MESSAGE, below=False)
limit_message("max_lag_minutes", LONG_GAP_MESSAGE, below=False)


# ---------------------------------------------------------------- bodies


class StepInput(Body):
    """One step of a request: a capability or a list of units, and its timing."""

    duration_minutes: Annotated[StrictInt, Field(ge=MIN_STEP_MINUTES, le=MAX_STEP_MINUTES)]
    capability: Text | None = None
    unit_ids: list[Int] = []
    facility_id: Int | None = None
    attended: Flag = True
    min_lag_minutes: Lag = 0
    max_lag_minutes: Lag | None = None
    note: Annotated[Text, Field(max_length=300)] = ""

    def as_service_step(self) -> request_service.StepInput:
        return request_service.StepInput(**self.model_dump())


class RequestChange(Body):
    """The fields of a request a PATCH may change; each is optional, none may be null."""

    title: Annotated[Text, Field(max_length=200)] = None
    earliest_start: Moment = None
    deadline: Moment = None
    weight: Annotated[
        StrictInt,
        Field(
            ge=1,
            le=MAX_WEIGHT,
            description="Only a manager of the request's facility may give it (403 naming "
            "`weight` otherwise); a manager's PATCH of `weight` alone needs no membership.",
        ),
    ] = None
    priority_reason: Annotated[
        Text, Field(description="Why the request is urgent: a non-empty reason asks for priority.")
    ] = None
    steps: Annotated[list[StepInput], Field(min_length=1, max_length=MAX_STEPS)] = None

    def service_fields(self) -> dict[str, Any]:
        """Return the given fields as the request service's keyword arguments."""
        fields = self.model_dump(exclude_unset=True, exclude={"steps", "project_id"})
        if "steps" in self.model_fields_set:
            fields["steps"] = [step.as_service_step() for step in self.steps]
        return fields


class RequestInput(RequestChange):
    """A new request, or a campaign of several steps in one facility."""

    project_id: Int
    title: Annotated[Text, Field(max_length=200)]
    earliest_start: Moment
    deadline: Moment
    steps: Annotated[list[StepInput], Field(min_length=1, max_length=MAX_STEPS)]


class SolveInput(Body):
    """How long a solve may search."""

    time_limit: Annotated[Number, Field(ge=1, le=600)] = None
    work_limit: Annotated[
        Number,
        Field(ge=1, le=100000, description="work units: the plan then replays exactly"),
    ] = None


class ManualBookingInput(Body):
    """A unit booked directly for a project."""

    project_id: Int
    equipment: Text
    start: Moment
    end: Moment
    title: Text
    note: Text = ""
    override: Flag = False
    override_reason: Annotated[Text, Field(max_length=2000)] = ""


class RescheduleInput(Body):
    """A booking's new time (and unit)."""

    start: Moment
    end: Moment
    equipment: Text = None
    reason: Annotated[Text, Field(max_length=2000)] = ""
    override: Flag = False
    override_reason: Annotated[Text, Field(max_length=2000)] = ""


class ReasonInput(Body):
    """Why, for the audit log."""

    reason: Text = ""


class ReleaseInput(Body):
    """Why the booking may move again."""

    reason: Text


class Empty(Body):
    """No fields."""


class MaintenanceInput(Body):
    """A window in which a unit cannot be used."""

    equipment: Text
    start: Moment
    end: Moment
    reason_zh: Annotated[
        Text,
        Field(
            max_length=maintenance.MAX_MAINTENANCE_REASON,
            description="the reason in Chinese; give either or both",
        ),
    ] = ""
    reason_en: Annotated[
        Text,
        Field(
            max_length=maintenance.MAX_MAINTENANCE_REASON,
            description="the reason in English; give either or both",
        ),
    ] = ""
    force: Flag = False


class TrainingInput(Body):
    """A person trained on a unit, and since when."""

    email: Text
    trained_on: Day = None


class TrainingRemoval(Body):
    """Whose training on a unit ends."""

    email: Text


# ---------------------------------------------------------------- query parameters


class RequestQuery(Query):
    project: QueryInt | None = Field(None, description="project id")
    facility: Text | None = Field(None, description="facility slug")
    status: RequestStatus | None = Field(None, description="status")


class BookingQuery(Query):
    project: QueryInt | None = Field(None, description="project id")
    facility: Text | None = Field(None, description="facility slug")
    equipment: Text | None = Field(None, description="unit slug")
    start: Moment | None = Field(None, description="only bookings ending after this")
    end: Moment | None = Field(None, description="only bookings starting before this")
    include_cancelled: QueryFlag = Field(False, description="also cancelled ones")


class AvailabilityQuery(Query):
    start: Moment | None = Field(None, description="default now")
    end: Moment | None = Field(None, description="default start + 7 days; at most 92 days")


class AuditQuery(Query):
    facility: Text
    limit: QueryInt = Field(200, description="default 200; at most 1000 are given")


# ---------------------------------------------------------------- answers


class Project(Answer):
    id: int
    name: str


class Step(Answer):
    position: int
    capability: str | None
    unit_ids: list[int]
    facility_id: int | None
    duration_minutes: int
    attended: bool
    min_lag_minutes: int
    max_lag_minutes: int | None
    note: str

    @classmethod
    def of(cls, step: models.RequestStep) -> Step:
        return cls(
            position=step.position,
            capability=step.capability,
            unit_ids=[u.id for u in step.units],
            facility_id=step.facility_id,
            duration_minutes=step.duration_minutes,
            attended=step.attended,
            min_lag_minutes=step.min_lag_minutes,
            max_lag_minutes=step.max_lag_minutes,
            note=step.note,
        )


class OverBudget(Answer):
    """An open request that costs more at a facility than its project's spending cap leaves."""

    facility: str = Field(description="the facility's slug")
    cost_fen: int = Field(description="the request's estimated cost there, in fen")
    remaining_fen: int = Field(description="what the cap leaves for the period, in fen")
    period_start: date
    period_end: date
    message: str = Field(description="in the caller's language")


class BookingRequest(Answer):
    """A request as the API shows it."""

    id: int
    project: Project
    facility: str
    title: str
    status: RequestStatus
    unplaced_reason: str = Field(description="in the caller's language, units by name")
    unplaced_reason_code: str | None = Field(
        description="the stable code of the reason (scheduler/FORMAT-EXTENSIONS.md)"
    )
    weight: int
    priority_requested: bool
    priority_reason: str
    earliest_start: Moment
    deadline: Moment
    created_at: Moment
    steps: list[Step]
    bookings: list[int]
    over_budget: list[OverBudget] | None = Field(
        default=None,
        description=(
            "for one open request: each facility where it costs more than the project's "
            "spending cap leaves, so that a solve would leave it out (empty if none); null in "
            "lists, where it is not worked out"
        ),
    )

    @classmethod
    def of(cls, req: models.BookingRequest, *, budgets: bool = False) -> BookingRequest:
        """The request; with ``budgets``, what its project's spending caps say of it."""
        over = None
        if budgets:
            over = [
                OverBudget(
                    facility=n["facility"].slug,
                    cost_fen=n["cost_fen"],
                    remaining_fen=n["remaining_fen"],
                    period_start=date.fromisoformat(n["period_start"]),
                    period_end=date.fromisoformat(n["period_end"]),
                    message=n["message"],
                )
                for n in reasons.budget_notices(req)
            ]
        return cls(
            id=req.id,
            project=Project(id=req.project_id, name=req.project.name),
            facility=request_service.request_facility(req).slug,
            title=req.title,
            status=req.status,
            unplaced_reason=reasons.request_reason(req) if req.unplaced_reason else "",
            unplaced_reason_code=(req.unplaced_reason_detail or {}).get("code"),
            weight=req.weight,
            # Giving a reason is asking for priority; the weight stays the managers' to set.
            priority_requested=bool(req.priority_reason),
            priority_reason=req.priority_reason,
            earliest_start=req.earliest_start,
            deadline=req.deadline,
            created_at=req.created_at,
            steps=[Step.of(s) for s in req.steps],
            bookings=[b.id for b in req.bookings],
            over_budget=over,
        )


class RequestList(Answer):
    requests: list[BookingRequest]


class Booking(Answer):
    """A booking as the API shows it (only to those who may see it)."""

    id: int
    request: int
    project: Project
    title: str
    equipment: str
    facility: str
    start: Moment
    end: Moment
    status: BookingStatus
    source: Literal["proposal", "manual"]
    pinned: bool
    release_reason: str
    sequence: int
    updated_at: Moment
    cancelled_at: Moment | None

    @classmethod
    def of(cls, booking: models.Booking) -> Booking:
        return cls(
            id=booking.id,
            request=booking.request_id,
            project=Project(id=booking.request.project_id, name=booking.request.project.name),
            title=booking.request.title,
            equipment=booking.equipment.slug,
            facility=booking.equipment.facility.slug,
            start=booking.start,
            end=booking.end,
            status=booking.status,
            source=booking.source,
            pinned=booking.pinned,
            release_reason=booking.release_reason,
            sequence=booking.sequence,
            updated_at=booking.updated_at,
            cancelled_at=booking.cancelled_at,
        )


class BookingList(Answer):
    bookings: list[Booking]


class RunProgress(Answer):
    """How far the search is; empty until a worker reports."""

    model_config = ConfigDict(extra="allow")

    objective: float | None = None
    bound: float | None = None
    elapsed: float = 0
    history: list[list[float | None]] = Field([], description="[seconds, best plan, bound] points")


class SolveRun(Answer):
    """A solve run with its progress."""

    id: int
    facility: str
    status: RunStatus
    trigger: str
    time_limit_seconds: float
    seed: int
    work_limit: float | None = Field(
        description="work units; null: the wall clock ended the search"
    )
    replay_command: str = Field(description="solves the run's downloaded problem file again")
    replays_exactly: bool | None = Field(
        description="whether the replay command gives this plan again (null: no result yet)"
    )
    progress: RunProgress
    elapsed_seconds: float | None = Field(
        description="seconds since a worker started the run, until it finished (null while "
        "queued); progress.elapsed is when the best plan was last reported"
    )
    error: str
    cancel_requested: bool
    created_at: Moment
    started_at: Moment | None
    heartbeat_at: Moment | None
    finished_at: Moment | None
    proposal: int | None

    @classmethod
    def of(cls, run: models.SolveRun) -> SolveRun:
        return cls(
            id=run.id,
            facility=run.facility.slug,
            status=run.status,
            trigger=run.trigger,
            time_limit_seconds=run.time_limit_seconds,
            seed=run.seed,
            work_limit=run.work_limit,
            replay_command=run_service.replay_command(run),
            replays_exactly=run_service.replays_exactly(run),
            progress=RunProgress(**(run.progress or {})),
            elapsed_seconds=run_service.run_elapsed(run),
            error=run.error,
            cancel_requested=run.cancel_requested,
            created_at=run.created_at,
            started_at=run.started_at,
            heartbeat_at=run.heartbeat_at,
            finished_at=run.finished_at,
            proposal=run.proposal.id if run.proposal is not None else None,
        )


class ProposalItem(Answer):
    request: int
    project: str
    title: str
    step: int
    equipment: str
    start: Moment
    end: Moment
    pinned: bool


class Unplaced(Answer):
    request: int
    title: str
    reason: str
    kind: Literal["impossible", "competition"]
    code: str | None


class DiffEntry(Answer):
    """A request the proposal adds, moves or drops; placed ones say where."""

    request: int
    title: str
    booking: int = None
    equipment: str = None
    start: Moment = None
    end: Moment = None

    @classmethod
    def of(cls, entry: dict[str, Any]) -> DiffEntry:
        fields: dict[str, Any] = {"request": entry["request_id"], "title": entry["title"]}
        if "booking" in entry:
            fields["booking"] = entry["booking"].id
        if "item" in entry:
            item = entry["item"]
            fields.update(equipment=item.equipment.slug, start=item.start, end=item.end)
        return cls(**fields)


class Diff(Answer):
    added: list[DiffEntry]
    moved: list[DiffEntry]
    dropped: list[DiffEntry]


class Proposal(Answer):
    """A proposal with its placements, unplaced requests, diff and metrics."""

    id: int
    facility: str
    run: int
    status: ProposalStatus
    created_at: Moment
    decided_at: Moment | None
    decided_by: str | None = Field(
        description="the deciding manager's email, or 'scheduler' when the facility's "
        "scheduled solve published it by itself (auto-publish)"
    )
    metrics: dict[str, Any] = Field(
        description="accepted_requests, accepted_weight, accepted_hours, utilisation "
        "(overall and per unit), the same under `fcfs` for first come first served, "
        "`ratio`, and counts added/moved/dropped"
    )
    items: list[ProposalItem]
    unplaced: list[Unplaced]
    diff: Diff

    @classmethod
    def of(cls, proposal: models.Proposal) -> Proposal:
        diff = proposal_service.diff_against_published(proposal)
        return cls(
            id=proposal.id,
            facility=proposal.facility.slug,
            run=proposal.run_id,
            status=proposal.status,
            created_at=proposal.created_at,
            decided_at=proposal.decided_at,
            decided_by=_decider(proposal),
            metrics=proposal.metrics or {},
            items=[
                ProposalItem(
                    request=i.request_id,
                    project=i.request.project.name,
                    title=i.request.title,
                    step=i.step.position,
                    equipment=i.equipment.slug,
                    start=i.start,
                    end=i.end,
                    pinned=i.pinned,
                )
                for i in proposal.items
            ],
            unplaced=[
                Unplaced(
                    request=u.request_id,
                    title=u.request.title,
                    reason=reasons.proposal_reason(u),
                    kind=u.kind,
                    code=(u.reason_detail or {}).get("code"),
                )
                for u in proposal.unplaced
            ],
            diff=Diff(
                **{kind: [DiffEntry.of(e) for e in entries] for kind, entries in diff.items()}
            ),
        )


def _decider(proposal: models.Proposal) -> str | None:
    """Return who approved or discarded the proposal: a manager's email, or "scheduler"."""
    if proposal.decided_at is None:
        return None
    return proposal.decided_by.email if proposal.decided_by is not None else SCHEDULER


class Published(Answer):
    """The bookings an approved proposal published."""

    proposal: int
    bookings: list[Booking]


class AvailabilityBlock(Answer):
    kind: Literal["booking", "maintenance", "closure"]
    start: Moment
    end: Moment
    title: str = Field(
        description="'Booked' for other projects' bookings; your own title otherwise"
    )
    own: bool
    booking_id: int | None


class Availability(Answer):
    """Busy blocks of a unit in a span."""

    equipment: str
    start: Moment
    end: Moment
    blocks: list[AvailabilityBlock]


class Maintenance(Answer):
    """A maintenance window."""

    id: int
    equipment: str
    start: Moment
    end: Moment
    reason_zh: str
    reason_en: str
    source: str

    @classmethod
    def of(cls, window: MaintenanceWindow) -> Maintenance:
        return cls(
            id=window.id,
            equipment=window.equipment.slug,
            start=window.start,
            end=window.end,
            reason_zh=window.reason_zh,
            reason_en=window.reason_en,
            source=window.source,
        )


class Training(Answer):
    """A person's training on a unit."""

    equipment: str
    user: str
    trained_on: Day | None


class AuditEvent(Answer):
    id: int
    at: Moment
    actor: str | None
    action: str
    object_type: str
    object_id: int | None
    project_id: int | None
    details: dict[str, Any]

    @classmethod
    def of(cls, event: models.AuditEvent) -> AuditEvent:
        return cls(
            id=event.id,
            at=event.at,
            actor=None if event.actor is None else event.actor.email,
            action=event.action,
            object_type=event.object_type,
            object_id=event.object_id,
            project_id=event.project_id,
            details=event.details,
        )


class AuditLog(Answer):
    events: list[AuditEvent]
