"""One slow or large client must not stop the others: a real server on 127.0.0.1, a raw socket
that trickles a request body, and other clients' writes that must go through meanwhile; bodies
over the limit are refused with a clean 413."""

from __future__ import annotations

import http.client
import socket
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from werkzeug.serving import make_server

from app.config import MAX_REQUEST_BYTES
from tests import factories


class _SignallingInput:
    """wsgi.input that sets an event when the application first waits for body bytes."""

    def __init__(self, stream: Any, reading: threading.Event) -> None:
        self.stream = stream
        self.reading = reading

    def read(self, *args: Any) -> bytes:
        self.reading.set()
        return bytes(self.stream.read(*args))

    def readline(self, *args: Any) -> bytes:
        self.reading.set()
        return bytes(self.stream.readline(*args))


@pytest.fixture
def served(app: Flask, db: Any) -> Iterator[tuple[int, threading.Event]]:
    """Serve the app on a free port in a thread; the event tells that a body is being read."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the write lock a slow body could hold is SQLite's")
    reading = threading.Event()
    inner = app.wsgi_app

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("CONTENT_LENGTH"):
            environ["wsgi.input"] = _SignallingInput(environ["wsgi.input"], reading)
        return inner(environ, start_response)

    app.wsgi_app = wsgi  # type: ignore[method-assign]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port, reading
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        app.wsgi_app = inner  # type: ignore[method-assign]


def _write_lock_is_free(db: Any) -> bool:
    """Tell whether SQLite's write lock can be taken right now, without waiting at all."""
    probe = sqlite3.connect(db.engine.url.database, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()


def test_a_trickling_login_body_does_not_hold_the_write_lock(
    served: tuple[int, threading.Event], db: Any
) -> None:
    port, reading = served
    project = factories.make_project(name="Birch Antennas")
    factories.make_user(name="Bob", email="bob@birch.test", projects=(project,))
    db.session.commit()

    body = b"email=slow%40client.test&password=" + b"x" * 10_000
    slow = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        slow.sendall(
            b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body[:30]
        )
        assert reading.wait(timeout=30), "the server never started reading the body"

        # Another startup's login (a write: its last login time) goes through meanwhile...
        other = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            other.request(
                "POST",
                "/login",
                body=urlencode({"email": "bob@birch.test", "password": factories.PASSWORD}),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            answer = other.getresponse()
            answer_body = answer.read()
        finally:
            other.close()
        assert answer.status == 302, answer_body
        # ...because the slow request holds no lock at all while it waits for its body.
        assert _write_lock_is_free(db)

        slow.sendall(body[30:])
        reply = slow.recv(200)
        assert reply.startswith(b"HTTP/1.1 200"), reply
    finally:
        slow.close()


def test_an_oversized_api_body_is_a_413_problem(client: Any, db: Any, login: Any) -> None:
    login(factories.make_user(name="Ann", email="ann@amber.test"))
    response = client.post(
        "/api/v1/requests",
        data=b"{" + b" " * MAX_REQUEST_BYTES + b"}",
        content_type="application/json",
    )
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == 413 and problem["title"] == "Request too large", problem


def test_an_oversized_form_is_a_413_page(client: Any, db: Any) -> None:
    response = client.post(
        "/login", data={"email": "a@b.test", "password": "x" * (MAX_REQUEST_BYTES + 1)}
    )
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    assert "The request is too large; send less at once." in response.get_data(as_text=True)
