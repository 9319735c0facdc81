"""The report's solver-vs-FCFS figures after an automatic re-solve compare like with like."""

from __future__ import annotations

import csv
import io
from typing import Any

from app.booking import proposals
from app.booking.models import Proposal
from app.jobs.resolves import solve_here
from tests.booking.conftest import Core


def test_placement_ratio_after_a_resolve_matches_the_proposal(
    core: Core, db: Any, client: Any, login: Any
) -> None:
    """Finding: after a waitlist re-solve the report counted the published bookings the solve
    carried pinned for the solver (21 requests / weight 32) against FCFS over the new
    requests only (1 / 1), a ratio of 32 where the proposal's page said 1.00."""
    for k in range(3):
        core.request(f"Peptide map {k}", weight=2, start=core.at(k), deadline=core.at(k, "18:00"))
    first = core.solve().proposal
    assert first is not None
    assert len(proposals.approve_proposal(core.mia, first.id)) == 3
    core.request("Late sample", start=core.at(3), deadline=core.at(4, "18:00"))
    run = solve_here(core.bio.id, trigger="waitlist")
    assert run is not None
    db.session.expire_all()
    proposal = db.session.get(Proposal, run.proposal.id)
    assert proposal.metrics["ratio"] == 1.0
    login(core.mia)
    response = client.get(
        "/reports/export/placement.csv",
        query_string={
            "start": core.monday.isoformat(),
            "end": core.at(6).date().isoformat(),
            "facility": core.bio.slug,
        },
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    (row,) = csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig")))
    figures = [float(row[name]) for name in ("Solver: requests", "Solver: weight")]
    figures += [float(row[name]) for name in ("FCFS: requests", "FCFS: weight")]
    assert figures == [1, 1, 1, 1]
    assert float(row["Weight ratio solver ÷ FCFS"]) == proposal.metrics["ratio"] == 1.0
