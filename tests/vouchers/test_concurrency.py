"""Check-outs of one project running at once never overspend its voucher: each balance change
is one conditional UPDATE, and the database's CHECK stands behind it."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import event, func, select

from app.accounts.models import User
from app.extensions import db
from app.usage import services as usage
from app.vouchers.models import VoucherDraw
from tests.usage.conftest import MONDAY_9, Site
from tests.vouchers.conftest import balance, make_voucher

WRITERS = 4
# Each writer holds its transaction this long after lowering the balance, so the others
# surely reach their own UPDATE while the row is locked.
HOLD_SECONDS = 0.4


def test_concurrent_check_outs_never_overspend_a_voucher(app: Flask, site: Site) -> None:
    # 250.00 CNY against four hours at 150.00 each: the voucher runs out mid-way.
    voucher = make_voucher(site, amount="250")
    bookings = [site.book(MONDAY_9 + timedelta(days=i), hours=2) for i in range(WRITERS)]
    for booking in bookings:
        usage.check_in(site.manager, booking.id, now=booking.start)
    work = [(b.id, b.start) for b in bookings]
    manager_id = site.manager.id
    db.session.commit()

    matched: list[int] = []

    def after_execute(_conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE VOUCHERS"):
            matched.append(cursor.rowcount)
            if cursor.rowcount:
                time.sleep(HOLD_SECONDS)

    engine = db.engine
    event.listen(engine, "after_cursor_execute", after_execute)
    barrier = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def check_out(booking_id: int, start: Any) -> None:
        with app.app_context():
            try:
                manager = db.session.get(User, manager_id)
                assert manager is not None
                db.session.commit()
                barrier.wait(timeout=30)
                usage.check_out(manager, booking_id, now=start + timedelta(minutes=60))
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=check_out, args=item) for item in work]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        event.remove(engine, "after_cursor_execute", after_execute)

    assert errors == []
    left = balance(voucher)
    drawn = db.session.scalar(
        select(func.coalesce(func.sum(VoucherDraw.amount_fen), 0)).where(
            VoucherDraw.voucher_id == voucher.id
        )
    )
    assert left >= 0
    assert drawn == voucher.amount_fen - left
    # The writers wanted 600.00 in all: the whole 250.00 went, no fen more.
    assert left == 0 and drawn == 25_000
    if engine.dialect.name == "postgresql":
        # Real contention: some UPDATE found the balance lowered under it and tried again.
        assert 0 in matched
