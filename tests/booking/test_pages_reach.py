"""The pages people reach for: from a unit to its week and a request of it, choices that fit,
and a confirmation before a wide change."""

from __future__ import annotations

import re
from typing import Any

import pytest

from app.booking.models import RequestStatus
from app.catalog.models import Equipment
from tests import factories
from tests.booking.pages_world import World, build_world, solve_now, train
from tests.booking.test_pages import make_request


@pytest.fixture
def world(db: Any) -> World:
    return build_world()


def option(page: str, select_id: str, value: object) -> str:
    """Return the <option> tag of the value in the select with this id."""
    select = re.search(rf'<select[^>]*id="{select_id}"[^>]*>(.*?)</select>', page, re.S)
    assert select, select_id
    found = re.search(rf'<option[^>]*value="{value}"[^>]*>[^<]*</option>', select.group(1))
    assert found, (select_id, value)
    return found.group(0)


def option_values(page: str, select_id: str) -> list[str]:
    select = re.search(rf'<select[^>]*id="{select_id}"[^>]*>(.*?)</select>', page, re.S)
    assert select, select_id
    return re.findall(r'<option[^>]*value="([^"]*)"', select.group(1))


def test_an_equipment_page_leads_to_its_week_and_to_a_request_of_it(
    client: Any, world: World, db: Any
) -> None:
    page = client.get(f"/equipment/{world.lcms1.slug}").get_data(as_text=True)
    assert f'href="/equipment/{world.lcms1.slug}/availability"' in page
    assert f'href="/requests/new?unit={world.lcms1.slug}"' in page
    world.lcms2.status = "retired"
    db.session.commit()
    retired = client.get(f"/equipment/{world.lcms2.slug}").get_data(as_text=True)
    assert "/requests/new?unit=" not in retired and "/availability" not in retired


def test_the_availability_week_offers_a_request_of_the_unit_in_that_week(
    client: Any, login: Any, world: World
) -> None:
    login(world.alice)
    week = world.monday.isoformat()
    page = client.get(f"/equipment/{world.lcms1.slug}/availability?week={week}")
    text = page.get_data(as_text=True)
    assert f'href="/requests/new?unit={world.lcms1.slug}&amp;week={week}"' in text
    assert f'href="/equipment/{world.lcms1.slug}"' in text


def test_request_this_unit_opens_the_form_with_its_facility_and_unit_chosen(
    client: Any, login: Any, world: World
) -> None:
    login(world.alice)
    page = client.get(f"/requests/new?unit={world.lcms2.slug}").get_data(as_text=True)
    assert "selected" in option(page, "facility_id", world.facility.id)
    assert "selected" in option(page, "steps-0-unit_ids", world.lcms2.id)
    assert "selected" not in option(page, "steps-0-unit_ids", world.lcms1.id)
    in_week = client.get(
        f"/requests/new?unit={world.lcms2.slug}&week={world.monday.isoformat()}"
    ).get_data(as_text=True)
    assert f'value="{world.local(0, "00:00")}"' in in_week
    assert f'value="{world.local(7, "00:00")}"' in in_week
    unknown = client.get("/requests/new?unit=nope&week=bad")
    assert unknown.status_code == 200


def test_the_request_form_offers_first_what_the_project_may_use(
    client: Any, login: Any, world: World, db: Any
) -> None:
    gated = factories.make_equipment(
        world.facility, slug="nmr-1", name_en="NMR No. 1", capabilities=("nmr",)
    )
    gated.training_required = True
    db.session.commit()
    login(world.alice)
    page = client.get("/requests/new").get_data(as_text=True)
    assert "NMR No. 1 (training needed)" in option(page, "steps-0-unit_ids", gated.id)
    units = option_values(page, "steps-0-unit_ids")
    assert units.index(str(world.hplc.id)) < units.index(str(gated.id))
    capabilities = option_values(page, "steps-0-capability")
    assert capabilities[-1] == "nmr" and capabilities.index("hplc") < capabilities.index("nmr")
    assert "nmr (training needed)" in option(page, "steps-0-capability", "nmr")
    assert f'data-facilities="{world.facility.id}"' in option(page, "steps-0-capability", "nmr")

    train(world.alice, db.session.get(Equipment, gated.id))
    trained = client.get("/requests/new").get_data(as_text=True)
    assert "training needed" not in option(trained, "steps-0-unit_ids", gated.id)


def test_the_first_campaign_step_hides_the_gaps_it_has_no_use_for(
    client: Any, login: Any, world: World
) -> None:
    login(world.alice)
    page = client.get("/campaigns/new").get_data(as_text=True)
    gaps = re.findall(r'<div class="gaps"( hidden)?>', page)
    assert gaps == [" hidden", ""], gaps


