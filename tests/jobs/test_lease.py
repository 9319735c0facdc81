"""The lease: one holder at a time, renewals, expiry, release, and a race for it."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from flask import Flask

from app.dbtypes import utcnow
from app.jobs import lease


def test_first_taker_holds_the_lease_and_others_are_refused(db: Any) -> None:
    now = utcnow()
    assert lease.acquire("a", seconds=30, now=now)
    assert not lease.acquire("b", seconds=30, now=now + timedelta(seconds=1))
    assert lease.current().holder == "a"


def test_holder_renews_and_pushes_expiry_forward(db: Any) -> None:
    now = utcnow()
    assert lease.acquire("a", seconds=30, now=now)
    assert lease.acquire("a", seconds=30, now=now + timedelta(seconds=10))
    assert lease.current().expires_at == now + timedelta(seconds=40)
    assert not lease.acquire("b", seconds=30, now=now + timedelta(seconds=35))


def test_standby_takes_an_expired_lease_and_the_old_holder_cannot_renew(db: Any) -> None:
    now = utcnow()
    assert lease.acquire("a", seconds=30, now=now)
    later = now + timedelta(seconds=31)
    assert lease.acquire("b", seconds=30, now=later)
    assert not lease.acquire("a", seconds=30, now=later + timedelta(seconds=1))
    assert lease.still_held("b", now=later)
    assert not lease.still_held("a", now=later)


def test_still_held_is_false_once_expired(db: Any) -> None:
    now = utcnow()
    lease.acquire("a", seconds=30, now=now)
    assert lease.still_held("a", now=now + timedelta(seconds=29))
    assert not lease.still_held("a", now=now + timedelta(seconds=30))


def test_release_frees_the_lease_at_once(db: Any) -> None:
    now = utcnow()
    lease.acquire("a", seconds=30, now=now)
    assert lease.release("a", now=now)
    assert not lease.release("b", now=now)
    assert lease.acquire("b", seconds=30, now=now + timedelta(seconds=1))


def test_concurrent_takers_get_exactly_one_lease(app: Flask, db: Any) -> None:
    barrier = threading.Barrier(8)
    won: list[str] = []
    errors: list[BaseException] = []

    def contend(name: str) -> None:
        with app.app_context():
            try:
                barrier.wait()
                if lease.acquire(name, seconds=30):
                    won.append(name)
            except BaseException as error:  # noqa: BLE001  (reported below)
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=contend, args=(f"p{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(won) == 1
    db.session.expire_all()
    assert lease.current().holder == won[0]
