"""Read classic job-shop instances (OR-Library / JSPLIB format) as makespan problems."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

# A fixed Monday, so that the same file always gives the same problem file.
START = datetime(2026, 1, 5, tzinfo=UTC)


def import_jobshop(text: str, *, name: str | None = None) -> dict[str, Any]:
    """Return the ``min_makespan`` problem dict of a classic job-shop instance."""
    lines = [
        (number, line.split())
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not lines:
        raise ValueError("line 1: expected 'JOBS MACHINES', the file has no data")
    header_line, header = lines[0]
    if len(header) != 2:
        raise ValueError(f"line {header_line}: expected 'JOBS MACHINES', got {len(header)} fields")
    jobs = _positive(header[0], header_line, "JOBS")
    machines = _positive(header[1], header_line, "MACHINES")
    rows = lines[1:]
    requests = []
    total = 0
    for job, (number, fields) in enumerate(rows):
        if job == jobs:
            raise ValueError(
                f"line {number}: one job line too many; line {header_line} announces {jobs} jobs"
            )
        if len(fields) % 2:
            raise ValueError(
                f"line {number}: odd number of fields ({len(fields)}); expected machine/duration "
                "pairs"
            )
        if len(fields) // 2 != machines:
            raise ValueError(
                f"line {number}: expected {machines} machine/duration pairs, "
                f"got {len(fields) // 2}"
            )
        steps = []
        for k in range(0, len(fields), 2):
            machine = _integer(fields[k], number, "machine")
            if not 0 <= machine < machines:
                raise ValueError(f"line {number}: machine {machine} is outside 0..{machines - 1}")
            duration = _integer(fields[k + 1], number, "duration")
            if duration < 0:
                raise ValueError(f"line {number}: duration must not be negative, got {duration}")
            if duration == 0:
                # An operation of no length holds its machine for no time (orb07 has some):
                # dropping it changes no makespan, and the format only allows positive steps.
                continue
            total += duration
            steps.append(
                {
                    "resources": [f"m{machine}"],
                    "duration_minutes": duration,
                    "attended": False,
                }
            )
        if not steps:
            raise ValueError(f"line {number}: job {job} has no operation of positive duration")
        requests.append({"id": f"j{job}", "project": f"j{job}", "steps": steps})
    if len(rows) < jobs:
        last = rows[-1][0] if rows else header_line
        raise ValueError(f"line {last}: file ends after {len(rows)} of {jobs} job lines")
    problem: dict[str, Any] = {
        "format": "pilotslot-problem/1",
        "objective": "min_makespan",
        "granularity_minutes": 1,
        "horizon": {
            "start": START.isoformat(),
            # Every job run back to back always fits, so the horizon never rules a plan out.
            "end": (START + timedelta(minutes=total)).isoformat(),
        },
        "resources": [{"id": f"m{m}", "capacity": 1} for m in range(machines)],
        "requests": requests,
    }
    if name is not None:
        problem["x_name"] = name
    return problem


def _integer(field: str, number: int, what: str) -> int:
    try:
        return int(field)
    except ValueError:
        raise ValueError(f"line {number}: {what} must be an integer, got {field!r}") from None


def _positive(field: str, number: int, what: str) -> int:
    value = _integer(field, number, what)
    if value <= 0:
        raise ValueError(f"line {number}: {what} must be positive, got {value}")
    return value
