"""Write the demo's problem files, one per facility, as the app builds them for the solver.

    DATABASE_URL=sqlite:////tmp/demo.sqlite flask --app app db upgrade
    DATABASE_URL=sqlite:////tmp/demo.sqlite flask --app app facilities sync
    DATABASE_URL=sqlite:////tmp/demo.sqlite flask --app app demo load
    DATABASE_URL=sqlite:////tmp/demo.sqlite python -m bench.demo_problems OUT_DIR

Then ``python -m bench.demo_problems --solve OUT_DIR`` solves each (20 s limit) and prints
status, weight, bound and wall time: every demo facility should be proven in a few seconds.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path


def write(out: Path) -> None:
    from sqlalchemy import select

    from app import create_app
    from app.booking.problems import build_problem
    from app.catalog.models import Facility
    from app.extensions import db
    from scheduler import dump_problem

    app = create_app()
    out.mkdir(parents=True, exist_ok=True)
    with app.app_context():
        for facility in db.session.scalars(select(Facility)):
            problem, _ = build_problem(facility, now=datetime.now(UTC))
            if problem.requests:
                path = out / f"{facility.slug}.json"
                path.write_text(dump_problem(problem), encoding="utf-8")
                print(f"{path}: {len(problem.requests)} requests, {len(problem.resources)} units")


def solve_all(folder: Path, limit: float = 20.0) -> None:
    from scheduler import load_problem, solve

    for path in sorted(folder.glob("*.json")):
        problem = load_problem(path)
        began = time.perf_counter()
        result = solve(problem, time_limit=limit)
        wall = time.perf_counter() - began
        print(
            f"{path.stem}: {len(problem.requests)} requests, {len(problem.resources)} units: "
            f"{result.status.value} weight {result.objective} bound {result.bound} "
            f"proven {result.stats.get('proven')} in {wall:.1f} s"
        )


if __name__ == "__main__":
    if sys.argv[1] == "--solve":
        solve_all(Path(sys.argv[2]))
    else:
        write(Path(sys.argv[1]))
