"""Feeds kept per data version: a repeated fetch reads no feed rows, and every write that
changes what a link may show (its bookings, its revocation, its owner's membership) shows at
once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete

from app.accounts.models import ProjectMembership
from app.calendars import tokens
from tests.calendars.conftest import cancel, make_booking
from tests.factories import at
from tests.statements import recorded_statements


def test_a_repeated_fetch_reads_only_the_data_version(client, team) -> None:
    make_booking(team.project, team.reactor, at("2027-03-01 01:00"), at("2027-03-01 05:00"))
    _token, raw = tokens.issue_token(team.member, "project", team.project.id, locale="en")
    first = client.get(f"/feeds/{raw}.ics")

    with recorded_statements() as statements:
        again = client.get(f"/feeds/{raw}.ics")
        conditional = client.get(
            f"/feeds/{raw}.ics", headers={"If-None-Match": first.headers["ETag"]}
        )

    assert again.data == first.data and again.headers["ETag"] == first.headers["ETag"]
    assert conditional.status_code == 304
    assert all("data_versions" in s for s in statements if s.startswith("SELECT")), statements


def test_a_cancellation_shows_in_the_next_fetch(client, team) -> None:
    booking = make_booking(
        team.project, team.reactor, at("2027-03-01 01:00"), at("2027-03-01 05:00")
    )
    _token, raw = tokens.issue_token(team.member, "project", team.project.id, locale="en")
    before = client.get(f"/feeds/{raw}.ics")

    cancel(booking, at("2027-02-01 00:00"))
    after = client.get(f"/feeds/{raw}.ics", headers={"If-None-Match": before.headers["ETag"]})

    assert b"STATUS:CONFIRMED" in before.data
    assert after.status_code == 200 and b"STATUS:CANCELLED" in after.data


def test_a_link_revoked_after_it_was_fetched_is_404_at_once(client, team) -> None:
    token, raw = tokens.issue_token(team.member, "project", team.project.id, locale="en")
    assert client.get(f"/feeds/{raw}.ics").status_code == 200

    tokens.revoke_token(team.member, token.id)

    assert client.get(f"/feeds/{raw}.ics").status_code == 404


def test_a_member_who_left_the_project_loses_the_feed_at_once(client, db: Any, team) -> None:
    _token, raw = tokens.issue_token(team.member, "project", team.project.id, locale="en")
    assert client.get(f"/feeds/{raw}.ics").status_code == 200

    db.session.execute(
        delete(ProjectMembership).where(ProjectMembership.user_id == team.member.id)
    )
    db.session.commit()

    assert client.get(f"/feeds/{raw}.ics").status_code == 404


def test_a_new_submission_keeps_the_cached_feed_and_a_booking_moves_it(client, team) -> None:
    from datetime import timedelta

    from app.booking.requests import StepInput, create_request
    from app.dbtypes import utcnow

    make_booking(team.project, team.reactor, at("2027-03-01 01:00"), at("2027-03-01 05:00"))
    _token, raw = tokens.issue_token(team.member, "project", team.project.id, locale="en")
    first = client.get(f"/feeds/{raw}.ics")
    start = utcnow().replace(microsecond=0) + timedelta(days=30)

    submitted = create_request(
        team.member,
        team.project.id,
        title="Second batch",
        earliest_start=start,
        deadline=start + timedelta(days=14),
        steps=[StepInput(duration_minutes=60, unit_ids=[team.lcms.id])],
    )
    with recorded_statements() as statements:
        after_submission = client.get(f"/feeds/{raw}.ics")
    make_booking(
        team.project,
        team.lcms,
        at("2027-03-05 01:00"),
        at("2027-03-05 02:00"),
        request=submitted,
    )
    after_booking = client.get(f"/feeds/{raw}.ics")

    assert after_submission.data == first.data
    assert all("data_versions" in s for s in statements if s.startswith("SELECT")), statements
    assert b"Second batch" in after_booking.data
    assert after_booking.headers["ETag"] != first.headers["ETag"]
