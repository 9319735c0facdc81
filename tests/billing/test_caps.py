"""Spending caps: stated by a project's members on their page, errors beside the field in both
languages, periods that never overlap, and seen only by the project and its facilities'
managers."""

from __future__ import annotations

import html
import re
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from app.billing import caps
from app.billing.models import SpendingCap
from app.booking.models import AuditEvent
from app.errors import NotFound, ValidationError
from app.extensions import db
from tests import factories
from tests.usage.conftest import MONDAY_9, Site


def _caps() -> list[tuple[int, int, date, date]]:
    db.session.expire_all()
    return [
        (c.project_id, c.amount_fen, c.period_start, c.period_end)
        for c in db.session.scalars(select(SpendingCap).order_by(SpendingCap.period_start))
    ]


def _post(client: Any, site: Site, **values: str) -> Any:
    data = {"project_id": str(site.project.id), "amount_yuan": "", "month": ""}
    data.update(values)
    return client.post("/spending-caps", data=data)


def _error(page: str, name: str) -> str:
    match = re.search(
        rf'<div class="field has-error">\s*<label for="{name}">.*?'
        rf'<span class="error" id="{name}-error">([^<]*)</span>',
        page,
        re.S,
    )
    assert match, page
    return html.unescape(match.group(1))


def test_a_member_states_a_monthly_cap_and_a_dated_one(
    client: Any, login: Any, site: Site
) -> None:
    login(site.member)
    page = client.get("/spending-caps").get_data(as_text=True)
    assert 'name="amount_yuan"' in page and "Kestrel Bio" in page

    assert _post(client, site, amount_yuan="1234.5", month="2027-02").status_code == 302
    assert (
        _post(
            client,
            site,
            amount_yuan="800",
            period_start="2027-03-01",
            period_end="2027-03-15",
            note="pilot run",
        ).status_code
        == 302
    )
    assert _caps() == [
        (site.project.id, 123_450, date(2027, 2, 1), date(2027, 2, 28)),
        (site.project.id, 80_000, date(2027, 3, 1), date(2027, 3, 15)),
    ]
    page = client.get("/spending-caps").get_data(as_text=True)
    assert "1,234.50" in page and "pilot run" in page
    actions = list(db.session.scalars(select(AuditEvent.action)))
    assert actions.count("cap.set") == 2


@pytest.mark.parametrize(
    ("values", "field", "english", "chinese"),
    [
        (
            {"amount_yuan": "12.345", "month": "2027-02"},
            "amount_yuan",
            "Enter an amount in yuan with at most two decimals.",
            "请输入以元为单位、最多两位小数的金额。",
        ),
        (
            {"amount_yuan": "-5", "month": "2027-02"},
            "amount_yuan",
            "Enter an amount from 0 to 100,000,000 yuan.",
            "请输入 0 至 100,000,000 元之间的金额。",
        ),
        (
            {"amount_yuan": "100"},
            "period_start",
            "Give a month, or the first and the last day of the period.",
            "请填写月份，或期间的第一天和最后一天。",
        ),
        (
            {"amount_yuan": "100", "period_start": "2027-03-10", "period_end": "2027-03-01"},
            "period_end",
            "The last day cannot come before the first.",
            "最后一天不能早于第一天。",
        ),
        (
            {"amount_yuan": "100", "month": "2027-01"},
            "month",
            "This period overlaps the project's cap from 2027-01-10 to 2027-02-10; change or "
            "remove that one first.",
            "该期间与本项目 2027-01-10 至 2027-02-10 的支出上限重叠；请先修改或删除那一条。",
        ),
        (
            {"amount_yuan": "100", "period_start": "2027-02-10", "period_end": "2027-02-20"},
            "period_start",
            "This period overlaps the project's cap from 2027-01-10 to 2027-02-10; change or "
            "remove that one first.",
            "该期间与本项目 2027-01-10 至 2027-02-10 的支出上限重叠；请先修改或删除那一条。",
        ),
    ],
)
def test_bad_caps_are_refused_beside_the_field_in_both_languages(
    client: Any,
    login: Any,
    site: Site,
    values: dict[str, str],
    field: str,
    english: str,
    chinese: str,
) -> None:
    db.session.add(
        SpendingCap(
            project_id=site.project.id,
            amount_fen=100,
            period_start=date(2027, 1, 10),
            period_end=date(2027, 2, 10),
        )
    )
    db.session.commit()
    before = _caps()
    login(site.member)
    answer = _post(client, site, **values)
    assert answer.status_code == 422
    assert _error(answer.get_data(as_text=True), field) == english
    site.member.locale = "zh"
    db.session.commit()
    answer = _post(client, site, **values)
    assert answer.status_code == 422
    assert _error(answer.get_data(as_text=True), field) == chinese
    assert _caps() == before


