"""Hostile input against the pages' forms, which schemathesis does not reach: every form found
on the pages a member, a manager and an administrator see, posted with generated values (odd
numbers, dates at the ends of the calendar, NUL bytes, other digits, long text), and the
pages' own query filters likewise. Never a 500; on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import hypothesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.booking import bookings
from app.booking.requests import StepInput, create_request
from app.extensions import db
from app.vouchers.models import Voucher
from tests import factories

EXAMPLES_PER_FORM = 20
ZONE = ZoneInfo("Asia/Shanghai")

# Values that broke, or could break, a parser: numbers Decimal and float read but no column
# holds, dates at the ends of Python's calendar, digits int() reads and the database does not.
ODD = [
    "",
    " ",
    "0",
    "-1",
    "1e20",
    "1e400",
    "-1e400",
    "NaN",
    "sNaN",
    "Infinity",
    "-Infinity",
    "0.0000001",
    "2147483648",
    "-2147483649",
    "99999999999999999999999",
    "²",
    "٣",
    "１２",
    "0001-01-01",
    "9999-12-31",
    "0001-01-01T00:00",
    "9999-12-31T23:59",
    "2100-12-31T23:59",
    "1999-12-31T23:59",
    "2027-02-30T09:00",
    "2027-13-01",
    "\x00",
    "a\x00b",
    "x" * 3000,
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "%00",
    "'; drop table users; --",
]


@dataclass
class Form:
    """A form as the page has it: where it posts and its fields with their current values."""

    action: str
    method: str
    fields: dict[str, list[str]] = field(default_factory=dict)


class FormReader(HTMLParser):
    """Collect every form of a page with its inputs, selects (their options) and text areas."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._select: str | None = None
        self._textarea: str | None = None
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(values.get("action", ""), values.get("method", "get").lower()))
        if not self.forms:
            return
        fields = self.forms[-1].fields
        name = values.get("name")
        if tag == "input" and name and values.get("type") not in ("submit", "button", "file"):
            fields.setdefault(name, []).append(values.get("value", ""))
        elif tag == "button" and name:
            fields.setdefault(name, []).append(values.get("value", ""))
        elif tag == "select" and name:
            self._select = name
            fields.setdefault(name, [])
        elif tag == "option" and self._select is not None:
            fields[self._select].append(values.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea = name
            fields.setdefault(name, [""])

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def forms_on(client: FlaskClient, path: str) -> list[tuple[str, Form]]:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    found = []
    for form in FormReader(response.get_data(as_text=True)).forms:
        target = urlsplit(form.action or path).path
        if target and form.fields:
            found.append((path, Form(target, form.method, form.fields)))
    return found


HOSTILE = st.one_of(
    st.sampled_from(ODD),
    st.text(max_size=20),
    st.integers().map(str),
    st.floats().map(str),
    st.dates().map(date.isoformat),
    st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M")),
)


def plausible(fields: dict[str, list[str]], valid: dict[str, str]) -> dict[str, str]:
    """Fill each field with the page's value, or a valid one for the empty date, time, title
    and number fields, so that a single hostile value reaches the code behind the form."""
    filled = {}
    for name, choices in fields.items():
        own = next((c for c in choices if c), "")
        suffix = name.rsplit("-", 1)[-1]
        filled[name] = own or valid.get(suffix, "")
    return filled


@st.composite
def submissions(draw: Any, fields: dict[str, list[str]], valid: dict[str, str]) -> dict[str, str]:
    """A valid submission with one to three fields made hostile."""
    data = plausible(fields, valid)
    names = draw(st.sets(st.sampled_from(sorted(fields)), min_size=1, max_size=3))
    for name in names:
        data[name] = draw(st.one_of(st.sampled_from(fields[name] or [""]), HOSTILE))
    return data


def build(app: Flask) -> tuple[dict[str, Any], dict[str, str]]:
    today = datetime.now(ZONE).date()
    monday = today + timedelta(days=7 - today.weekday())

    def at(day: int, clock: time = time(9)) -> datetime:
        return datetime.combine(monday + timedelta(days=day), clock, ZONE)

    app.config["SOLVE_WORKER_PROCESS"] = False
    facility = factories.make_facility(slug="bio")
    unit = factories.make_equipment(facility, slug="lcms")
    factories.make_equipment(facility, slug="nmr", training_required=True)
    project = factories.make_project(name="Amber")
    member = factories.make_user(email="alice@amber.test", projects=(project,))
    manager = factories.make_user(email="mia@bio.test", manages=(facility,))
    admin = factories.make_user(email="root@pilotslot.test", is_admin=True)
    booking = bookings.manual_booking(
        manager,
        project_id=project.id,
        equipment_id=unit.id,
        start=at(0),
        end=at(0, time(11)),
        title="Peptide map",
    )
    request = create_request(
        member,
        project.id,
        title="Campaign",
        earliest_start=at(1),
        deadline=at(4),
        steps=[
            StepInput(duration_minutes=60, capability="lc-ms"),
            StepInput(duration_minutes=60, capability="lc-ms", min_lag_minutes=30),
        ],
    )
    # An issuer to choose, so the claim form is on its page.
    db.session.add(
        Voucher(
            project_id=project.id,
            issuer="Generated bureau",
            number="GV-1",
            amount_fen=100_000,
            balance_fen=100_000,
            valid_from=today,
            valid_until=today + timedelta(days=90),
        )
    )
    db.session.commit()
    local = "%Y-%m-%dT%H:%M"
    valid = {
        "earliest_start": at(1).strftime(local),
        "deadline": at(4).strftime(local),
        "start": at(2).strftime(local),
        "end": at(2, time(10)).strftime(local),
        "trained_on": today.isoformat(),
        "title": "Generated run",
        "duration_hours": "1",
        "reason": "Generated",
        "email": "alice@amber.test",
        "name": "Generated",
        "password": "a long enough password",
        "new": "a long enough password",
        "current": factories.PASSWORD,
        "period_start": (today - timedelta(days=30)).isoformat(),
        "period_end": today.isoformat(),
    }
    people = {
        "member": (
            member,
            [
                "/requests/new",
                "/campaigns/new",
                f"/requests/{request.id}/edit",
                f"/requests/{request.id}",
                f"/bookings/{booking.id}",
                "/calendars",
                "/account",
                "/facilities",
                "/requests",
            ],
        ),
        "manager": (
            manager,
            [
                "/manage/bio",
                "/manage/bio/bookings/new",
                "/manage/bio/trainings",
                f"/bookings/{booking.id}/reschedule",
                f"/bookings/{booking.id}",
                "/reports/",
            ],
        ),
        "admin": (admin, ["/admin/", "/claims"]),
    }
    return people, valid


def test_no_form_or_page_filter_answers_500_to_generated_input(app: Flask, db: Any) -> None:
    people, valid = build(app)
    failures: list[str] = []
    for who, (user, pages) in people.items():
        client = app.test_client()
        login = client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
        assert login.status_code == 302, who
        targets = [found for page in pages for found in forms_on(client, page)]
        assert targets, who
        for page, form in targets:
            if form.action in ("/logout",) or form.action.endswith("/revoke"):
                continue
            try:
                fuzz(client, form, valid)
            except AssertionError as error:
                failures.append(f"{who} {page} -> {form.action}: {str(error)[:600]}")
    assert not failures, f"{len(failures)} findings:\n" + "\n".join(failures)


def fuzz(client: FlaskClient, form: Form, valid: dict[str, str]) -> None:
    """Send the form generated values; fail with the first that answers 5xx."""

    @settings(
        max_examples=EXAMPLES_PER_FORM,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    @given(data=submissions(form.fields, valid))
    def send(data: dict[str, str]) -> None:
        if form.method == "post":
            response = client.post(form.action, data=data)
        else:
            response = client.get(form.action, query_string=data)
        assert response.status_code < 500, (form.method, form.action, data)

    send()
