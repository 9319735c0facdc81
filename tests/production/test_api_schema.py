"""Hostile input against the whole API, generated from its own OpenAPI document by schemathesis:
valid and invalid requests as a startup member and as a facility manager, every check on."""

from __future__ import annotations

from typing import Any

import hypothesis
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import positive_data_acceptance

from app.accounts.services import create_api_token
from tests.production.world import build_world

EXAMPLES_PER_MODE = 15


def describe(error: BaseException) -> str:
    """Return a finding's checks and its curl line, without the traceback."""
    parts = [str(e).strip() for e in getattr(error, "exceptions", ())] or [str(error).strip()]
    return " | ".join(p.replace("\n", " ")[:3000] for p in parts)


class IsolatedWsgi:
    """The app as a WSGI server runs it: every call in its own application context.

    The test holds one open for its fixtures; without this, calls would share its `g` and a
    token's user loaded by one call would still be logged in on the next, unauthenticated one."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        from app.extensions import db

        db.session.commit()
        with self.app.app_context():
            return self.app.wsgi_app(environ, start_response)


def unsendable(case: Any) -> bool:
    """Tell whether the generated query holds a parameter no request can carry: an empty list
    or a null is left out of the URL, so the request that arrives is not the generated one (a
    "schema-violating" extra parameter that never reaches the app)."""
    return any(value is None or value == [] for value in (case.query or {}).values())


# Every check runs but one: "positive data acceptance" wants every schema-valid request taken.
# The API also refuses what no schema can say (an unknown facility slug, a window in the past,
# a step longer than its window) with a 400/422 naming the field; that is tested per endpoint.
def test_every_operation_holds_to_its_schema_under_generated_input(app: Flask, db: Any) -> None:
    app.config["SOLVE_WORKER_PROCESS"] = False
    world = build_world()
    _row, member_token = create_api_token(world.member, "schemathesis member")
    _row, manager_token = create_api_token(world.manager, "schemathesis manager")
    callers = {
        "member": {"Authorization": f"Bearer {member_token}"},
        "manager": {"Authorization": f"Bearer {manager_token}"},
    }
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", IsolatedWsgi(app))
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        strategy = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(
            GenerationMode.NEGATIVE
        )

        @settings(
            max_examples=EXAMPLES_PER_MODE * 2,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        )
        @given(case=strategy)
        def check(case: Any) -> None:
            hypothesis.assume(not unsendable(case))
            for headers in callers.values():
                case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        try:
            check()
        except (AssertionError, FailureGroup) as error:
            # Collect each operation's shrunk finding, so one run reports them all.
            failures.append(f"{operation.label}: {describe(error)}")
    assert operations >= 25
    assert not failures, f"{len(failures)} findings:\n\n" + "\n\n".join(failures[:20])
