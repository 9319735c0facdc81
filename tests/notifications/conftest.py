"""Fixtures of the notification tests: the pages' world with a Chinese-speaking member, and a
real SMTP server (aiosmtpd) that records what it accepts or refuses it on demand."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask

from tests import factories
from tests.booking.pages_world import World, build_world


@pytest.fixture(autouse=True)
def _no_worker_processes(app: Flask) -> Iterator[None]:
    """A cancellation starts no waitlist solve in a worker; tests solve here when they need."""
    app.config["SOLVE_WORKER_PROCESS"] = False
    yield


@dataclass
class Mailbox:
    """What the SMTP server accepted, and how many more messages it should refuse (451)."""

    host: str
    port: int
    refuse: int = 0
    messages: list[EmailMessage] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.refuse:
            self.refuse -= 1
            return "451 4.3.0 Try again later"
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp(app: Flask) -> Iterator[Mailbox]:
    """Run aiosmtpd on 127.0.0.1 for the test and point SMTP_URL at it."""
    from aiosmtpd.controller import Controller

    mailbox = Mailbox("127.0.0.1", _free_port())
    controller = Controller(mailbox, hostname=mailbox.host, port=mailbox.port)
    controller.start()
    app.config["SMTP_URL"] = mailbox.url
    try:
        yield mailbox
    finally:
        controller.stop()
        app.config["SMTP_URL"] = ""


@dataclass
class Team:
    world: World
    wei: Any  # a second member of Amber Biologics, reading Chinese


@pytest.fixture
def team(app: Flask) -> Team:
    world = build_world()
    wei = factories.make_user(
        name="Zhang Wei", email="wei@amber.example", locale="zh", projects=(world.project_a,)
    )
    return Team(world, wei)
