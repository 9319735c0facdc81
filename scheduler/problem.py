"""Problem and result dataclasses of the scheduler, and their JSON format.

The format is described in ``problem-format.md`` (``pilotslot-problem/1`` and
``pilotslot-result/1``); the optional extensions are in ``FORMAT-EXTENSIONS.md``.
"""

from __future__ import annotations

import gc
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

PROBLEM_FORMAT = "pilotslot-problem/1"
RESULT_FORMAT = "pilotslot-result/1"

Window = tuple[datetime, datetime]

MAX_FEN = 10**12
"""The largest amount of money (cost of a step, budget of a project) the solver takes, in fen:
ten billion yuan, far above any real one and small enough that sums stay exact integers."""


class ProblemError(ValueError):
    """A malformed problem; ``field`` is the path of the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


@contextmanager
def _at(prefix: str) -> Iterator[None]:
    """Prefix the field path of any ProblemError raised inside the block."""
    try:
        yield
    except ProblemError as exc:
        inner = exc.field
        if inner.startswith("["):
            path = prefix + inner
        elif inner:
            path = f"{prefix}.{inner}"
        else:
            path = prefix
        raise ProblemError(path, exc.message) from None


class Objective(StrEnum):
    MAX_WEIGHTED_ACCEPTED = "max_weighted_accepted"
    MIN_MAKESPAN = "min_makespan"


class Status(StrEnum):
    OPTIMAL = "OPTIMAL"
    FEASIBLE = "FEASIBLE"
    INFEASIBLE = "INFEASIBLE"
    UNKNOWN = "UNKNOWN"


class UnscheduledKind(StrEnum):
    IMPOSSIBLE = "impossible"
    COMPETITION = "competition"


def _check_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ProblemError(name, "datetime needs a UTC offset")


def _check_windows(windows: Sequence[Window], name: str) -> None:
    for i, (start, end) in enumerate(windows):
        _check_aware(start, f"{name}[{i}][0]")
        _check_aware(end, f"{name}[{i}][1]")
        if not start < end:
            raise ProblemError(f"{name}[{i}]", "a window must end after it starts")


@dataclass(frozen=True)
class Horizon:
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        _check_aware(self.start, "start")
        _check_aware(self.end, "end")
        if not self.start < self.end:
            raise ProblemError("end", "the horizon must end after it starts")

    def minutes(self, moment: datetime) -> float:
        """Return ``moment`` as minutes from the horizon start."""
        return (moment - self.start).total_seconds() / 60.0


@dataclass(frozen=True)
class Resource:
    id: str
    capacity: int = 1
    open: tuple[Window, ...] | None = None
    blackouts: tuple[Window, ...] = ()
    changeover_minutes: int = 0

    def __post_init__(self) -> None:
        if not self.id:
            raise ProblemError("id", "must be a non-empty string")
        if self.capacity < 1:
            raise ProblemError("capacity", "must be at least 1")
        if self.changeover_minutes < 0:
            raise ProblemError("changeover_minutes", "must not be negative")
        if self.open is not None:
            _check_windows(self.open, "open")
        _check_windows(self.blackouts, "blackouts")


@dataclass(frozen=True)
class Step:
    resources: tuple[str, ...]
    duration_minutes: int
    attended: bool = True
    min_lag_minutes: int = 0
    max_lag_minutes: int | None = None
    cost_fen: int = 0
    """What the step is estimated to cost its project, in fen (0: free or not counted)."""

    def __post_init__(self) -> None:
        if not self.resources:
            raise ProblemError("resources", "a step needs at least one resource")
        if len(set(self.resources)) != len(self.resources):
            raise ProblemError("resources", "a resource is listed twice")
        if self.duration_minutes <= 0:
            raise ProblemError("duration_minutes", "must be a positive integer")
        if self.min_lag_minutes < 0:
            raise ProblemError("min_lag_minutes", "must not be negative")
        if self.max_lag_minutes is not None and self.max_lag_minutes < self.min_lag_minutes:
            raise ProblemError("max_lag_minutes", "must not be below min_lag_minutes")
        if not 0 <= self.cost_fen <= MAX_FEN:
            raise ProblemError("cost_fen", f"must be between 0 and {MAX_FEN} fen")


@dataclass(frozen=True)
class Request:
    id: str
    project: str
    steps: tuple[Step, ...]
    weight: float = 1
    release: datetime | None = None
    deadline: datetime | None = None

    def __post_init__(self) -> None:
        if not self.id:
            raise ProblemError("id", "must be a non-empty string")
        if not self.project:
            raise ProblemError("project", "must be a non-empty string")
        if not self.steps:
            raise ProblemError("steps", "a request needs at least one step")
        if not (self.weight > 0 and math.isfinite(self.weight)):
            raise ProblemError("weight", "must be a positive number")
        if self.release is not None:
            _check_aware(self.release, "release")
        if self.deadline is not None:
            _check_aware(self.deadline, "deadline")


@dataclass(frozen=True)
class Pinned:
    """A step already approved: it stays exactly there and its request counts as accepted."""

    request: str
    step: int
    resource: str
    start: datetime

    def __post_init__(self) -> None:
        _check_aware(self.start, "start")


@dataclass(frozen=True)
class PreviousPlacement:
    """Where a step was in the last proposal; keeping it there is preferred."""

    request: str
    step: int
    resource: str
    start: datetime

    def __post_init__(self) -> None:
        _check_aware(self.start, "start")


@dataclass(frozen=True)
class FairShare:
    """No project may hold more than ``max_fraction`` of any unit's bookable minutes."""

    max_fraction: float

    def __post_init__(self) -> None:
        if not 0 < self.max_fraction <= 1:
            raise ProblemError("max_fraction", "must be in (0, 1]")


