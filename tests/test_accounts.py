"""Logging in, sessions, CSRF and personal access tokens."""

from __future__ import annotations

import re

import pytest

from app.accounts import services
from tests.factories import PASSWORD


def test_login_with_right_password_starts_a_session(client, make_user) -> None:
    user = make_user()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/api/v1/me").json["email"] == user.email


def test_login_with_wrong_password_shows_the_error_beside_the_field(client, make_user) -> None:
    user = make_user()
    response = client.post("/login", data={"email": user.email, "password": "nope"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="password-error"' in html
    assert client.get("/api/v1/me").status_code == 401


def test_api_without_credentials_is_401_problem(client) -> None:
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_an_anonymous_visitor_goes_to_the_login_page_and_back(client, make_user) -> None:
    user = make_user()
    response = client.get("/requests/new?unit=lcms-1")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/requests/new?unit%3Dlcms-1"
    login_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Log in to continue." in login_page and "Bearer" not in login_page
    back = client.post(
        response.headers["Location"], data={"email": user.email, "password": PASSWORD}
    )
    assert back.headers["Location"] == "/requests/new?unit=lcms-1"


def test_a_form_sent_after_logout_leads_to_login_and_back_to_its_page(client) -> None:
    response = client.post(
        "/requests/1/withdraw", headers={"Referer": "http://localhost/requests/1?tab=steps"}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/requests/1?tab%3Dsteps"
    elsewhere = client.post(
        "/requests/1/withdraw", headers={"Referer": "https://evil.example/requests/1"}
    )
    assert elsewhere.headers["Location"] == "/login"


def test_api_calls_still_answer_401_problem_json_not_a_redirect(client) -> None:
    for method, path in (("GET", "/api/v1/requests"), ("POST", "/api/v1/requests")):
        response = client.open(path, method=method, json={})
        assert response.status_code == 401
        assert response.mimetype == "application/problem+json"
        assert "Location" not in response.headers


def test_personal_access_token_authenticates_and_can_be_revoked(client, make_user, db) -> None:
    user = make_user()
    token, secret = services.create_api_token(user, "ci script")
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/me", headers=headers).json["id"] == user.id
    services.revoke_api_token(user, token.id)
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_only_the_token_hash_is_stored(make_user, db) -> None:
    from app.accounts.models import ApiToken

    user = make_user()
    _token, secret = services.create_api_token(user, "x")
    stored = db.session.query(ApiToken).one()
    assert secret not in stored.token_hash and len(stored.token_hash) == 64


def test_forms_refuse_a_post_without_csrf_token(csrf_app) -> None:
    from tests import factories

    user = factories.make_user()
    client = csrf_app.test_client()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302


def test_password_change_ends_other_sessions(client, make_user, login, app) -> None:
    user = make_user()
    other = app.test_client()
    login(user, other)
    services.set_password(user, "a brand new password")
    assert other.get("/api/v1/me").status_code == 401


def test_short_password_is_refused_with_the_field_named(db) -> None:
    import pytest

    from app.errors import ValidationError

    with pytest.raises(ValidationError) as caught:
        services.create_user("a@example.org", "A", "short")
    assert caught.value.field == "password"


# Sessions end everywhere -------------------------------------------------------------------


def _saved_cookie(client) -> str:  # type: ignore[no-untyped-def]
    return client.get_cookie("session").value


def _replay(app, cookie: str):  # type: ignore[no-untyped-def]
    """A fresh browser that sends a session cookie copied from another one."""
    replay = app.test_client()
    replay.set_cookie("session", cookie)
    return replay


def test_logout_refuses_a_replayed_session_cookie(client, make_user, login, app) -> None:
    login(make_user())
    saved = _saved_cookie(client)
    assert _replay(app, saved).get("/api/v1/me").status_code == 200
    client.post("/logout")
    replay = _replay(app, saved)
    assert replay.get("/api/v1/me").status_code == 401
    assert replay.get("/dashboard").headers["Location"] == "/login?next=/dashboard"


def test_logging_in_again_ends_the_browsers_previous_session(
    client, make_user, login, app
) -> None:
    user = make_user()
    login(user)
    saved = _saved_cookie(client)
    login(user)
    assert _replay(app, saved).get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me").status_code == 200


def test_logout_leaves_the_users_other_browsers_logged_in(client, make_user, login, app) -> None:
    user = make_user()
    laptop = login(user, app.test_client())
    login(user)
    client.post("/logout")
    assert laptop.get("/api/v1/me").status_code == 200


def test_log_out_everywhere_ends_every_session_of_the_account(
    client, make_user, login, app
) -> None:
    user, other_user = make_user(), make_user()
    laptop = login(user, app.test_client())
    bystander = login(other_user, app.test_client())
    login(user)
    saved = _saved_cookie(client)
    assert 'action="/account/sessions/end"' in client.get("/account").get_data(as_text=True)
    response = client.post("/account/sessions/end")
    assert response.status_code == 302 and response.location.endswith("/login")
    assert client.get("/login").get_data(as_text=True).count("You were logged out on every")
    assert laptop.get("/api/v1/me").status_code == 401
    assert _replay(app, saved).get("/api/v1/me").status_code == 401
    assert bystander.get("/api/v1/me").status_code == 200


def test_password_change_on_the_account_page_keeps_only_this_browser(
    client, make_user, login, app
) -> None:
    user = make_user()
    laptop = login(user, app.test_client())
    login(user)
    saved = _saved_cookie(client)
    response = client.post(
        "/account",
        data={
            "action": "password",
            "password-current": PASSWORD,
            "password-new": "a brand new password",
        },
    )
    assert response.status_code == 302
    assert client.get("/api/v1/me").status_code == 200
    assert laptop.get("/api/v1/me").status_code == 401
    assert _replay(app, saved).get("/api/v1/me").status_code == 401


def test_a_cookie_naming_only_a_user_id_opens_nothing(client, make_user) -> None:
    user = make_user()
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
        session["_fresh"] = True
    assert client.get("/api/v1/me").status_code == 401


def test_disabling_an_account_ends_its_sessions_and_revokes_its_tokens(
    client, make_user, login, app
) -> None:
    admin, user = make_user(is_admin=True), make_user()
    browser = login(user, app.test_client())
    _token, secret = services.create_api_token(user, "script")
    bearer = {"Authorization": f"Bearer {secret}"}
    login(admin)
    assert client.post(f"/admin/accounts/{user.id}/disable").status_code == 302
    assert browser.get("/api/v1/me").status_code == 401
    assert app.test_client().get("/api/v1/me", headers=bearer).status_code == 401
    refused = app.test_client().post("/login", data={"email": user.email, "password": PASSWORD})
    assert refused.status_code == 200
    assert client.post(f"/admin/accounts/{user.id}/enable").status_code == 302
    assert app.test_client().get("/api/v1/me", headers=bearer).status_code == 401
    login(user, app.test_client())


def test_an_administrator_cannot_disable_their_own_account(client, make_user, login) -> None:
    admin = make_user(is_admin=True)
    login(admin)
    client.post(f"/admin/accounts/{admin.id}/disable")
    assert "You cannot disable your own account." in client.get("/admin/").get_data(as_text=True)
    assert client.get("/api/v1/me").status_code == 200


def test_only_administrators_disable_accounts(client, make_user, login) -> None:
    user, victim = make_user(), make_user()
    login(user)
    assert client.post(f"/admin/accounts/{victim.id}/disable").status_code == 404
    assert victim.active


# Where a login leads -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/phish",
        "/%09/evil.example/phish",
        "/%0a/evil.example",
        "/%0d%0a/evil.example",
        "/\\evil.example",
        "/%5cevil.example",
        "\\\\evil.example",
        "/%2F/evil.example",
        "/%252F%252Fevil.example",
        "https://evil.example/",
        "https:/evil.example",
        "javascript:alert(1)",
        "%2F%2Fevil.example",
        "evil.example",
        " //evil.example",
    ],
)
def test_login_leads_only_to_a_path_on_this_site(client, make_user, target: str) -> None:
    user = make_user()
    response = client.post(
        f"/login?next={target}", data={"email": user.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard"


def test_login_follows_a_local_next_path_with_its_query(client, make_user) -> None:
    user = make_user()
    response = client.post(
        "/login?next=/requests%3Fstatus%3Dopen", data={"email": user.email, "password": PASSWORD}
    )
    assert response.headers["Location"] == "/requests?status=open"


def test_language_switch_goes_back_only_to_a_local_path(client) -> None:
    response = client.post("/lang/en", data={"next": "/\t/evil.example/phish"})
    assert response.headers["Location"] == "/"


# Bearer tokens and cookies do not mix ------------------------------------------------------


def _csrf_login(app, user):  # type: ignore[no-untyped-def]
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    return client


def test_a_fake_bearer_header_does_not_skip_csrf_for_a_cookie_session(csrf_app) -> None:
    from app.booking import requests as request_service
    from app.booking.models import BookingRequest
    from app.extensions import db
    from tests.booking.pages_world import build_world

    world = build_world()
    req = request_service.create_request(
        world.alice,
        world.project_a.id,
        title="Amber assay",
        earliest_start=world.at(0),
        deadline=world.at(4, "18:00"),
        steps=[
            request_service.StepInput(
                duration_minutes=120, capability="lc-ms", facility_id=world.facility.id
            )
        ],
    )
    client = _csrf_login(csrf_app, world.alice)
    response = client.post(f"/requests/{req.id}/withdraw", headers={"Authorization": "Bearer x"})
    assert response.status_code == 400
    assert db.session.get(BookingRequest, req.id).status != "withdrawn"


def test_a_fake_bearer_header_on_the_api_ignores_the_session_cookie(csrf_app) -> None:
    from tests import factories

    user = factories.make_user()
    client = _csrf_login(csrf_app, user)
    assert client.get("/api/v1/me").status_code == 200
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer x"}).status_code == 401
    response = client.post("/api/v1/requests", json={}, headers={"Authorization": "Bearer x"})
    assert response.status_code == 401


def test_a_valid_token_authenticates_the_api_whatever_the_cookie(client, make_user, login):
    user, other = make_user(), make_user()
    login(other)
    _token, secret = services.create_api_token(user, "script")
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.json["id"] == user.id


def test_pages_do_not_open_with_a_bearer_token(client, make_user) -> None:
    user = make_user()
    _token, secret = services.create_api_token(user, "script")
    bearer = {"Authorization": f"Bearer {secret}"}
    assert client.get("/dashboard", headers=bearer).headers["Location"].startswith("/login?")
    assert client.get("/account", headers=bearer).headers["Location"].startswith("/login?")
    assert client.get("/api/v1/me", headers=bearer).status_code == 200


# Logins take the same time known or unknown ------------------------------------------------


def _recording_verifications(monkeypatch):  # type: ignore[no-untyped-def]
    checked: list[str] = []
    real = services.verify_password

    def verify(password_hash: str, password: str) -> bool:
        checked.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(services, "verify_password", verify)
    return checked


def test_an_unknown_email_costs_a_password_check_against_a_dummy_hash(db, monkeypatch) -> None:
    from app.accounts.security import dummy_password_hash

    checked = _recording_verifications(monkeypatch)
    assert services.authenticate("nobody@example.org", PASSWORD) is None
    assert checked == [dummy_password_hash()]


def test_a_disabled_account_costs_the_same_password_check(make_user, monkeypatch) -> None:
    user = make_user(active=False)
    checked = _recording_verifications(monkeypatch)
    assert services.authenticate(user.email, PASSWORD) is None
    assert checked == [user.password_hash]


def test_the_dummy_hash_has_the_parameters_of_real_ones(db) -> None:
    from argon2 import extract_parameters

    from app.accounts.security import dummy_password_hash, hash_password

    assert extract_parameters(dummy_password_hash()) == extract_parameters(hash_password("x"))
    assert not services.authenticate("nobody@example.org", "")


def test_a_session_ends_at_its_lifetime_and_its_row_is_pruned(
    client, make_user, login, app, db
) -> None:
    """Finding: a session row lived until logout, so a copied cookie opened pages forever."""
    from datetime import timedelta

    from sqlalchemy import func, select, update

    from app.accounts.models import UserSession
    from app.dbtypes import utcnow
    from app.jobs import tasks

    user, other_user = make_user(), make_user()
    login(user)
    fresh = login(other_user, app.test_client())
    saved = _saved_cookie(client)
    lifetime = timedelta(hours=app.config["SESSION_LIFETIME_HOURS"])
    assert lifetime == timedelta(days=14)
    db.session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id)
        .values(created_at=utcnow() - lifetime - timedelta(minutes=1))
    )
    db.session.commit()
    assert _replay(app, saved).get("/api/v1/me").status_code == 401
    assert client.get("/dashboard").headers["Location"] == "/login?next=/dashboard"
    assert fresh.get("/api/v1/me").status_code == 200
    tasks.prune_sessions()
    left = db.session.scalars(select(UserSession.user_id)).all()
    assert left == [other_user.id]
    assert db.session.scalar(select(func.count()).select_from(UserSession)) == 1


@pytest.mark.parametrize("value", ["0", "-3", "abc", "1e9", "nan"])
def test_a_session_lifetime_out_of_range_is_a_configuration_error(value) -> None:
    from app.config import ConfigError, from_environment

    with pytest.raises(ConfigError, match="PILOTSLOT_SESSION_LIFETIME_HOURS"):
        from_environment({"PILOTSLOT_SESSION_LIFETIME_HOURS": value})
