"""Pilotslot's scheduler: plain dataclasses in, a CP-SAT plan out.

This package imports nothing of the web app (no Flask, no SQLAlchemy).
"""

from scheduler.greedy import first_come_first_served
from scheduler.problem import (
    Assignment,
    Budget,
    FairShare,
    Horizon,
    Objective,
    Pinned,
    PreviousPlacement,
    Problem,
    ProblemError,
    Request,
    Resource,
    Result,
    Status,
    Step,
    Unscheduled,
    UnscheduledKind,
    dump_problem,
    dump_result,
    load_problem,
    problem_from_dict,
    problem_to_dict,
    result_from_dict,
    result_to_dict,
)
from scheduler.solve import Progress, solve

__all__ = [
    "Assignment",
    "Budget",
    "FairShare",
    "Horizon",
    "Objective",
    "Pinned",
    "PreviousPlacement",
    "Problem",
    "ProblemError",
    "Progress",
    "Request",
    "Resource",
    "Result",
    "Status",
    "Step",
    "Unscheduled",
    "UnscheduledKind",
    "dump_problem",
    "dump_result",
    "first_come_first_served",
    "load_problem",
    "problem_from_dict",
    "problem_to_dict",
    "result_from_dict",
    "result_to_dict",
    "solve",
]