@dataclass(frozen=True)
class Budget:
    """What a project may still spend in the planning period, in fen (vouchers plus its cap)."""

    project: str
    remaining_fen: int

    def __post_init__(self) -> None:
        if not self.project:
            raise ProblemError("project", "must be a non-empty string")
        if not 0 <= self.remaining_fen <= MAX_FEN:
            raise ProblemError("remaining_fen", f"must be between 0 and {MAX_FEN} fen")


@dataclass(frozen=True)
class Problem:
    horizon: Horizon
    resources: tuple[Resource, ...]
    requests: tuple[Request, ...]
    granularity_minutes: int = 1
    objective: Objective = Objective.MAX_WEIGHTED_ACCEPTED
    timezone: str | None = None
    pinned: tuple[Pinned, ...] = ()
    previous: tuple[PreviousPlacement, ...] = ()
    fair_share: FairShare | None = None
    budgets: tuple[Budget, ...] = ()

    def __post_init__(self) -> None:
        if self.granularity_minutes < 1:
            raise ProblemError("granularity_minutes", "must be a positive integer")
        if self.timezone is not None:
            _check_timezone(self.timezone)
        resource_ids: set[str] = set()
        for i, resource in enumerate(self.resources):
            if resource.id in resource_ids:
                raise ProblemError(f"resources[{i}].id", f"duplicate resource id {resource.id!r}")
            resource_ids.add(resource.id)
        request_ids: dict[str, Request] = {}
        for i, request in enumerate(self.requests):
            if request.id in request_ids:
                raise ProblemError(f"requests[{i}].id", f"duplicate request id {request.id!r}")
            request_ids[request.id] = request
            for j, step in enumerate(request.steps):
                for k, rid in enumerate(step.resources):
                    if rid not in resource_ids:
                        raise ProblemError(
                            f"requests[{i}].steps[{j}].resources[{k}]",
                            f"unknown resource {rid!r}",
                        )
        seen: set[tuple[str, int]] = set()
        for i, pin in enumerate(self.pinned):
            self._check_placement(pin, f"pinned[{i}]", request_ids)
            if (pin.request, pin.step) in seen:
                raise ProblemError(f"pinned[{i}]", "this step is pinned twice")
            seen.add((pin.request, pin.step))
            minutes = self.horizon.minutes(pin.start)
            if minutes != int(minutes) or int(minutes) % self.granularity_minutes:
                raise ProblemError(
                    f"pinned[{i}].start",
                    "must lie on the granularity grid counted from horizon.start",
                )
        seen.clear()
        for i, prev in enumerate(self.previous):
            self._check_placement(prev, f"previous[{i}]", request_ids)
            if (prev.request, prev.step) in seen:
                raise ProblemError(f"previous[{i}]", "this step appears twice")
            seen.add((prev.request, prev.step))
        budgeted: set[str] = set()
        for i, budget in enumerate(self.budgets):
            if budget.project in budgeted:
                raise ProblemError(
                    f"budgets[{i}].project", f"project {budget.project!r} has two budgets"
                )
            budgeted.add(budget.project)

    @staticmethod
    def _check_placement(
        placement: Pinned | PreviousPlacement, path: str, requests: Mapping[str, Request]
    ) -> None:
        request = requests.get(placement.request)
        if request is None:
            raise ProblemError(f"{path}.request", f"unknown request {placement.request!r}")
        if not 0 <= placement.step < len(request.steps):
            raise ProblemError(
                f"{path}.step", f"request {request.id!r} has no step {placement.step}"
            )
        if placement.resource not in request.steps[placement.step].resources:
            raise ProblemError(
                f"{path}.resource",
                f"{placement.resource!r} is not an allowed resource of this step",
            )

    def resource(self, resource_id: str) -> Resource:
        """Return the resource with this id."""
        for resource in self.resources:
            if resource.id == resource_id:
                return resource
        raise KeyError(resource_id)


