"""Assemble a report: its tables and the series its pictures are drawn from."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from app.catalog.labels import capability_name
from app.reports import metrics
from app.reports.metrics import Load
from app.reports.queries import ReportData, Scope

TEXT, INT, HOURS, PERCENT, NUMBER = "text", "int", "hours", "percent", "number"
# Integer fen; shown and exported as yuan with two decimals.
MONEY = "money"
KINDS = (TEXT, INT, HOURS, PERCENT, NUMBER, MONEY)
Cell = str | int | float | None


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    kind: str = TEXT


@dataclass(frozen=True)
class Table:
    """A titled table; exports write one file or sheet per table."""

    key: str
    # A short name for the spreadsheet tab (Excel allows 31 characters).
    sheet: str
    title: str
    columns: list[Column]
    rows: list[list[Cell]]

    def column(self, key: str) -> list[Cell]:
        """Return the values of one column."""
        index = [c.key for c in self.columns].index(key)
        return [row[index] for row in self.rows]


@dataclass(frozen=True)
class Series:
    """Values to draw: one row of values per label, one value per category."""

    labels: list[str]
    categories: list[str]
    values: list[list[float | None]]


@dataclass(frozen=True)
class Report:
    scope: Scope
    tables: list[Table]
    heatmap: Series
    facility_bars: Series
    weekly_trend: Series
    revenue_bars: Series

    def table(self, key: str) -> Table:
        """Return the table with this key; KeyError if there is none."""
        for table in self.tables:
            if table.key == key:
                return table
        raise KeyError(key)

    def has(self, key: str) -> bool:
        """Tell whether the report holds the table (the claims table is administrators')."""
        return any(table.key == key for table in self.tables)


TABLE_KEYS = (
    "facilities",
    "units",
    "capabilities",
    "weeks",
    "demand",
    "placement",
    "waiting",
    "attendance",
    "revenue",
    "claims",
)


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _facility_key(unit: metrics.Unit) -> list[int]:
    return [unit.facility_id]


def _load_cells(load: Load) -> list[Cell]:
    return [_round(load.capacity_hours), _round(load.booked_hours), _round(load.ratio, 4)]


def _load_columns() -> list[Column]:
    return [
        Column("capacity_hours", _("Open hours × capacity"), HOURS),
        Column("booked_hours", _("Booked hours"), HOURS),
        Column("utilisation", _("Utilisation"), PERCENT),
    ]


def _facility_table(data: ReportData, scope: Scope, loads: dict[int, Load]) -> Table:
    by_facility = metrics.group_loads(data.units, loads, _facility_key)
    served = metrics.startups_served(data.bookings, scope.period.interval)
    unit_counts = Counter(u.facility_id for u in data.units)
    rows: list[list[Cell]] = []
    for f in scope.facilities:
        rows.append(
            [
                f.slug,
                data.facility_names[f.id],
                unit_counts[f.id],
                *_load_cells(by_facility.get(f.id, Load())),
                len(served.get(f.id, set())),
            ]
        )
    if len(scope.facilities) > 1:
        total = sum(by_facility.values(), Load())
        rows.append(
            [
                "",
                _("All facilities"),
                len(data.units),
                *_load_cells(total),
                len(set().union(*served.values())),
            ]
        )
    return Table(
        "facilities",
        _("Facilities"),
        _("Utilisation per facility"),
        [
            Column("facility_slug", _("Slug")),
            Column("facility", _("Facility")),
            Column("units", _("Units"), INT),
            *_load_columns(),
            Column("startups_served", _("Startups served"), INT),
        ],
        rows,
    )


def _unit_table(data: ReportData, loads: dict[int, Load]) -> Table:
    return Table(
        "units",
        _("Equipment units"),
        _("Utilisation per equipment unit"),
        [
            Column("facility", _("Facility")),
            Column("unit", _("Equipment unit")),
            Column("capacity", _("Capacity"), INT),
            *_load_columns(),
        ],
        [
            [data.facility_names[u.facility_id], u.name, u.capacity, *_load_cells(loads[u.id])]
            for u in data.units
        ],
    )


def _capability_table(data: ReportData, loads: dict[int, Load]) -> Table:
    grouped = metrics.group_loads(data.units, loads, lambda u: u.capabilities)
    counts = Counter(name for u in data.units for name in u.capabilities)
    return Table(
        "capabilities",
        _("Capabilities"),
        _("Utilisation per capability"),
        [
            Column("capability", _("Capability")),
            Column("units", _("Units"), INT),
            *_load_columns(),
        ],
        [
            [capability_name(str(name)), counts[str(name)], *_load_cells(grouped[name])]
            for name in sorted(grouped, key=str)
        ],
    )


def _unit_label(data: ReportData, unit: metrics.Unit) -> str:
    if len(data.facility_names) > 1:
        return f"{data.facility_names[unit.facility_id]} · {unit.name}"
    return unit.name


def _week_table(
    data: ReportData, weeks: Sequence[metrics.Week], weekly: dict[str, dict[int, Load]]
) -> Table:
    return Table(
        "weeks",
        _("Weeks"),
        _("Utilisation per unit and ISO week"),
        [
            Column("facility", _("Facility")),
            Column("unit", _("Equipment unit")),
            *[Column(w.label, w.label, PERCENT) for w in weeks],
        ],
        [
            [
                data.facility_names[u.facility_id],
                u.name,
                *[_round(weekly[w.label][u.id].ratio, 4) for w in weeks],
            ]
            for u in data.units
        ],
    )


def _demand_table(data: ReportData, scope: Scope) -> Table:
    asked = metrics.demand(data.requests, data.bookings, scope.period.interval)
    rows: list[list[Cell]] = []
    for f in scope.facilities:
        d = asked.get(f.id, metrics.Demand())
        rows.append(
            [
                data.facility_names[f.id],
                d.requests,
                _round(d.requested_hours),
                d.requested_weight,
                d.booked_requests,
                _round(d.booked_hours),
                d.booked_weight,
            ]
        )
    return Table(
        "demand",
        _("Demand"),
        _("Requested and booked"),
        [
            Column("facility", _("Facility")),
            Column("requests", _("Requests"), INT),
            Column("requested_hours", _("Requested hours"), HOURS),
            Column("requested_weight", _("Requested weight"), INT),
            Column("booked_requests", _("Booked requests"), INT),
            Column("booked_hours", _("Booked hours"), HOURS),
            Column("booked_weight", _("Booked weight"), INT),
        ],
        rows,
    )


def _placement_table(data: ReportData, scope: Scope) -> Table:
    rows: list[list[Cell]] = []
    for f in scope.facilities:
        proposal = data.proposals.get(f.id)
        if proposal is None:
            rows.append([data.facility_names[f.id], *[None] * 9])
            continue
        outcome = metrics.solver_outcome(proposal)
        rows.append(
            [
                data.facility_names[f.id],
                outcome.proposal_id,
                outcome.created_at.date().isoformat(),
                outcome.placed_requests,
                _round(outcome.placed_hours),
                outcome.placed_weight,
                outcome.fcfs_requests,
                _round(outcome.fcfs_hours),
                outcome.fcfs_weight,
                _round(outcome.weight_ratio, 3),
            ]
        )
    return Table(
        "placement",
        _("Solver vs FCFS"),
        _("Latest proposal against first come, first served"),
        [
            Column("facility", _("Facility")),
            Column("proposal", _("Proposal"), INT),
            Column("proposal_date", _("Made on")),
            Column("placed_requests", _("Solver: requests"), INT),
            Column("placed_hours", _("Solver: hours"), HOURS),
            Column("placed_weight", _("Solver: weight"), INT),
            Column("fcfs_requests", _("FCFS: requests"), NUMBER),
            Column("fcfs_hours", _("FCFS: hours"), HOURS),
            Column("fcfs_weight", _("FCFS: weight"), NUMBER),
            Column("weight_ratio", _("Weight ratio solver ÷ FCFS"), NUMBER),
        ],
        rows,
    )


def _waiting_table(data: ReportData, scope: Scope) -> Table:
    waits = metrics.waiting_times(data.requests, scope.period.interval)
    rows: list[list[Cell]] = []
    for f in scope.facilities:
        w = waits.get(f.id, metrics.Waiting(0, None, None))
        rows.append(
            [data.facility_names[f.id], w.count, _round(w.median_hours), _round(w.p90_hours)]
        )
    return Table(
        "waiting",
        _("Waiting time"),
        _("Waiting time from request to booking"),
        [
            Column("facility", _("Facility")),
            Column("requests", _("Requests booked"), INT),
            Column("median_hours", _("Median wait (hours)"), HOURS),
            Column("p90_hours", _("90th percentile wait (hours)"), HOURS),
        ],
        rows,
    )


def _attendance_table(data: ReportData, scope: Scope) -> Table:
    tallies = metrics.attendance(data.bookings, scope.period.interval)
    rows: list[list[Cell]] = []
    for f in scope.facilities:
        a = tallies.get(f.id, metrics.Attendance())
        rows.append(
            [
                data.facility_names[f.id],
                a.bookings,
                _round(a.booked_hours),
                a.no_shows,
                _round(a.no_show_hours),
                _round(a.no_show_share, 4),
                a.cancellations,
                _round(a.cancelled_hours),
                _round(a.cancellation_share, 4),
            ]
        )
    return Table(
        "attendance",
        _("Attendance"),
        _("No-shows and cancellations"),
        [
            Column("facility", _("Facility")),
            Column("bookings", _("Active bookings"), INT),
            Column("booked_hours", _("Booked hours"), HOURS),
            Column("no_shows", _("No-shows"), INT),
            Column("no_show_hours", _("No-show hours"), HOURS),
            Column("no_show_share", _("No-show share"), PERCENT),
            Column("cancellations", _("Cancellations"), INT),
            Column("cancelled_hours", _("Cancelled hours"), HOURS),
            Column("cancellation_share", _("Cancellation share"), PERCENT),
        ],
        rows,
    )


def _revenue_table(
    data: ReportData, scope: Scope, months: list[str], found: dict[Any, metrics.Revenue]
) -> Table:
    rows: list[list[Cell]] = []

    def cells(r: metrics.Revenue) -> list[Cell]:
        return [
            r.charges,
            r.revenue_fen,
            r.billed_fen,
            r.unbilled_fen,
            r.voucher_fen,
            r.started,
            r.no_shows,
            _round(r.no_show_rate, 4),
        ]

    for f in scope.facilities:
        for month in months:
            tally = found.get((f.id, month), metrics.Revenue())
            rows.append([data.facility_names[f.id], month, *cells(tally)])
    if len(scope.facilities) > 1:
        total = sum(found.values(), metrics.Revenue())
        rows.append([_("All facilities"), "", *cells(total)])
    return Table(
        "revenue",
        _("Revenue"),
        _("Revenue, voucher use and no-shows per facility and month"),
        [
            Column("facility", _("Facility")),
            Column("month", _("Month")),
            Column("charges", _("Charges"), INT),
            Column("revenue", _("Revenue"), MONEY),
            Column("billed", _("Billed"), MONEY),
            Column("unbilled", _("Not yet billed"), MONEY),
            Column("voucher_use", _("Paid by vouchers"), MONEY),
            Column("bookings_started", _("Bookings started"), INT),
            Column("no_shows", _("No-shows"), INT),
            Column("no_show_rate", _("No-show rate"), PERCENT),
        ],
        rows,
    )


def _revenue_bars(
    data: ReportData, scope: Scope, months: list[str], found: dict[Any, metrics.Revenue]
) -> Series:
    categories, billed, unbilled, vouchers = [], [], [], []
    for f in scope.facilities:
        for month in months:
            r = found.get((f.id, month), metrics.Revenue())
            categories.append(f"{data.facility_names[f.id]} · {month}")
            # Drawn only: the figures themselves stay integer fen in the table.
            billed.append(r.billed_fen / 100)
            unbilled.append(r.unbilled_fen / 100)
            vouchers.append(r.voucher_fen / 100)
    return Series(
        [_("Billed"), _("Not yet billed"), _("Paid by vouchers")],
        categories,
        [billed, unbilled, vouchers],
    )


def _claims_table(found: dict[tuple[str, str], metrics.ClaimUse]) -> Table:
    def cells(c: metrics.ClaimUse) -> list[Cell]:
        return [
            c.draws,
            c.drawn_fen,
            c.draft_fen,
            c.submitted_fen,
            c.paid_fen,
            c.unclaimed_fen,
        ]

    rows: list[list[Cell]] = [
        [issuer, month, *cells(found[issuer, month])] for issuer, month in sorted(found)
    ]
    if len(found) > 1:
        rows.append([_("All issuers"), "", *cells(sum(found.values(), metrics.ClaimUse()))])
    return Table(
        "claims",
        _("Voucher claims"),
        _("Voucher draws and their redemption per issuer and month"),
        [
            Column("issuer", _("Issuer")),
            Column("month", _("Month")),
            Column("draws", _("Voucher draws"), INT),
            Column("drawn", _("Paid by vouchers"), MONEY),
            Column("on_draft_claims", _("On a draft claim"), MONEY),
            Column("submitted", _("Submitted, not yet paid"), MONEY),
            Column("paid", _("Paid by the issuer"), MONEY),
            Column("unclaimed", _("Not yet claimed"), MONEY),
        ],
        rows,
    )


def compute(scope: Scope, data: ReportData) -> Report:
    """Compute every table and picture series of a report from its facts."""
    period = scope.period.interval
    loads = metrics.unit_loads(data.units, data.bookings, period)
    weeks = metrics.iso_weeks(period, scope.period.week_starts())
    weekly = metrics.weekly_unit_loads(data.units, data.bookings, weeks)
    week_labels = [w.label for w in weeks]
    by_facility = metrics.group_loads(data.units, loads, _facility_key)
    by_facility_week = {
        w: metrics.group_loads(data.units, weekly[w], _facility_key) for w in week_labels
    }
    facility_ids = [f.id for f in scope.facilities]
    months = metrics.months(period, scope.period.month_starts())
    month_labels = [m.label for m in months]
    money = metrics.revenue(data.charges, data.bookings, months, data.now or period[1])
    return Report(
        scope=scope,
        tables=[
            _facility_table(data, scope, loads),
            _unit_table(data, loads),
            _capability_table(data, loads),
            _week_table(data, weeks, weekly),
            _demand_table(data, scope),
            _placement_table(data, scope),
            _waiting_table(data, scope),
            _attendance_table(data, scope),
            _revenue_table(data, scope, month_labels, money),
            *(
                [_claims_table(metrics.claim_use(data.claim_draws))]
                if data.claim_draws is not None
                else []
            ),
        ],
        heatmap=Series(
            [_unit_label(data, u) for u in data.units],
            week_labels,
            [[weekly[w][u.id].ratio for w in week_labels] for u in data.units],
        ),
        facility_bars=Series(
            [_("Utilisation")],
            [data.facility_names[f] for f in facility_ids],
            [[by_facility.get(f, Load()).ratio for f in facility_ids]],
        ),
        weekly_trend=Series(
            [data.facility_names[f] for f in facility_ids],
            week_labels,
            [
                [by_facility_week[w].get(f, Load()).ratio for w in week_labels]
                for f in facility_ids
            ],
        ),
        revenue_bars=_revenue_bars(data, scope, month_labels, money),
    )
