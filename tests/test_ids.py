"""Path ids larger than the database's integer columns are simply not found, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

TOO_LARGE = 2**31


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/requests/{id}"),
        ("POST", "/api/v1/bookings/{id}/cancel"),
        ("POST", "/api/v1/bookings/{id}/pin"),
        ("GET", "/bookings/{id}.ics"),
    ],
)
def test_an_id_past_the_integer_range_is_404(
    client: FlaskClient, make_user: Any, login: Any, method: str, path: str
) -> None:
    login(make_user())

    response = client.open(path.format(id=TOO_LARGE), method=method, json={})
    largest = client.open(path.format(id=TOO_LARGE - 1), method=method, json={})

    assert response.status_code == 404
    assert largest.status_code == 404
