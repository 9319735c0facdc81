"""Seeded benchmark instances: facilities of grouped units and more demand than they can hold."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

SHANGHAI = timezone(timedelta(hours=8))
# A Monday, so the first five days of every instance are weekdays.
MONDAY = datetime(2026, 3, 2, tzinfo=SHANGHAI)
CAPABILITIES = (
    "hplc", "lcms", "gcms", "nmr", "sem", "xrd", "ftir", "bioreactor", "fermenter",
    "spray-dryer", "freeze-dryer", "cnc", "printer-3d", "laser-cutter", "clean-room",
    "climate-chamber", "tensile-tester", "reflow-oven", "pcb-line", "wind-tunnel",
)  # fmt: skip


@dataclass(frozen=True)
class Spec:
    """The size of a generated instance; the seed fixes everything else."""

    name: str
    units: int
    requests: int
    days: int
    granularity: int = 15
    seed: int = 1
    campaigns: float = 0.3
    """Share of requests that are campaigns of several steps with lags."""
    load: float = 1.6
    """Requested unit-hours over bookable unit-hours; above 1 the facility is oversubscribed."""


SPECS: dict[str, Spec] = {
    s.name: s
    for s in (
        Spec("small", units=8, requests=60, days=2, seed=11),
        Spec("medium", units=20, requests=400, days=4, seed=12),
        Spec("congested-week", units=60, requests=1600, days=7, seed=13),
        # Regions: many facilities planned at once (issue 14, "Region scale").
        Spec("region-week", units=240, requests=8000, days=7, seed=14),
        Spec("region-20k", units=400, requests=20000, days=10, seed=15),
        Spec("region-50k", units=1000, requests=50000, days=10, seed=16),
    )
}


@dataclass
class _Unit:
    id: str
    capability: str
    always_open: bool
    capacity: int


def generate(spec: Spec) -> dict[str, Any]:
    """Return the problem dict (format pilotslot-problem/1) of ``spec``."""
    rng = random.Random(f"pilotslot-bench/{spec.name}/{spec.seed}")
    g = spec.granularity
    start = MONDAY
    end = start + timedelta(days=spec.days)
    groups = _unit_groups(rng, spec.units)
    units = [u for group in groups.values() for u in group]
    resources = [_resource(rng, u, start, spec.days, g) for u in units]
    bookable = sum(_open_hours(u, spec.days) * u.capacity for u in units)
    # Popular capabilities draw more requests, as a few instruments always have a queue.
    popularity = {cap: rng.uniform(0.5, 2.0) * len(group) for cap, group in groups.items()}
    requests = [_request(rng, i, spec, groups, popularity) for i in range(spec.requests)]
    _scale_durations(requests, spec, bookable, g)
    for r in requests:
        _add_window(rng, r, spec, start)
    return {
        "format": "pilotslot-problem/1",
        "horizon": {"start": start.isoformat(), "end": end.isoformat()},
        "granularity_minutes": g,
        "timezone": "Asia/Shanghai",
        "objective": "max_weighted_accepted",
        "resources": resources,
        "requests": requests,
        "x_generator": {"name": spec.name, "seed": spec.seed, "load": spec.load},
    }


def instance(name: str) -> dict[str, Any]:
    """Return the named generated instance (a key of SPECS)."""
    return generate(SPECS[name])


def _unit_groups(rng: random.Random, count: int) -> dict[str, list[_Unit]]:
    groups: dict[str, list[_Unit]] = {}
    made = 0
    while made < count:
        cap = CAPABILITIES[len(groups) % len(CAPABILITIES)]
        if len(groups) >= len(CAPABILITIES):
            cap = f"{cap}-{len(groups) // len(CAPABILITIES) + 1}"
        size = min(count - made, rng.choice((1, 2, 2, 3, 3, 4)))
        # Fermenters, bioreactors and climate chambers run around the clock, unstaffed.
        always = cap.split("-")[0] in {"fermenter", "bioreactor", "climate"} or rng.random() < 0.1
        capacity = rng.choice((2, 3)) if cap.startswith("clean-room") else 1
        groups[cap] = [_Unit(f"{cap}-{k + 1}", cap, always, capacity) for k in range(size)]
        made += size
    return groups


def _open_hours(unit: _Unit, days: int) -> float:
    if unit.always_open:
        return 24.0 * days
    return 12.0 * sum(1 for d in range(days) if d % 7 < 5)


def _resource(
    rng: random.Random, unit: _Unit, start: datetime, days: int, g: int
) -> dict[str, Any]:
    out: dict[str, Any] = {"id": unit.id}
    if unit.capacity != 1:
        out["capacity"] = unit.capacity
    if not unit.always_open:
        # Staffed 08:00-20:00 Shanghai time on weekdays.
        out["open"] = [
            [
                (start + timedelta(days=d, hours=8)).isoformat(),
                (start + timedelta(days=d, hours=20)).isoformat(),
            ]
            for d in range(days)
            if d % 7 < 5
        ]
    if rng.random() < 0.12:
        day = rng.randrange(days)
        begin = start + timedelta(days=day, hours=rng.choice((7, 9, 13, 16)))
        out["blackouts"] = [
            [begin.isoformat(), (begin + timedelta(hours=rng.choice((2, 3, 4, 6)))).isoformat()]
        ]
    if unit.capacity == 1 and rng.random() < 0.3:
        out["changeover_minutes"] = rng.choice((15, 30, 45, 60))
    return out


def _request(
    rng: random.Random,
    index: int,
    spec: Spec,
    groups: dict[str, list[_Unit]],
    popularity: dict[str, float],
) -> dict[str, Any]:
    caps = list(groups)
    weights = [popularity[c] for c in caps]
    campaign = rng.random() < spec.campaigns
    count = rng.choice((2, 2, 3, 3, 4)) if campaign else 1
    steps: list[dict[str, Any]] = []
    for k in range(count):
        cap = rng.choices(caps, weights)[0]
        group = groups[cap]
        always = group[0].always_open
        attended = not always and rng.random() < 0.85
        if attended:
            duration = rng.choice((30, 45, 60, 90, 120, 180, 240))
        else:
            # Soak tests and fermentations run for hours, often overnight.
            duration = rng.choice((120, 240, 360, 480, 720, 960))
        step: dict[str, Any] = {
            "resources": [u.id for u in rng.sample(group, rng.randint(1, len(group)))],
            "duration_minutes": duration,
            "attended": attended,
        }
        if k > 0:
            low = rng.choice((0, 0, 15, 30, 60))
            step["min_lag_minutes"] = low
            step["max_lag_minutes"] = low + rng.choice((120, 240, 480, 960, 1440))
        steps.append(step)
    return {
        "id": f"r{index:04d}",
        "project": f"p{rng.randrange(max(4, spec.requests // 8)):03d}",
        "weight": rng.choice((1, 1, 2, 2, 3, 4, 5)),
        "steps": steps,
    }


def _add_window(rng: random.Random, request: dict[str, Any], spec: Spec, start: datetime) -> None:
    """Give ``request`` a [release, deadline) of a few times its length, somewhere in the days."""
    steps = request["steps"]
    need = sum(s["duration_minutes"] + s.get("min_lag_minutes", 0) for s in steps) / 60
    hours = max(need * rng.uniform(2.0, 4.0), rng.choice((12, 24, 48, 72)))
    hours = min(hours, spec.days * 24)
    latest = spec.days * 24 - hours
    if any(s["attended"] for s in steps):
        # Staffed steps are asked for on weekdays; only unattended runs start at the weekend.
        latest = min(latest, max(0.0, min(spec.days, 5) * 24 - hours))
    release = rng.uniform(0, latest)
    # Whole hours, as requests are made in a form with an hour picker.
    first, last = int(release), int(release + hours)
    if first > 0:
        request["release"] = (start + timedelta(hours=first)).isoformat()
    if last < spec.days * 24:
        request["deadline"] = (start + timedelta(hours=last)).isoformat()


def _scale_durations(
    requests: list[dict[str, Any]], spec: Spec, bookable_hours: float, g: int
) -> None:
    """Scale attended durations so the requested unit-hours are ``spec.load`` times the supply."""
    asked = sum(s["duration_minutes"] for r in requests for s in r["steps"]) / 60
    factor = spec.load * bookable_hours / asked
    for r in requests:
        for s in r["steps"]:
            # Attended steps must fit a 12-hour shift; rounding to the grid keeps them on slots.
            cap = 11 * 60 if s["attended"] else 20 * 60
            scaled = round(s["duration_minutes"] * factor / g) * g
            s["duration_minutes"] = max(g, min(cap, scaled))