def test_the_service_refuses_a_period_longer_than_a_year(site: Site) -> None:
    with pytest.raises(ValidationError) as caught:
        caps.set_cap(
            site.member,
            site.project.id,
            caps.CapInput("10", period_start=date(2027, 1, 1), period_end=date(2028, 1, 2)),
        )
    assert caught.value.field == "period_end"
    assert _caps() == []


def test_a_startup_cannot_set_or_remove_another_projects_cap(
    client: Any, login: Any, site: Site
) -> None:
    login(site.outsider)
    answer = _post(client, site, amount_yuan="10", month="2027-02")
    assert answer.status_code == 422
    assert "Not a valid choice" in _error(answer.get_data(as_text=True), "project_id")
    with pytest.raises(ValidationError):
        caps.set_cap(site.outsider, site.project.id, caps.CapInput("10", month=date(2027, 2, 1)))
    assert _caps() == []
    cap = caps.set_cap(site.member, site.project.id, caps.CapInput("10", month=date(2027, 2, 1)))
    assert client.post(f"/spending-caps/{cap.id}/remove").status_code == 404
    with pytest.raises(NotFound):
        caps.remove_cap(site.manager, cap.id)
    assert len(_caps()) == 1
    login(site.member)
    assert client.post(f"/spending-caps/{cap.id}/remove").status_code == 302
    assert _caps() == []


def test_caps_are_seen_by_the_project_and_the_managers_of_facilities_it_books(
    client: Any, login: Any, site: Site
) -> None:
    caps.set_cap(site.member, site.project.id, caps.CapInput("4321", month=date(2027, 2, 1)))
    # Before Kestrel books anything at the manager's facility, the manager sees nothing.
    assert caps.list_caps(site.manager) == []
    booking = site.book(MONDAY_9)
    booking.step.facility_id = site.facility.id
    db.session.commit()
    assert [c.amount_fen for c in caps.list_caps(site.manager)] == [432_100]
    assert [c.amount_fen for c in caps.list_caps(site.member)] == [432_100]
    assert caps.list_caps(site.outsider) == []
    assert caps.list_caps(site.other_manager) == []
    admin = factories.make_user(is_admin=True)
    assert len(caps.list_caps(admin)) == 1

    for user, sees in (
        (site.manager, True),
        (site.outsider, False),
        (site.other_manager, False),
    ):
        login(user)
        page = client.get("/spending-caps").get_data(as_text=True)
        assert ("4,321.00" in page) is sees, user
    # A manager may look, not change: no form for a project that is not theirs.
    login(site.manager)
    assert 'name="amount_yuan"' not in client.get("/spending-caps").get_data(as_text=True)


def test_an_administrator_states_a_cap_for_any_project(site: Site) -> None:
    admin = factories.make_user(is_admin=True)
    caps.set_cap(admin, site.other_project.id, caps.CapInput("0", month=date(2027, 2, 1)))
    assert db.session.scalar(select(func.count()).select_from(SpendingCap)) == 1