def _check_timezone(name: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ProblemError("timezone", f"unknown IANA time zone {name!r}") from None


# --- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Assignment:
    request: str
    step: int
    resource: str
    start: int
    end: int
    start_at: str = ""
    """``start`` as an ISO 8601 datetime with the offset of the problem's time zone."""
    end_at: str = ""


@dataclass(frozen=True)
class Unscheduled:
    request: str
    reason: str
    kind: UnscheduledKind = UnscheduledKind.COMPETITION
    code: str | None = None
    """Stable code of the reason (``FORMAT-EXTENSIONS.md``); None in results of older solvers."""
    args: Mapping[str, Any] = field(default_factory=dict, hash=False)
    """The code's arguments: solver unit ids, ISO times with offsets, minutes, step numbers."""


@dataclass(frozen=True)
class Result:
    status: Status
    objective: float | None
    bound: float | None
    wall_seconds: float
    assignments: tuple[Assignment, ...] = ()
    unscheduled: tuple[Unscheduled, ...] = ()
    stats: Mapping[str, Any] = field(default_factory=dict)


# --- JSON reading --------------------------------------------------------------------------

_JSON = Any


def _fields(data: _JSON, allowed: set[str], required: set[str]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ProblemError("", "must be a JSON object")
    for key in data:
        if not isinstance(key, str) or (key not in allowed and not key.startswith("x_")):
            raise ProblemError(str(key), "unknown field")
    for key in sorted(required):
        if key not in data:
            raise ProblemError(key, "missing required field")
    return {k: v for k, v in data.items() if k in allowed}


def _str(data: _JSON, name: str) -> str:
    if not isinstance(data, str) or not data:
        raise ProblemError(name, "must be a non-empty string")
    return data


def _int(data: _JSON, name: str) -> int:
    if isinstance(data, bool) or not isinstance(data, int):
        raise ProblemError(name, "must be an integer")
    return data


def _number(data: _JSON, name: str) -> float:
    if isinstance(data, bool) or not isinstance(data, int | float):
        raise ProblemError(name, "must be a number")
    return data


def _bool(data: _JSON, name: str) -> bool:
    if not isinstance(data, bool):
        raise ProblemError(name, "must be true or false")
    return data


def _list(data: _JSON, name: str) -> list[Any]:
    if not isinstance(data, list):
        raise ProblemError(name, "must be a list")
    return data


def _datetime(data: _JSON, name: str) -> datetime:
    if not isinstance(data, str):
        raise ProblemError(name, "must be an ISO 8601 datetime string")
    try:
        value = datetime.fromisoformat(data)
    except ValueError:
        raise ProblemError(name, f"not an ISO 8601 datetime: {data!r}") from None
    if value.tzinfo is None:
        raise ProblemError(name, f"datetime {data!r} needs a UTC offset")
    return value


def _windows(data: _JSON, name: str) -> tuple[Window, ...]:
    out = []
    for i, item in enumerate(_list(data, name)):
        if not isinstance(item, list) or len(item) != 2:
            raise ProblemError(f"{name}[{i}]", "must be a [start, end] pair")
        out.append((_datetime(item[0], f"{name}[{i}][0]"), _datetime(item[1], f"{name}[{i}][1]")))
    return tuple(out)


def _horizon(data: _JSON) -> Horizon:
    d = _fields(data, {"start", "end"}, {"start", "end"})
    return Horizon(_datetime(d["start"], "start"), _datetime(d["end"], "end"))


def _resource(data: _JSON) -> Resource:
    d = _fields(data, {"id", "capacity", "open", "blackouts", "changeover_minutes"}, {"id"})
    return Resource(
        id=_str(d["id"], "id"),
        capacity=_int(d.get("capacity", 1), "capacity"),
        open=None if d.get("open") is None else _windows(d["open"], "open"),
        blackouts=_windows(d.get("blackouts", []), "blackouts"),
        changeover_minutes=_int(d.get("changeover_minutes", 0), "changeover_minutes"),
    )


def _step(data: _JSON) -> Step:
    d = _fields(
        data,
        {
            "resources",
            "duration_minutes",
            "attended",
            "min_lag_minutes",
            "max_lag_minutes",
            "cost_fen",
        },
        {"resources", "duration_minutes"},
    )
    resources = tuple(
        _str(r, f"resources[{k}]") for k, r in enumerate(_list(d["resources"], "resources"))
    )
    max_lag = d.get("max_lag_minutes")
    return Step(
        resources=resources,
        duration_minutes=_int(d["duration_minutes"], "duration_minutes"),
        attended=_bool(d.get("attended", True), "attended"),
        min_lag_minutes=_int(d.get("min_lag_minutes", 0), "min_lag_minutes"),
        max_lag_minutes=None if max_lag is None else _int(max_lag, "max_lag_minutes"),
        cost_fen=_int(d.get("cost_fen", 0), "cost_fen"),
    )


def _request(data: _JSON) -> Request:
    d = _fields(
        data,
        {"id", "project", "weight", "release", "deadline", "steps"},
        {"id", "project", "steps"},
    )
    steps = []
    for j, item in enumerate(_list(d["steps"], "steps")):
        with _at(f"steps[{j}]"):
            steps.append(_step(item))
    release = d.get("release")
    deadline = d.get("deadline")
    return Request(
        id=_str(d["id"], "id"),
        project=_str(d["project"], "project"),
        steps=tuple(steps),
        weight=_number(d.get("weight", 1), "weight"),
        release=None if release is None else _datetime(release, "release"),
        deadline=None if deadline is None else _datetime(deadline, "deadline"),
    )


def _placement(data: _JSON, cls: type[Pinned] | type[PreviousPlacement]) -> Any:
    d = _fields(
        data, {"request", "step", "resource", "start"}, {"request", "step", "resource", "start"}
    )
    return cls(
        request=_str(d["request"], "request"),
        step=_int(d["step"], "step"),
        resource=_str(d["resource"], "resource"),
        start=_datetime(d["start"], "start"),
    )


def _budget(data: _JSON) -> Budget:
    d = _fields(data, {"project", "remaining_fen"}, {"project", "remaining_fen"})
    return Budget(
        project=_str(d["project"], "project"),
        remaining_fen=_int(d["remaining_fen"], "remaining_fen"),
    )


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cycle collector, then restore it as it was.

    Reading and compiling a problem makes millions of small objects that hold no cycles; the
    collector, woken by every few hundred of them, walked them all again and again (a third of
    the compile time at 50,000 requests). Also usable as a decorator."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@gc_paused()
def problem_from_dict(data: _JSON) -> Problem:
    """Build a Problem from the parsed JSON of a problem file; raise ProblemError if malformed."""
    d = _fields(
        data,
        {
            "format",
            "horizon",
            "granularity_minutes",
            "objective",
            "timezone",
            "resources",
            "requests",
            "pinned",
            "previous",
            "fair_share",
            "budgets",
        },
        {"format", "horizon", "resources", "requests"},
    )
    if d["format"] != PROBLEM_FORMAT:
        raise ProblemError("format", f"must be {PROBLEM_FORMAT!r}")
    with _at("horizon"):
        horizon = _horizon(d["horizon"])
    resources = []
    for i, item in enumerate(_list(d["resources"], "resources")):
        with _at(f"resources[{i}]"):
            resources.append(_resource(item))
    requests = []
    for i, item in enumerate(_list(d["requests"], "requests")):
        with _at(f"requests[{i}]"):
            requests.append(_request(item))
    pinned = []
    for i, item in enumerate(_list(d.get("pinned", []), "pinned")):
        with _at(f"pinned[{i}]"):
            pinned.append(_placement(item, Pinned))
    previous = []
    for i, item in enumerate(_list(d.get("previous", []), "previous")):
        with _at(f"previous[{i}]"):
            previous.append(_placement(item, PreviousPlacement))
    objective_name = d.get("objective", Objective.MAX_WEIGHTED_ACCEPTED.value)
    try:
        objective = Objective(objective_name)
    except ValueError:
        choices = ", ".join(o.value for o in Objective)
        raise ProblemError("objective", f"must be one of {choices}") from None
    fair_share = None
    if d.get("fair_share") is not None:
        with _at("fair_share"):
            f = _fields(d["fair_share"], {"max_fraction"}, {"max_fraction"})
            fair_share = FairShare(_number(f["max_fraction"], "max_fraction"))
    budgets = []
    for i, item in enumerate(_list(d.get("budgets", []), "budgets")):
        with _at(f"budgets[{i}]"):
            budgets.append(_budget(item))
    timezone = d.get("timezone")
    return Problem(
        horizon=horizon,
        resources=tuple(resources),
        requests=tuple(requests),
        granularity_minutes=_int(d.get("granularity_minutes", 1), "granularity_minutes"),
        objective=objective,
        timezone=None if timezone is None else _str(timezone, "timezone"),
        pinned=tuple(pinned),
        previous=tuple(previous),
        fair_share=fair_share,
        budgets=tuple(budgets),
    )


def load_problem(source: str | Path) -> Problem:
    """Read a problem from a file path or from JSON text; raise ProblemError if malformed."""
    if isinstance(source, Path) or not source.lstrip().startswith("{"):
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise ProblemError("", f"cannot read {source}: {exc.strerror}") from None
    else:
        text = source
    try:
        with gc_paused():
            data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProblemError(
            "", f"bad JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    return problem_from_dict(data)


# --- JSON writing --------------------------------------------------------------------------


def _iso(value: datetime) -> str:
    return value.isoformat()


def _num(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def problem_to_dict(problem: Problem) -> dict[str, Any]:
    """Return the JSON form of a problem (the inverse of problem_from_dict)."""
    out: dict[str, Any] = {
        "format": PROBLEM_FORMAT,
        "horizon": {"start": _iso(problem.horizon.start), "end": _iso(problem.horizon.end)},
        "granularity_minutes": problem.granularity_minutes,
        "objective": problem.objective.value,
    }
    if problem.timezone is not None:
        out["timezone"] = problem.timezone
    out["resources"] = [_resource_to_dict(r) for r in problem.resources]
    out["requests"] = [_request_to_dict(r) for r in problem.requests]
    if problem.pinned:
        out["pinned"] = [_placement_to_dict(p) for p in problem.pinned]
    if problem.previous:
        out["previous"] = [_placement_to_dict(p) for p in problem.previous]
    if problem.fair_share is not None:
        out["fair_share"] = {"max_fraction": problem.fair_share.max_fraction}
    if problem.budgets:
        out["budgets"] = [
            {"project": b.project, "remaining_fen": b.remaining_fen} for b in problem.budgets
        ]
    return out


def _resource_to_dict(resource: Resource) -> dict[str, Any]:
    out: dict[str, Any] = {"id": resource.id, "capacity": resource.capacity}
    if resource.open is not None:
        out["open"] = [[_iso(a), _iso(b)] for a, b in resource.open]
    if resource.blackouts:
        out["blackouts"] = [[_iso(a), _iso(b)] for a, b in resource.blackouts]
    if resource.changeover_minutes:
        out["changeover_minutes"] = resource.changeover_minutes
    return out


def _request_to_dict(request: Request) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": request.id,
        "project": request.project,
        "weight": _num(request.weight),
    }
    if request.release is not None:
        out["release"] = _iso(request.release)
    if request.deadline is not None:
        out["deadline"] = _iso(request.deadline)
    out["steps"] = [_step_to_dict(s) for s in request.steps]
    return out


def _step_to_dict(step: Step) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resources": list(step.resources),
        "duration_minutes": step.duration_minutes,
        "attended": step.attended,
        "min_lag_minutes": step.min_lag_minutes,
        "max_lag_minutes": step.max_lag_minutes,
    }
    # Written only when set, so that a problem without costs reads as it always did.
    if step.cost_fen:
        out["cost_fen"] = step.cost_fen
    return out


def _placement_to_dict(p: Pinned | PreviousPlacement) -> dict[str, Any]:
    return {"request": p.request, "step": p.step, "resource": p.resource, "start": _iso(p.start)}


def dump_problem(problem: Problem) -> str:
    """Return the problem as JSON text."""
    return json.dumps(problem_to_dict(problem), indent=1, ensure_ascii=False)


def result_to_dict(result: Result) -> dict[str, Any]:
    """Return the JSON form of a result (format pilotslot-result/1)."""
    return {
        "format": RESULT_FORMAT,
        "status": result.status.value,
        "objective": None if result.objective is None else _num(result.objective),
        "bound": None if result.bound is None else _num(result.bound),
        "wall_seconds": result.wall_seconds,
        "assignments": [
            {
                "request": a.request,
                "step": a.step,
                "resource": a.resource,
                "start": a.start,
                "end": a.end,
                **({"start_at": a.start_at, "end_at": a.end_at} if a.start_at else {}),
            }
            for a in result.assignments
        ],
        "unscheduled": [_unscheduled_to_dict(u) for u in result.unscheduled],
        "stats": dict(result.stats),
    }


def _unscheduled_to_dict(u: Unscheduled) -> dict[str, Any]:
    out: dict[str, Any] = {"request": u.request, "reason": u.reason, "kind": u.kind.value}
    if u.code is not None:
        out["code"] = u.code
        out["args"] = dict(u.args)
    return out


def result_from_dict(data: Mapping[str, Any]) -> Result:
    """Build a Result from its JSON form."""
    return Result(
        status=Status(data["status"]),
        objective=data.get("objective"),
        bound=data.get("bound"),
        wall_seconds=float(data.get("wall_seconds", 0.0)),
        assignments=tuple(
            Assignment(
                a["request"],
                int(a["step"]),
                a["resource"],
                int(a["start"]),
                int(a["end"]),
                str(a.get("start_at") or ""),
                str(a.get("end_at") or ""),
            )
            for a in data.get("assignments", [])
        ),
        unscheduled=tuple(
            Unscheduled(
                u["request"],
                u["reason"],
                UnscheduledKind(u.get("kind", "competition")),
                u.get("code"),
                dict(u.get("args") or {}),
            )
            for u in data.get("unscheduled", [])
        ),
        stats=dict(data.get("stats", {})),
    )


def dump_result(result: Result) -> str:
    """Return the result as JSON text."""
    return json.dumps(result_to_dict(result), indent=1, ensure_ascii=False)


def minutes_to_datetime(problem: Problem, minutes: float) -> datetime:
    """Return the moment ``minutes`` after the horizon start."""
    return problem.horizon.start + timedelta(minutes=minutes)
