"""The benchmark generators: the same seed gives the same valid, oversubscribed problem."""

from __future__ import annotations

import dataclasses

import pytest

from bench.instances import SPECS, Spec, generate
from scheduler.check import check
from scheduler.greedy import first_come_first_served
from scheduler.problem import problem_from_dict, result_to_dict


@pytest.mark.parametrize("name", ["small", "medium"])
def test_same_seed_gives_the_same_problem(name: str) -> None:
    assert generate(SPECS[name]) == generate(SPECS[name])


def test_another_seed_gives_another_problem() -> None:
    spec = SPECS["small"]
    assert generate(spec) != generate(dataclasses.replace(spec, seed=spec.seed + 1))


@pytest.mark.parametrize("name", list(SPECS))
def test_generated_problems_parse_and_have_the_announced_size(name: str) -> None:
    spec = SPECS[name]
    data = generate(spec)
    problem = problem_from_dict(data)
    assert len(problem.resources) == spec.units
    assert len(problem.requests) == spec.requests
    assert problem.granularity_minutes == spec.granularity


def test_congested_week_has_the_features_it_is_meant_to_stress() -> None:
    data = generate(SPECS["congested-week"])
    steps = [s for r in data["requests"] for s in r["steps"]]
    campaigns = [r for r in data["requests"] if len(r["steps"]) > 1]
    assert len(data["requests"]) >= 1500
    assert 0.25 <= len(campaigns) / len(data["requests"]) <= 0.35
    assert any(s["attended"] for s in steps) and not all(s["attended"] for s in steps)
    assert {len(s["resources"]) for s in steps} == {1, 2, 3, 4}
    assert {r["weight"] for r in data["requests"]} == {1, 2, 3, 4, 5}
    units = data["resources"]
    assert any("open" in u for u in units) and any("open" not in u for u in units)
    assert any("blackouts" in u for u in units)
    assert any(u.get("changeover_minutes") for u in units)


def test_first_come_first_served_leaves_a_fifth_of_the_congested_week_unplaced() -> None:
    data = generate(SPECS["congested-week"])
    fcfs = result_to_dict(first_come_first_served(problem_from_dict(data)))
    assert check(data, fcfs) == []
    total = sum(r["weight"] for r in data["requests"])
    assert fcfs["objective"] <= 0.8 * total


def test_a_tiny_spec_is_valid_too() -> None:
    spec = Spec("tiny", units=2, requests=5, days=1, seed=3)
    problem_from_dict(generate(spec))
