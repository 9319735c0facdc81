"""Pages: administrators see jobs and failures; nobody else does; reminders stay private."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from app.dbtypes import utcnow
from app.extensions import db as database
from app.jobs import lease
from app.jobs.models import JobRun
from app.jobs.scheduler import JOB_DEFAULTS, LeasedJobStore, run_guarded, sync_all
from tests.jobs.conftest import World
from tests.jobs.helpers import explode


def _store_jobs() -> None:
    store = LeasedJobStore(database.engine)
    scheduler = BackgroundScheduler(
        jobstores={"default": store}, job_defaults=JOB_DEFAULTS, timezone="UTC"
    )
    scheduler.start(paused=True)
    try:
        sync_all(scheduler)
    finally:
        store.halt()
        scheduler.shutdown(wait=False)
    database.session.commit()


def test_administrators_see_the_lease_jobs_and_failures(
    world: World, make_user: Any, client: Any, login: Any, db: Any
) -> None:
    world.facility.resolve_cron = "0 2 * * 1-5"
    db.session.commit()
    _store_jobs()
    lease.acquire("host-a:42:cafe", seconds=30)
    run_guarded("host-a:42:cafe", "deliver-outbox", utcnow() - timedelta(minutes=1), explode)
    login(make_user(is_admin=True))
    response = client.get("/admin/jobs")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "host-a:42:cafe" in page
    assert 'data-job="resolve:bio"' in page and 'data-job="fail-interrupted-runs"' in page
    assert "RuntimeError: the job exploded on purpose" in page
    assert 'data-job="deliver-outbox"' in page


def test_a_run_whose_scheduler_died_shows_as_interrupted(
    make_user: Any, client: Any, login: Any, db: Any
) -> None:
    now = utcnow()
    lease.acquire("dead:1:x", seconds=30, now=now - timedelta(minutes=5))
    # The claim of a run its scheduler never finished: it was killed, and its lease expired.
    db.session.add(JobRun(job_id="queue-reminders", scheduled_for=now, holder="dead:1:x"))
    db.session.commit()
    login(make_user(is_admin=True))
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert "interrupted" in page
    assert "the lease expired" in page


def test_only_administrators_see_the_jobs_page(world: World, client: Any, login: Any) -> None:
    assert client.get("/admin/jobs").location == "/login?next=/admin/jobs"
    for somebody in (world.manager, world.ann):
        login(somebody)
        assert client.get("/admin/jobs").status_code == 404
        client.post("/logout")


def test_the_inbox_needs_a_login_and_appears_in_the_navigation(
    world: World, client: Any, login: Any
) -> None:
    assert client.get("/inbox").location == "/login?next=/inbox"
    login(world.ann)
    page = client.get("/inbox").get_data(as_text=True)
    assert 'href="/inbox"' in page
    assert "No notifications yet." in page


def test_every_admin_page_is_linked_from_the_navigation_or_the_admin_index(
    app: Any, make_user: Any, client: Any, login: Any
) -> None:
    login(make_user(is_admin=True))
    home = client.get("/dashboard").get_data(as_text=True)
    assert 'href="/admin/"' in home
    index = client.get("/admin/").get_data(as_text=True)
    pages = {
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/admin") and "GET" in rule.methods and not rule.arguments
    }
    assert {"/admin/", "/admin/jobs"} <= pages
    for page in pages:
        assert f'href="{page}"' in index, f"{page} cannot be reached from the admin index"
        assert client.get(page).status_code == 200
