"""Rate limits: failed logins per address and per email, the API per caller, all workers
counting in one Redis, and a Redis outage that does not take the site down."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from flask import Flask

from app.accounts.services import create_api_token
from tests import factories
from tests.production.conftest import REDIS_URL, free_port, make_app

ROOT = Path(__file__).resolve().parents[2]


def _fail_login(client, email: str = "someone@example.org", address: str = "10.0.0.1"):  # type: ignore[no-untyped-def]
    return client.post(
        "/login",
        data={"email": email, "password": "wrong guess"},
        environ_base={"REMOTE_ADDR": address},
    )


def test_fourth_failed_login_shows_the_form_with_a_wait_and_429(limited_app: Flask) -> None:
    client = limited_app.test_client()
    for _ in range(3):
        response = _fail_login(client)
        assert response.status_code == 200
        assert "Email or password is wrong." in response.get_data(as_text=True)
    refused = _fail_login(client)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 429
    assert 'name="email"' in page and 'name="password"' in page
    assert "Too many failed logins; try again in" in page
    assert 0 < int(refused.headers["Retry-After"]) <= 60


def test_failed_logins_from_elsewhere_do_not_lock_the_owner_out(limited_app: Flask) -> None:
    owner = factories.make_user()
    client = limited_app.test_client()
    for _ in range(10):
        _fail_login(client, email=owner.email, address="10.0.1.66")
    assert _fail_login(client, email=owner.email, address="10.0.1.66").status_code == 429
    response = client.post(
        "/login",
        data={"email": owner.email, "password": factories.PASSWORD},
        environ_base={"REMOTE_ADDR": "10.0.2.1"},
    )
    assert response.status_code == 302


def test_one_account_is_limited_per_address_below_the_address_allowance(
    limited_app: Flask,
) -> None:
    client = limited_app.test_client()
    for _ in range(3):
        assert _fail_login(client, email="target@example.org").status_code == 200
    assert _fail_login(client, email="target@example.org").status_code == 429
    assert _fail_login(client, email="other@example.org").status_code == 200


def test_one_address_is_limited_across_emails(limited_app: Flask) -> None:
    client = limited_app.test_client()
    for n in range(6):
        assert _fail_login(client, email=f"guess{n}@example.org").status_code == 200
    assert _fail_login(client, email="guess9@example.org").status_code == 429
    assert _fail_login(client, email="guess9@example.org", address="10.0.0.2").status_code == 200


def test_successful_logins_do_not_use_up_the_allowance(limited_app: Flask) -> None:
    user = factories.make_user()
    client = limited_app.test_client()
    for _ in range(5):
        response = client.post(
            "/login", data={"email": user.email, "password": factories.PASSWORD}
        )
        assert response.status_code == 302
        client.post("/logout")
    assert _fail_login(client, email=user.email).status_code == 200


def test_api_over_its_allowance_answers_problem_json_with_retry_after(
    limited_app: Flask,
) -> None:
    user = factories.make_user()
    _token, secret = create_api_token(user, "script")
    _other, other_secret = create_api_token(user, "other script")
    client = limited_app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    for _ in range(5):
        assert client.get("/api/v1/me", headers=headers).status_code == 200
    refused = client.get("/api/v1/me", headers=headers)
    assert refused.status_code == 429
    assert refused.mimetype == "application/problem+json"
    body = refused.get_json()
    assert body["status"] == 429 and body["title"] == "Too many requests"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {other_secret}"}).status_code
        == 200
    )


def test_api_allowance_is_one_for_all_api_routes(limited_app: Flask) -> None:
    client = limited_app.test_client()
    for path in (
        "/api/v1/",
        "/api/v1/openapi.json",
        "/api/v1/",
        "/api/v1/openapi.json",
        "/api/v1/",
    ):
        assert client.get(path).status_code == 200
    assert client.get("/api/v1/openapi.json").status_code == 429
    assert client.get("/login").status_code == 200


def _run_worker(database_url: str, kind: str, count: int, prefix: str) -> list[int]:
    env = dict(os.environ, REDIS_URL=REDIS_URL, PILOTSLOT_RATELIMIT_PREFIX=prefix)
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.production.ratelimit_worker",
            database_url,
            kind,
            str(count),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return list(json.loads(completed.stdout.strip().splitlines()[-1]))


def test_two_worker_processes_share_login_counters_in_redis(
    database_urls: dict[str, str], redis_prefix: str
) -> None:
    first = _run_worker(database_urls["sqlite"], "login", 6, redis_prefix)
    second = _run_worker(database_urls["sqlite"], "login", 6, redis_prefix)
    assert first == [200] * 6
    assert second == [200] * 4 + [429] * 2


def test_two_worker_processes_share_api_counters_in_redis(
    database_urls: dict[str, str], redis_prefix: str
) -> None:
    first = _run_worker(database_urls["sqlite"], "api", 3, redis_prefix)
    second = _run_worker(database_urls["sqlite"], "api", 3, redis_prefix)
    assert first == [401] * 3
    assert second == [401, 401, 429]


def test_api_rate_headers_say_what_every_worker_counted_in_redis(
    database_urls: dict[str, str], redis_prefix: str
) -> None:
    # Each request writes its X-RateLimit-* headers from the count it made in Redis, not read
    # back afterwards: they still include what the other worker counted in between.
    first = _run_worker(database_urls["sqlite"], "api-remaining", 2, redis_prefix)
    second = _run_worker(database_urls["sqlite"], "api-remaining", 2, redis_prefix)
    third = _run_worker(database_urls["sqlite"], "api-remaining", 2, redis_prefix)
    assert (first, second, third) == ([4, 3], [2, 1], [0, 0])


def test_unreachable_redis_falls_back_to_counting_in_memory(database_urls: dict[str, str]) -> None:
    from app.config import ratelimit_storage_uri
    from app.extensions import db

    flask_app = make_app(
        database_urls["sqlite"],
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI=ratelimit_storage_uri(f"redis://127.0.0.1:{free_port()}/0"),
        RATELIMIT_STORAGE_OPTIONS={"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        LOGIN_RATE_LIMIT="2/minute",
    )
    with flask_app.app_context():
        client = flask_app.test_client()
        statuses = [_fail_login(client).status_code for _ in range(3)]
        db.session.remove()
        db.engine.dispose()
    assert statuses == [200, 200, 429]
