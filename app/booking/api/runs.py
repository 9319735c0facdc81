"""Solve runs: start one for a facility, follow it, cancel it, download its files."""

from __future__ import annotations

from flask import Response
from flask_babel import gettext as _

from app import access
from app.accounts import security
from app.booking import runs as run_service
from app.booking.api import routing
from app.booking.api.schemas import SolveInput, SolveRun
from app.errors import NotFound


@routing.route(
    "/facilities/<slug>/solve",
    "POST",
    summary="Start a solve of the facility's open requests (managers); runs in the background",
    answer=SolveRun,
    status=202,
    answer_description="Queued",
    body=SolveInput,
    errors=(409, 422),
)
def facility_solve(slug: str, body: SolveInput) -> tuple[SolveRun, dict[str, str]]:
    user = security.user()
    facility = routing.facility(slug)
    access.require_manager(user, facility)
    run = run_service.start_solve(
        user, facility.id, time_limit=body.time_limit, work_limit=body.work_limit
    )
    return SolveRun.of(run), {"Location": f"/api/v1/runs/{run.id}"}


@routing.route(
    "/runs/<int:run_id>",
    "GET",
    summary="A solve run and its progress (managers)",
    answer=SolveRun,
    answer_description="The run",
)
def runs_detail(run_id: int) -> SolveRun:
    return SolveRun.of(run_service.get_run(security.user(), run_id))


@routing.route(
    "/runs/<int:run_id>/cancel",
    "POST",
    summary="Ask a solve to stop; its plan is thrown away",
    answer=SolveRun,
    answer_description="Cancellation requested",
    errors=(409,),
)
def runs_cancel(run_id: int) -> SolveRun:
    return SolveRun.of(run_service.cancel_run(security.user(), run_id))


def _run_file(run_id: int, kind: str) -> Response:
    run = run_service.get_run(security.user(), run_id)
    text = run.problem_json if kind == "problem" else run.result_json
    if text is None:
        raise NotFound(_("This run has no %(kind)s file yet.", kind=kind))
    response = Response(text, mimetype="application/json")
    name = run_service.download_name(run, kind)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@routing.route(
    "/runs/<int:run_id>/problem.json",
    "GET",
    summary="The run's problem file (pilotslot-problem/1); reproduce with "
    "`python -m scheduler solve`",
    answer={"type": "object"},
    answer_description="Problem file",
)
def runs_problem(run_id: int) -> Response:
    return _run_file(run_id, "problem")


@routing.route(
    "/runs/<int:run_id>/result.json",
    "GET",
    summary="The run's result file (pilotslot-result/1)",
    answer={"type": "object"},
    answer_description="Result file",
)
def runs_result(run_id: int) -> Response:
    return _run_file(run_id, "result")
