"""One app instance in its own process, as a gunicorn worker would be, making limited calls.

Run as `python -m tests.production.ratelimit_worker DATABASE_URL login|api|api-remaining COUNT`;
prints the status codes (for api-remaining, the X-RateLimit-Remaining headers) as JSON.
REDIS_URL and PILOTSLOT_RATELIMIT_PREFIX come from the environment."""

from __future__ import annotations

import json
import sys

from tests.conftest import _test_config


def main(database_url: str, kind: str, count: int) -> list[int]:
    """Make `count` failed logins or unauthenticated API calls and return their statuses (or
    the API's remaining allowance each answer states)."""
    from app import create_app

    app = create_app(
        _test_config(
            database_url,
            RATELIMIT_ENABLED=True,
            LOGIN_RATE_LIMIT="10/minute",
            API_RATE_LIMIT="5/minute",
        )
    )
    client = app.test_client()
    statuses = []
    for _ in range(count):
        if kind == "login":
            response = client.post(
                "/login", data={"email": "target@example.org", "password": "wrong guess"}
            )
        else:
            response = client.get(
                "/api/v1/me", headers={"Authorization": "Bearer pst_not-a-real-token"}
            )
        if kind == "api-remaining":
            statuses.append(int(response.headers["X-RateLimit-Remaining"]))
        else:
            statuses.append(response.status_code)
    return statuses


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], int(sys.argv[3]))))
