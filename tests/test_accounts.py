"""Logging in, sessions, CSRF and personal access tokens."""

from __future__ import annotations

import re

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