def test_approving_asks_first_and_says_how_many_bookings_for_whom(
    client: Any, login: Any, world: World, db: Any
) -> None:
    requests = [make_request(world, title=title) for title in ("Peptide map", "Glycan map")]
    run = solve_now(world.mia, world.facility)
    login(world.mia)
    question = "Publish 2 bookings for Amber Biologics?"
    assert question in client.get(f"/proposals/{run.proposal.id}").get_data(as_text=True)
    asked = client.post(f"/proposals/{run.proposal.id}/approve", data={"confirmed": "no"})
    text = asked.get_data(as_text=True)
    assert asked.status_code == 200 and question in text
    assert 'name="confirmed" value="yes"' in text
    db.session.expire_all()
    assert {r.status for r in requests} == {RequestStatus.PROPOSED.value}
    done = client.post(f"/proposals/{run.proposal.id}/approve", data={"confirmed": "yes"})
    assert done.status_code == 302


@pytest.mark.parametrize("stale", ["withdrawn", "collision"])
def test_a_refused_approval_says_once_that_nothing_was_published(
    client: Any, login: Any, world: World, db: Any, stale: str
) -> None:
    first, second = (make_request(world, title=t) for t in ("Peptide map", "Glycan map"))
    run = solve_now(world.mia, world.facility)
    if stale == "withdrawn":
        # The member withdraws one request after the solve.
        second.status = RequestStatus.WITHDRAWN.value
        db.session.commit()
        why = f"Request #{second.id} changed since the solve"
    else:
        # Someone books the time of one proposed step after the solve.
        item = run.proposal.items[0]
        unit = db.session.get(Equipment, item.equipment_id)
        factories.make_booking(world.project_b, unit, item.start, item.end)
        why = "collide with this proposal"
    login(world.mia)
    refused = client.post(
        f"/proposals/{run.proposal.id}/approve", data={"confirmed": "yes"}, follow_redirects=True
    )
    text = refused.get_data(as_text=True)
    assert why in text
    assert text.lower().count("nothing was published") == 1, text
    db.session.expire_all()
    assert first.status == RequestStatus.PROPOSED.value


def test_removing_a_manager_or_a_member_asks_first_and_names_them(
    client: Any, login: Any, world: World, db: Any
) -> None:
    login(world.admin)
    remove = f"/admin/accounts/{world.mia.id}/facilities/{world.facility.id}/remove"
    admin_page = client.get("/admin/").get_data(as_text=True)
    question = "Stop Mia managing Bio Proof-of-Concept Centre?"
    assert question in admin_page
    asked = client.post(remove, headers={"Referer": "http://localhost/admin/"})
    assert asked.status_code == 200 and question in asked.get_data(as_text=True)
    db.session.refresh(world.mia)
    assert world.facility in world.mia.managed_facilities
    assert client.post(remove, data={"confirmed": "yes"}).status_code == 302
    db.session.refresh(world.mia)
    assert world.facility not in world.mia.managed_facilities

    end = f"/admin/accounts/{world.alice.id}/projects/{world.project_a.id}/remove"
    asked = client.post(end).get_data(as_text=True)
    assert "End Alice&#39;s membership of Amber Biologics?" in asked
    db.session.refresh(world.alice)
    assert world.project_a.id in world.alice.project_ids
    client.post(end, data={"confirmed": "yes"})
    db.session.refresh(world.alice)
    assert world.project_a.id not in world.alice.project_ids


def test_the_confirmation_step_shows_nothing_to_those_who_may_not_act(
    client: Any, login: Any, world: World
) -> None:
    make_request(world)
    run = solve_now(world.mia, world.facility)
    login(world.otto)
    assert client.post(f"/proposals/{run.proposal.id}/approve").status_code == 404
    remove = f"/admin/accounts/{world.mia.id}/facilities/{world.facility.id}/remove"
    refused = client.post(remove)
    assert refused.status_code == 404 and "Mia" not in refused.get_data(as_text=True)


def test_cancelling_a_booking_asks_first_naming_the_unit_and_time(
    client: Any, login: Any, world: World
) -> None:
    from app.booking import bookings as booking_service

    booking = booking_service.manual_booking(
        world.mia,
        project_id=world.project_a.id,
        equipment_id=world.lcms1.id,
        start=world.at(1, "09:00"),
        end=world.at(1, "12:00"),
        title="Amber calibration",
    )
    login(world.alice)
    question = re.compile(r'data-confirm="Cancel the booking of LC-MS No\. 1, [^"]*09:00[^"]*\?')
    for page in (f"/bookings/{booking.id}", f"/requests/{booking.request_id}"):
        assert question.search(client.get(page).get_data(as_text=True)), page
