"""Feed links: secret, revocable, tenant-safe; conditional requests and the rate limit."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from sqlalchemy import select

from app import create_app
from app.calendars import tokens
from app.calendars.models import FeedToken
from app.errors import NotFound
from app.extensions import db
from tests.calendars.conftest import issue, make_booking, reschedule
from tests.conftest import IsolatedClient, _test_config
from tests.factories import at


def test_only_the_sha256_of_a_link_is_stored(team) -> None:
    token, raw = tokens.issue_token(team.member, "project", team.project.id, locale="zh")

    assert len(raw) >= 43  # 32 random bytes, base64url
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    stored = db.session.execute(select(FeedToken.__table__)).mappings().all()
    assert all(raw not in str(value) for row in stored for value in row.values())


def test_unknown_link_is_404(client, team) -> None:
    assert client.get("/feeds/not-a-real-token.ics").status_code == 404
    assert client.get(f"/feeds/{tokens.new_raw_token()}.ics").status_code == 404


def test_rotating_a_link_kills_the_old_one(client, team) -> None:
    old = issue(team.member, "project", team.project.id)
    new = issue(team.member, "project", team.project.id)

    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200


def test_revoked_link_is_404(client, team) -> None:
    token, raw = tokens.issue_token(team.member, "project", team.project.id, locale="en")
    tokens.revoke_token(team.member, token.id)

    assert client.get(f"/feeds/{raw}.ics").status_code == 404


def test_cannot_revoke_someone_elses_link(app, team, make_user) -> None:
    token, _raw = tokens.issue_token(team.member, "project", team.project.id, locale="en")
    stranger = make_user()

    with pytest.raises(NotFound):
        tokens.revoke_token(stranger, token.id)
    assert token.revoked_at is None


def test_startup_feeds_never_show_another_startups_names(
    client, team, make_project, make_user
) -> None:
    rival = make_project(name="Quantum Rival")
    rival_member = make_user(projects=(rival,))
    make_booking(
        rival, team.reactor, at("2027-03-01 01:00"), at("2027-03-01 05:00"), title="Secret assay"
    )
    make_booking(team.project, team.lcms, at("2027-03-01 01:00"), at("2027-03-01 05:00"))

    for url in (
        issue(team.member, "project", team.project.id),
        issue(team.member, "user", team.member.id),
    ):
        body = client.get(url).get_data(as_text=True)
        assert "Peptide batch" in body
        assert "Quantum Rival" not in body and "Secret assay" not in body
    rival_body = client.get(issue(rival_member, "user", rival_member.id)).get_data(as_text=True)
    assert "Secret assay" in rival_body and "Helix Bio" not in rival_body


@pytest.mark.parametrize(
    ("who", "kind", "target"),
    [
        ("member", "project", "other_project"),
        ("member", "user", "manager"),
        ("member", "facility", "facility"),
        ("member", "equipment", "reactor"),
        ("manager", "facility", "other_facility"),
        ("manager", "equipment", "other_unit"),
        ("manager", "project", "project"),
    ],
)
def test_links_to_feeds_you_may_not_read_cannot_be_created(
    client, login, team, make_facility, make_equipment, make_project, who, kind, target
) -> None:
    other_facility = make_facility()
    targets: dict[str, Any] = {
        "other_project": make_project(),
        "manager": team.manager,
        "facility": team.facility,
        "reactor": team.reactor,
        "other_facility": other_facility,
        "other_unit": make_equipment(other_facility),
        "project": team.project,
    }
    login(getattr(team, who))

    response = client.post(
        "/calendars/links",
        data={"kind": kind, "target_id": targets[target].id, "locale": "en"},
    )

    assert response.status_code == 404
    assert db.session.scalar(select(db.func.count(FeedToken.id))) == 0


def test_feed_goes_dark_when_its_owner_leaves_the_project(client, team) -> None:
    url = issue(team.member, "project", team.project.id)
    user_url = issue(team.member, "user", team.member.id)
    team.member.memberships.clear()
    db.session.commit()

    assert client.get(url).status_code == 404
    assert b"Helix Bio" not in client.get(user_url).data


def test_feed_goes_dark_when_its_owner_stops_managing(client, team) -> None:
    url = issue(team.manager, "equipment", team.reactor.id)
    team.manager.managed_facilities = []
    db.session.commit()

    assert client.get(url).status_code == 404


def test_inactive_owner_feed_is_404(client, team) -> None:
    url = issue(team.member, "project", team.project.id)
    team.member.active = False
    db.session.commit()

    assert client.get(url).status_code == 404


def test_etag_gives_304_until_the_data_changes(client, team) -> None:
    booking = make_booking(
        team.project, team.reactor, at("2027-03-01 01:00"), at("2027-03-01 05:00")
    )
    url = issue(team.member, "project", team.project.id)
    first = client.get(url)
    etag = first.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")

    cached = client.get(url, headers={"If-None-Match": etag})
    assert cached.status_code == 304 and cached.data == b""
    assert cached.headers["ETag"] == etag

    reschedule(booking, at("2027-03-02 01:00"), at("2027-03-02 05:00"), at("2027-02-01 00:00"))
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert b"20270302T090000" in changed.data


def test_etag_differs_by_language_and_link(client, team) -> None:
    make_booking(team.project, team.reactor, at("2027-03-01 01:00"), at("2027-03-01 05:00"))
    english = client.get(issue(team.member, "project", team.project.id, locale="en"))
    chinese = client.get(issue(team.member, "project", team.project.id, locale="zh"))

    assert english.headers["ETag"] != chinese.headers["ETag"]


def test_if_modified_since_is_honoured_without_if_none_match(client, team) -> None:
    make_booking(team.project, team.reactor, at("2027-03-01 01:00"), at("2027-03-01 05:00"))
    url = issue(team.member, "project", team.project.id)
    first = client.get(url)
    last_modified = first.last_modified
    assert last_modified is not None

    fresh = format_datetime(last_modified, usegmt=True)
    stale = format_datetime(last_modified - timedelta(seconds=1), usegmt=True)
    assert client.get(url, headers={"If-Modified-Since": fresh}).status_code == 304
    assert client.get(url, headers={"If-Modified-Since": stale}).status_code == 200
    # A non-matching If-None-Match wins over a fresh If-Modified-Since (RFC 9110 §13.1.3).
    both = client.get(url, headers={"If-None-Match": '"other"', "If-Modified-Since": fresh})
    assert both.status_code == 200


def test_feed_requests_are_rate_limited_per_link(database_urls, app, team) -> None:
    url = issue(team.member, "project", team.project.id)
    other = issue(team.member, "user", team.member.id)
    limited = create_app(
        _test_config(
            app.config["SQLALCHEMY_DATABASE_URI"],
            RATELIMIT_ENABLED=True,
            FEED_RATE_LIMIT="3/minute",
        )
    )
    limited.test_client_class = IsolatedClient
    client = limited.test_client()

    statuses = [client.get(url).status_code for _ in range(4)]
    other_status = client.get(other).status_code
    with limited.app_context():
        db.engine.dispose()  # close its own pool, or PostgreSQL connections leak past the test

    assert statuses == [200, 200, 200, 429]
    assert other_status == 200
