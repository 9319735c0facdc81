"""Need pages: the form with errors beside fields, suggestions, drafts, board, demand, brokers."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from app.accounts.models import BrokerAssignment
from app.catalog.models import Equipment
from app.needs.models import Need
from tests import factories
from tests.needs.conftest import People

GAN_ZH = "我们的氮化镓功率器件要耐高温和高电压"


def _post_need(client: FlaskClient, people: People, **fields: str) -> Any:
    data = {
        "project_id": str(people.project.id),
        "centre_id": str(people.centre.id),
        "title": "功率器件可靠性",
        "text": GAN_ZH,
        "city": "Suzhou",
        "budget_yuan": "5000",
    }
    data.update(fields)
    return client.post("/needs/new", data=data)


def test_a_founder_writes_a_need_and_sees_units_rates_and_slots(
    app: Any, db: Any, people: People, login: Any
) -> None:
    client = login(people.founder)
    response = _post_need(client, people)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-capability="power-device-test"' in page
    assert 'data-unit="sip3g-prober-1"' in page
    assert "¥400.00" in page
    assert "氮化镓" in page
    need = db.session.scalar(select(Need))
    assert need.budget_fen == 5000_00
    assert client.get("/needs").get_data(as_text=True).count("data-need=") == 1


def test_suggested_rates_come_from_the_rate_card_for_the_projects_customer_kind(
    app: Any, db: Any, people: People, login: Any
) -> None:
    from app.billing.models import RateCard

    prober = db.session.scalar(select(Equipment).where(Equipment.slug == "sip3g-prober-1"))
    card = db.session.get(RateCard, prober.id)
    assert card is not None and card.incubated_fen == 400_00
    card.external_fen = 555_00
    people.project.customer_kind = "external"
    db.session.commit()
    client = login(people.founder)
    response = _post_need(client, people)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    row = page[page.index('data-unit="sip3g-prober-1"') :]
    row = row[: row.index("</tr>")]
    assert "¥555.00" in row and "¥400.00" not in row


def test_the_need_form_shows_errors_beside_the_fields(
    app: Any, db: Any, people: People, login: Any
) -> None:
    client = login(people.founder)
    response = _post_need(client, people, text="", budget_yuan="-3", wanted_by="1900-01-01")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    for name in ("text", "budget_yuan", "wanted_by"):
        assert f'id="{name}-error"' in page, name
    assert db.session.scalar(select(Need)) is None


def test_the_need_pages_speak_chinese(app: Any, db: Any, people: People, login: Any) -> None:
    client = login(people.founder)
    client.post("/lang/zh")
    page = client.get("/needs/new").get_data(as_text=True)
    assert "描述需求" in page


def test_a_draft_of_two_units_opens_the_campaign_form_in_order(
    app: Any, db: Any, people: People, login: Any
) -> None:
    client = login(people.founder)
    location = _post_need(client, people).headers["Location"]
    need_id = int(location.rsplit("/", 1)[1])
    ids = {
        u.slug: u.id
        for u in db.session.scalars(
            select(Equipment).where(Equipment.slug.in_(["sip3g-prober-1", "sip3g-prober-2"]))
        )
    }
    response = client.post(
        f"/needs/{need_id}/drafts",
        data={
            "choice": [
                f"high-voltage-test:{ids['sip3g-prober-2']}",
                f"power-device-test:{ids['sip3g-prober-1']}",
            ]
        },
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="send-draft"' in page
    first = page.index('name="steps-0-capability"')
    assert page.index('selected value="power-device-test"', first) < page.index(
        'name="steps-1-capability"'
    )
    # Sending without durations puts the message beside the duration fields.
    response = client.post(
        response.headers["Location"],
        data={
            "project_id": str(people.project.id),
            "title": "t",
            "facility_id": str(db.session.scalar(select(Need)).drafts[0].facility_id),
            "earliest_start": "2027-03-01T09:00",
            "deadline": "2027-03-20T18:00",
            "steps-0-capability": "power-device-test",
            "steps-0-unit_ids": str(ids["sip3g-prober-1"]),
        },
    )
    assert response.status_code == 422
    assert 'id="steps-0-duration_hours-error"' in response.get_data(as_text=True)


def test_a_draft_across_facilities_is_refused_on_the_page(
    app: Any, db: Any, people: People, login: Any
) -> None:
    client = login(people.founder)
    location = _post_need(client, people).headers["Location"]
    units = {
        u.slug: u.id
        for u in db.session.scalars(
            select(Equipment).where(Equipment.slug.in_(["sip3g-prober-1", "njict-climate-1"]))
        )
    }
    response = client.post(
        location + "/drafts",
        data={
            "choice": [
                f"power-device-test:{units['sip3g-prober-1']}",
                f"temperature-cycling:{units['njict-climate-1']}",
            ]
        },
    )
    assert response.status_code == 422
    assert 'id="units-error"' in response.get_data(as_text=True)


def test_a_broker_screens_on_the_board_and_others_see_nothing(
    app: Any, db: Any, people: People, login: Any
) -> None:
    founder = login(people.founder)
    location = _post_need(founder, people, title="Zebra secret 42").headers["Location"]
    broker = app.test_client()
    login(people.broker, broker)
    board = broker.get("/brokers/board").get_data(as_text=True)
    assert "Zebra secret 42" in board
    response = broker.post(location + "/state", data={"state": "screened"})
    assert response.status_code == 302
    assert db.session.scalar(select(Need)).state == "screened"
    for user in (people.other_broker, people.other_founder):
        other = app.test_client()
        login(user, other)
        assert other.get(location).status_code == 404
        assert "Zebra secret 42" not in other.get("/brokers/board").get_data(as_text=True)
        assert other.post(location + "/state", data={"state": "served"}).status_code == 404
        assert other.post(location + "/comments", data={"body": "x"}).status_code == 404
    assert founder.get("/brokers/board").status_code == 404
    declined = broker.post(location + "/state", data={"state": "declined"})
    assert declined.status_code == 422
    assert 'id="reason-error"' in declined.get_data(as_text=True)


def test_the_demand_picture_is_for_brokers_of_the_centre(
    app: Any, db: Any, people: People, login: Any
) -> None:
    founder = login(people.founder)
    _post_need(founder, people)
    assert founder.get("/demand").status_code == 404
    broker = app.test_client()
    login(people.broker, broker)
    page = broker.get("/demand").get_data(as_text=True)
    assert "table-months" in page
    assert broker.get("/demand/capabilities.svg").mimetype == "image/svg+xml"
    assert broker.get("/demand/months.csv").status_code == 200
    assert broker.get("/demand/demand.xlsx").get_data()[:2] == b"PK"
    other = app.test_client()
    login(people.other_broker, other)
    assert "功率器件" not in other.get("/demand/capabilities.csv").get_data(as_text=True)


def test_the_administrator_assigns_brokers(app: Any, db: Any, people: People, login: Any) -> None:
    admin = factories.make_user(is_admin=True)
    client = login(admin)
    target = factories.make_user(email="new.broker@example.org")
    response = client.post(
        "/admin/brokers", data={"email": "new.broker@example.org", "centre_id": "0"}
    )
    assert response.status_code == 302
    assignment = db.session.scalar(
        select(BrokerAssignment).where(BrokerAssignment.user_id == target.id)
    )
    assert assignment is not None and assignment.centre_id is None
    missing = client.post("/admin/brokers", data={"email": "nobody@example.org", "centre_id": "0"})
    assert missing.status_code == 422 and 'id="email-error"' in missing.get_data(as_text=True)
    founder = app.test_client()
    login(people.founder, founder)
    assert founder.get("/admin/brokers").status_code == 404
    assert founder.post(f"/admin/brokers/{assignment.id}/remove").status_code == 404


def test_a_founder_changes_a_new_need_and_its_suggestions_follow(
    app: Any, db: Any, people: People, login: Any
) -> None:
    client = login(people.founder)
    location = _post_need(client, people).headers["Location"]
    form = client.get(location + "/edit").get_data(as_text=True)
    assert GAN_ZH in form and 'value="5000.00"' in form
    response = client.post(
        location + "/edit",
        data={
            "project_id": str(people.project.id),
            "centre_id": str(people.centre.id),
            "title": "天线",
            "text": "天线方向图和增益",
            "city": "",
        },
    )
    assert response.status_code == 302
    need = db.session.get(Need, int(location.rsplit("/", 1)[1]))
    assert need.capabilities[0] == "antenna-measurement"
    assert [e.kind for e in need.events] == ["created", "edited"]
    other = app.test_client()
    login(people.other_founder, other)
    assert other.get(location + "/edit").status_code == 404
