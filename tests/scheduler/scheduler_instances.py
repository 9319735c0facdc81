"""Problem builders for the scheduler tests, and a small independent checker of results."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)


def at(minutes: int) -> str:
    """Return the ISO time ``minutes`` after START."""
    return (START + timedelta(minutes=minutes)).isoformat()


def problem_dict(
    resources: list[dict[str, Any]],
    requests: list[dict[str, Any]],
    *,
    hours: int = 24,
    **extra: Any,
) -> dict[str, Any]:
    """Return a problem dict with a horizon of ``hours`` from START."""
    return {
        "format": "pilotslot-problem/1",
        "horizon": {"start": at(0), "end": at(hours * 60)},
        "resources": resources,
        "requests": requests,
        **extra,
    }


def request(
    rid: str, *steps: dict[str, Any], project: str | None = None, **extra: Any
) -> dict[str, Any]:
    """Return a request dict; ``project`` defaults to the request id."""
    return {"id": rid, "project": project or rid, "steps": list(steps), **extra}


def step(duration: int, *resources: str, **extra: Any) -> dict[str, Any]:
    """Return a step dict (unattended by default, to keep tests short)."""
    return {"resources": list(resources), "duration_minutes": duration, "attended": False, **extra}


def busy_week(
    *,
    units: int = 60,
    requests: int = 1500,
    days: int = 7,
    seed: int = 1,
    granularity: int = 15,
    multi_step: float = 0.3,
    facilities: int = 1,
) -> dict[str, Any]:
    """Return a congested week: capability groups of units, opening hours, demand over supply."""
    rng = random.Random(seed)
    groups: list[list[str]] = []
    resources = []
    n = 0
    while n < units:
        size = min(units - n, rng.choice([1, 2, 3, 3, 4, 5]))
        group = []
        for _ in range(size):
            uid = f"u{n:02d}"
            n += 1
            group.append(uid)
            res: dict[str, Any] = {"id": uid}
            if rng.random() < 0.7:
                res["open"] = [[at(d * 1440 + 480), at(d * 1440 + 1200)] for d in range(days)]
            if rng.random() < 0.3:
                d = rng.randrange(days)
                res["blackouts"] = [[at(d * 1440 + 6 * 60), at(d * 1440 + 14 * 60)]]
            if rng.random() < 0.3:
                res["changeover_minutes"] = rng.choice([15, 30, 60])
            if rng.random() < 0.08:
                res["capacity"] = 2
            resources.append(res)
        groups.append(group)
    # Requests only combine unit groups of one facility; facilities share no unit.
    home = [g % facilities for g in range(len(groups))]
    reqs = []
    for i in range(requests):
        nsteps = 1 if rng.random() > multi_step else rng.choice([2, 2, 3])
        steps = []
        facility = rng.randrange(facilities)
        mine = [g for g, f in zip(groups, home, strict=True) if f == facility] or groups
        for k in range(nsteps):
            group = rng.choice(mine)
            allowed = rng.sample(group, k=rng.randint(1, len(group)))
            s: dict[str, Any] = {
                "resources": allowed,
                "duration_minutes": rng.choice([30, 60, 90, 120, 180, 240, 360]),
                "attended": rng.random() < 0.8,
            }
            if k and rng.random() < 0.5:
                s["min_lag_minutes"] = rng.choice([0, 60])
                s["max_lag_minutes"] = rng.choice([1440, 2880])
            steps.append(s)
        release_day = rng.randrange(days)
        span = rng.randint(1, days - release_day)
        reqs.append(
            {
                "id": f"r{i:04d}",
                "project": f"p{rng.randrange(120):03d}",
                "weight": rng.choice([1, 1, 2, 3, 5, 8]),
                "release": at(release_day * 1440),
                "deadline": at((release_day + span) * 1440),
                "steps": steps,
            }
        )
    return {
        "format": "pilotslot-problem/1",
        "horizon": {"start": at(0), "end": at(days * 1440)},
        "granularity_minutes": granularity,
        "resources": resources,
        "requests": reqs,
    }


def jobshop(text: str) -> dict[str, Any]:
    """Return a min_makespan problem for a classic job-shop text (a test-only reader)."""
    rows = [line.split() for line in text.splitlines() if line.strip() and line[0] != "#"]
    jobs, machines = int(rows[0][0]), int(rows[0][1])
    total = 0
    reqs = []
    for j, row in enumerate(rows[1 : jobs + 1]):
        ops = [(int(row[i]), int(row[i + 1])) for i in range(0, len(row), 2)]
        total += sum(d for _, d in ops)
        reqs.append(request(f"job{j}", *(step(d, f"m{m}") for m, d in ops)))
    return problem_dict(
        [{"id": f"m{m}"} for m in range(machines)],
        reqs,
        hours=total // 60 + 1,
        objective="min_makespan",
    )


def _minutes(text: str) -> int:
    return int((datetime.fromisoformat(text) - START).total_seconds() // 60)


def violations(problem: dict[str, Any], result: dict[str, Any]) -> list[str]:
    """Return the rules a result breaks (a small test-side checker, times from START)."""
    out: list[str] = []
    hz0, hz1 = _minutes(problem["horizon"]["start"]), _minutes(problem["horizon"]["end"])
    g = problem.get("granularity_minutes", 1)
    res = {r["id"]: r for r in problem["resources"]}
    reqs = {r["id"]: r for r in problem["requests"]}
    by_req: dict[str, dict[int, dict[str, Any]]] = {}
    for a in result["assignments"]:
        by_req.setdefault(a["request"], {})[a["step"]] = a
    weight = 0.0
    for rid, steps in by_req.items():
        req = reqs[rid]
        weight += req.get("weight", 1)
        if sorted(steps) != list(range(len(req["steps"]))):
            out.append(f"{rid}: not all steps placed")
            continue
        lo = _minutes(req["release"]) if "release" in req else hz0
        hi = _minutes(req["deadline"]) if "deadline" in req else hz1
        for k, spec in enumerate(req["steps"]):
            a = steps[k]
            need = -(-spec["duration_minutes"] // g) * g
            if a["end"] - a["start"] != need or a["start"] % g:
                out.append(f"{rid}/{k}: bad length or off grid")
            if a["resource"] not in spec["resources"]:
                out.append(f"{rid}/{k}: resource not allowed")
            if not (max(lo, hz0) <= a["start"] and a["end"] <= min(hi, hz1)):
                out.append(f"{rid}/{k}: outside window")
            unit = res[a["resource"]]
            if spec.get("attended", True) and unit.get("open") is not None:
                if not any(
                    _minutes(w[0]) <= a["start"] and a["end"] <= _minutes(w[1])
                    for w in unit["open"]
                ):
                    out.append(f"{rid}/{k}: attended outside opening hours")
            for w in unit.get("blackouts", []):
                if a["start"] < _minutes(w[1]) and _minutes(w[0]) < a["end"]:
                    out.append(f"{rid}/{k}: overlaps a blackout")
            if k:
                gap = a["start"] - steps[k - 1]["end"]
                if gap < spec.get("min_lag_minutes", 0):
                    out.append(f"{rid}/{k}: min lag")
                if spec.get("max_lag_minutes") is not None and gap > spec["max_lag_minutes"]:
                    out.append(f"{rid}/{k}: max lag")
    for uid, unit in res.items():
        on = [a for a in result["assignments"] if a["resource"] == uid]
        for t in {a["start"] for a in on}:
            if sum(a["start"] <= t < a["end"] for a in on) > unit.get("capacity", 1):
                out.append(f"{uid}: over capacity at {t}")
        co = unit.get("changeover_minutes", 0)
        if unit.get("capacity", 1) == 1 and co:
            for a in on:
                for b in on:
                    pa, pb = reqs[a["request"]]["project"], reqs[b["request"]]["project"]
                    if pa != pb and a["end"] <= b["start"] < a["end"] + co:
                        out.append(f"{uid}: changeover between {a['request']} {b['request']}")
    for pin in problem.get("pinned", []):
        a = by_req.get(pin["request"], {}).get(pin["step"])
        if a is None or a["resource"] != pin["resource"] or a["start"] != _minutes(pin["start"]):
            out.append(f"pinned {pin['request']}/{pin['step']} moved")
    placed = {a["request"] for a in result["assignments"]}
    if placed & {u["request"] for u in result["unscheduled"]}:
        out.append("a request is both placed and unscheduled")
    if placed | {u["request"] for u in result["unscheduled"]} != set(reqs):
        out.append("a request is missing from the result")
    if problem.get("objective", "max_weighted_accepted") == "max_weighted_accepted":
        if result["objective"] is not None and abs(result["objective"] - weight) > 1e-6:
            out.append(f"objective {result['objective']} != accepted weight {weight}")
    return out
