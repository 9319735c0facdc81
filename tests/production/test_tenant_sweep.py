"""Every route of the app, called by a startup member from outside and by the manager of
another facility, with the path filled with a victim's objects: nothing of the victim is shown,
nothing of it changes, and nothing fails with a 500."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.routing import Rule

from app.accounts.models import ApiToken, BrokerAssignment, ProjectMembership, User
from app.billing.models import Charge, RateCard, SpendingCap, Statement
from app.billing.services import RATE_FIELDS
from app.booking.models import AuditEvent, Booking, BookingRequest, Proposal, SolveRun
from app.calendars.models import FeedToken
from app.catalog.models import Facility, MaintenanceWindow
from app.extensions import db
from app.needs.models import CampaignDraft, Need
from app.notifications.models import Notification
from app.usage.models import Usage
from app.vouchers.models import Claim, Voucher, VoucherDraw
from tests import factories
from tests.production.world import MARKERS, World, build_world

ALLOWED = {200, 201, 204, 302, 400, 401, 403, 404, 405, 422}

# Every endpoint, and why an outsider may or may not reach it. A route missing here fails the
# sweep: decide what it exposes, then add it.
ENDPOINTS: dict[str, str] = {
    "static": "public files",
    "web.index": "redirect",
    "web.health": "public",
    "set_language": "the caller's own setting",
    "accounts.login": "public",
    "accounts.logout": "the caller's own session (called last)",
    "accounts.dashboard": "the caller's own page",
    "accounts.account": "the caller's own page",
    "accounts.revoke_token": "victim's API token",
    "accounts.end_sessions": "the caller's own sessions (ends them: called last)",
    "admin.index": "administrators only",
    "admin.account_active": "administrators only",
    "admin.account_create": "administrators only",
    "admin.admin_flag": "administrators only",
    "admin.manager_remove": "administrators only",
    "admin.member_remove": "administrators only",
    "admin.manager_add": "administrators only",
    "admin.member_add": "administrators only",
    "admin.project_create": "administrators only",
    "admin.facilities_sync": "administrators only",
    "api.index": "public",
    "api.docs": "public",
    "api.openapi_document": "public",
    "api.me": "the caller",
    "catalog_api.capabilities": "public catalogue",
    "catalog_api.facilities": "public catalogue",
    "catalog_api.facility": "public catalogue",
    "catalog_api.equipment": "public catalogue",
    "catalog_api.capability_match": "public catalogue (capabilities and units, no tenant data)",
    "catalog.facility_list": "public catalogue",
    "catalog.facility_detail": "public catalogue",
    "catalog.equipment_detail": "public catalogue",
    "catalog.need_match": "public catalogue (capabilities and units, no tenant data)",
    "booking_api.audit_list": "facility managers",
    "booking_api.bookings_list": "own bookings",
    "booking_api.bookings_create": "facility managers",
    "booking_api.bookings_detail": "victim's booking",
    "booking_api.bookings_reschedule": "victim's booking",
    "booking_api.bookings_cancel": "victim's booking",
    "booking_api.bookings_pin": "victim's booking",
    "booking_api.bookings_release": "victim's booking",
    "booking_api.equipment_availability": "anonymous busy blocks",
    "booking_api.equipment_training_add": "facility managers",
    "booking_api.equipment_training_remove": "facility managers",
    "booking_api.facility_maintenance": "facility managers",
    "booking_api.facility_solve": "facility managers",
    "booking_api.proposals_detail": "victim facility's proposal",
    "booking_api.proposals_approve": "victim facility's proposal",
    "booking_api.proposals_discard": "victim facility's proposal",
    "booking_api.requests_list": "own requests",
    "booking_api.requests_create": "own projects",
    "booking_api.requests_detail": "victim's request",
    "booking_api.requests_update": "victim's request",
    "booking_api.requests_withdraw": "victim's request",
    "booking_api.runs_detail": "victim facility's run",
    "booking_api.runs_cancel": "victim facility's run",
    "booking_api.runs_problem": "victim facility's run",
    "booking_api.runs_result": "victim facility's run",
    "booking.booking_detail": "victim's booking",
    "booking.booking_cancel": "victim's booking",
    "booking.booking_pin": "victim's booking",
    "booking.booking_release": "victim's booking",
    "booking.booking_reschedule": "victim's booking",
    "booking.campaign_new": "own projects",
    "booking.request_new": "own projects",
    "booking.request_list": "own requests",
    "booking.request_detail": "victim's request",
    "booking.request_edit": "victim's request",
    "booking.request_withdraw": "victim's request",
    "booking.request_weight": "victim's facility and request",
    "booking.equipment_availability": "anonymous busy blocks",
    "booking.manage_home": "own facilities",
    "booking.facility_manage": "victim's facility",
    "booking.facility_audit": "victim's facility",
    "booking.manual_booking": "victim's facility",
    "booking.maintenance_add": "victim's facility",
    "booking.facility_solve": "victim's facility",
    "booking.facility_settings": "victim's facility",
    "booking.trainings": "victim's facility",
    "booking.proposal_detail": "victim facility's proposal",
    "booking.proposal_approve": "victim facility's proposal",
    "booking.proposal_discard": "victim facility's proposal",
    "booking.run_detail": "victim facility's run",
    "booking.run_download": "victim facility's run",
    "booking.run_cancel": "victim facility's run",
    "calendars.booking_ics": "victim's booking",
    "calendars.feed": "secret link (a wrong secret is tried)",
    "calendars.feeds": "own feeds",
    "calendars.create_link": "own feeds",
    "calendars.revoke_link": "victim's feed link",
    "calendars.week": "own bookings",
    "calendars.month": "own bookings",
    "jobs.admin_jobs": "administrators only",
    "notifications.inbox": "own inbox",
    "notifications.mark_read": "victim's notification",
    "notifications.mark_all_read": "own inbox",
    "notifications.email_settings": "the caller's own settings",
    "notifications_api.notifications_list": "own inbox",
    "notifications_api.notifications_read": "victim's notification",
    "reports.index": "own facilities",
    "reports.picture": "own facilities",
    "reports.table_csv": "own facilities",
    "reports.workbook": "own facilities",
    "reports.schedule_csv": "own facilities",
    "reports_api.whole": "own facilities",
    "reports_api.one_table": "own facilities",
    "usage.check_in": "victim's booking",
    "usage.check_out": "victim's booking",
    "usage.correct": "victim's booking",
    "usage.day_sheet": "victim's facility",
    "usage.kiosk": "own bookings on the unit",
    "usage.kiosk_qr": "public (the kiosk page's address)",
    "billing.statement_list": "own statements and own facilities",
    "billing.statement_issue": "victim's facility and project",
    "billing.statement_detail": "victim's statement",
    "billing.statement_print": "victim's statement",
    "billing.statement_xlsx": "victim's statement",
    "billing.statement_note": "victim's statement",
    "billing.rate_cards": "administrators only",
    "billing.rate_card_update": "administrators only",
    "billing.customer_kind": "administrators only",
    "billing.caps": "own projects' caps and those of projects booking own facilities",
    "billing.cap_create": "own projects",
    "billing.cap_remove": "victim's cap",
    "caps_api.caps_list": "own projects' caps and those of projects booking own facilities",
    "caps_api.caps_create": "own projects",
    "caps_api.caps_remove": "victim's cap",
    "booking.facility_no_show_setting": "victim's facility",
    "vouchers.voucher_list": "own projects' vouchers",
    "vouchers.voucher_detail": "victim's voucher",
    "vouchers.voucher_new": "administrators only",
    "vouchers.voucher_create": "administrators only",
    "vouchers.voucher_update": "administrators only (victim's voucher)",
    "vouchers_api.vouchers_list": "own projects' vouchers",
    "vouchers_api.vouchers_create": "administrators only",
    "vouchers_api.vouchers_detail": "victim's voucher",
    "vouchers_api.vouchers_update": "administrators only (victim's voucher)",
    "claims.claim_list": "administrators only",
    "claims.claim_prepare": "administrators only",
    "claims.claim_detail": "administrators only",
    "claims.claim_print": "administrators only",
    "claims.claim_xlsx": "administrators only",
    "claims.claim_refresh": "administrators only",
    "claims.claim_submit": "administrators only",
    "claims.claim_paid": "administrators only",
    "claims.claim_discard": "administrators only",
    "claims_api.claims_list": "administrators only",
    "claims_api.claims_create": "administrators only",
    "claims_api.claims_detail": "administrators only",
    "claims_api.claims_refresh": "administrators only",
    "claims_api.claims_submit": "administrators only",
    "claims_api.claims_paid": "administrators only",
    "claims_api.claims_discard": "administrators only",
    "needs.need_list": "own needs",
    "needs.need_new": "own projects (brokers: the centres they serve)",
    "needs.need_detail": "victim's need",
    "needs.need_edit": "victim's need",
    "needs.need_comment": "victim's need",
    "needs.need_move": "victim's need",
    "needs.draft_create": "victim's need",
    "needs.draft_detail": "victim's need's draft",
    "needs.broker_board": "brokers: needs of the centres they serve",
    "needs.brokers": "administrators only",
    "needs.broker_remove": "administrators only",
    "needs.demand_page": "brokers and managers: counts of their centres",
    "needs.demand_picture": "brokers and managers: counts of their centres",
    "needs.demand_csv": "brokers and managers: counts of their centres",
    "needs.demand_xlsx": "brokers and managers: counts of their centres",
    "needs_api.needs_list": "own needs (brokers: of the centres they serve)",
    "needs_api.needs_create": "own projects (brokers: the centres they serve)",
    "needs_api.needs_detail": "victim's need",
    "needs_api.needs_update": "victim's need",
    "needs_api.needs_comment": "victim's need",
    "needs_api.needs_move": "victim's need",
    "needs_api.needs_suggestions": "victim's need",
    "usage_api.usage_detail": "victim's booking",
    "usage_api.usage_check_in": "victim's booking",
    "usage_api.usage_check_out": "victim's booking",
    "usage_api.usage_correct": "victim's booking",
    "usage_api.day_sheet": "victim's facility (own bookings on a unit)",
    "usage_api.no_shows": "victim's facility",
    "billing_api.charges_list": "own projects' and own facilities' charges",
    "billing_api.statements_list": "own statements and own facilities'",
    "billing_api.statements_issue": "victim's facility and project",
    "billing_api.statements_detail": "victim's statement",
    "billing_api.statements_note": "victim's statement",
    "billing_api.statement_drafts": "victim's facility",
    "billing_api.facility_rates": "public rates (like the catalogue)",
    "billing_api.equipment_rates": "public rates (like the catalogue)",
    "billing_api.equipment_rates_update": "administrators only",
    "billing_api.project_customer_kind": "administrators only",
}


def _slug(rule: Rule, world: World) -> str:
    return world.unit.slug if "/equipment/" in rule.rule else world.facility.slug


def path_values(rule: Rule, world: World) -> dict[str, Any]:
    """Fill every path parameter of a rule with the victim's object."""
    token_ids = {
        "accounts.revoke_token": world.api_token.id,
        "calendars.revoke_link": world.feed_token.id,
    }
    fills: dict[str, Any] = {
        "booking_id": world.booking.id,
        "request_id": world.pending.id,
        "proposal_id": world.proposal.id,
        "run_id": world.run.id,
        "notification_id": world.notice.id,
        "statement_id": world.statement.id,
        "voucher_id": world.voucher.id,
        "claim_id": world.claim.id,
        "equipment_id": world.unit.id,
        "user_id": world.member.id,
        "facility_id": world.facility.id,
        "project_id": world.project.id,
        "need_id": world.need.id,
        "draft_id": world.draft.id,
        "assignment_id": world.assignment.id,
        "cap_id": world.cap.id,
        "change": "grant",
        "kind": "result",
        "code": "en",
        "key": "units" if "/demand/" not in rule.rule else "capabilities",
        "name": "heatmap" if "/demand/" not in rule.rule else "capabilities",
        "filename": "pilotslot.css",
        # The digest is stored; the secret itself is the access, so a near miss is tried.
        "token": world.feed_secret[:-4] + "AAAA",
    }
    values = {}
    for argument in rule.arguments:
        if argument == "token_id":
            values[argument] = token_ids[rule.endpoint]
        elif argument == "change" and rule.endpoint == "admin.account_active":
            # Disabling the victim's account is the change an outsider must not make.
            values[argument] = "disable"
        elif argument == "slug":
            values[argument] = _slug(rule, world)
        else:
            values[argument] = fills[argument]
    return values


def json_body(world: World) -> dict[str, Any]:
    """Return one body with every field an API write may read, aimed at the victim."""
    start = world.at(2, "13:00").isoformat()
    end = world.at(2, "15:00").isoformat()
    return {
        "reason": "taken over",
        "reason_zh": "被接管",
        "reason_en": "taken over",
        "title": "Hijacked",
        "project_id": world.project.id,
        "equipment": world.unit.slug,
        "start": start,
        "end": end,
        "earliest_start": start,
        "deadline": world.at(4, "18:00").isoformat(),
        "steps": [{"duration_minutes": 60, "capability": "lc-ms"}],
        "email": "oscar@outsider.test",
        "weight": 10,
        "text": "Hijacked need",
        "body": "hijacked comment",
        "state": "declined",
        "facility": world.facility.slug,
        "month": f"{world.statement.month:%Y-%m}",
        "kind": "credit_note",
        "amount_fen": 1_000_000,
        "checked_in_at": world.at(0, "09:00").isoformat(),
        "checked_out_at": world.at(0, "10:00").isoformat(),
        "customer_kind": "external",
        **{name: 1 for name in RATE_FIELDS},
        "issuer": "Hijack bureau",
        "number": "HIJACK-1",
        "valid_from": "2020-01-01",
        "valid_until": "2099-12-31",
        "note": "hijacked",
        "period_start": world.claim.period_start.isoformat(),
        "period_end": world.claim.period_end.isoformat(),
    }


BODY_FIELDS = {
    "booking_api.bookings_cancel": {"reason"},
    "booking_api.bookings_release": {"reason"},
    "booking_api.bookings_pin": set(),
    "booking_api.bookings_reschedule": {"start", "end"},
    "booking_api.bookings_create": {"project_id", "equipment", "start", "end", "title"},
    "booking_api.requests_create": {"project_id", "title", "earliest_start", "deadline", "steps"},
    "booking_api.requests_update": {"title", "weight"},
    "booking_api.facility_maintenance": {"equipment", "start", "end", "reason_zh", "reason_en"},
    "booking_api.equipment_training_add": {"email"},
    "booking_api.equipment_training_remove": {"email"},
    "needs_api.needs_create": {"project_id", "title", "text"},
    "needs_api.needs_update": {"title", "text"},
    "needs_api.needs_comment": {"body"},
    "needs_api.needs_move": {"state"},
    "caps_api.caps_create": {"project_id", "amount_fen", "month"},
    "usage_api.usage_check_in": set(),
    "usage_api.usage_check_out": set(),
    "usage_api.usage_correct": {"checked_in_at", "checked_out_at", "reason"},
    "billing_api.statements_issue": {"facility", "project_id", "month"},
    "billing_api.statements_note": {"kind", "amount_fen", "reason"},
    "billing_api.equipment_rates_update": set(RATE_FIELDS),
    "billing_api.project_customer_kind": {"customer_kind"},
    "vouchers_api.vouchers_create": {
        "project_id",
        "issuer",
        "number",
        "amount_fen",
        "valid_from",
        "valid_until",
    },
    "vouchers_api.vouchers_update": {"valid_until", "note"},
    "claims_api.claims_create": {"issuer", "period_start", "period_end"},
}


def form_body(world: World) -> dict[str, str]:
    """Return form fields every page's form may read, aimed at the victim."""
    return {
        "reason": "taken over",
        "title": "Hijacked",
        "project_id": str(world.project.id),
        "equipment_id": str(world.unit.id),
        "facility_id": str(world.facility.id),
        "start": world.at(2, "13:00").strftime("%Y-%m-%dT%H:%M"),
        "end": world.at(2, "15:00").strftime("%Y-%m-%dT%H:%M"),
        "earliest_start": world.at(2, "09:00").strftime("%Y-%m-%dT%H:%M"),
        "deadline": world.at(4, "18:00").strftime("%Y-%m-%dT%H:%M"),
        "steps-0-capability": "lc-ms",
        "steps-0-duration_hours": "1",
        "maintenance-equipment_id": str(world.unit.id),
        "maintenance-start": world.at(2, "13:00").strftime("%Y-%m-%dT%H:%M"),
        "maintenance-end": world.at(2, "15:00").strftime("%Y-%m-%dT%H:%M"),
        "maintenance-reason_zh": "被接管",
        "maintenance-reason_en": "taken over",
        "email": "oscar@outsider.test",
        "trained_on": "2026-01-05",
        "kind": "project",
        "target_id": str(world.project.id),
        "locale": "en",
        "user_id": str(world.member.id),
        "name": "Hijacked",
        "password": "a long enough password",
        "action": "token",
        "token-name": "mine",
        "weight": "10",
        "settings-fair_share_percent": "1",
        "noshow-no_show_penalty_percent": "1",
        "amount_yuan": "1",
        "month": "2026-01",
        "amount": "1000",
        "checked_in_at": world.at(0, "09:00").strftime("%Y-%m-%dT%H:%M"),
        "checked_out_at": world.at(0, "10:00").strftime("%Y-%m-%dT%H:%M"),
        "customer_kind": "external",
        **{name: "1" for name in RATE_FIELDS},
        "state": "declined",
        "body": "hijacked comment",
        "choice": f"lc-ms:{world.unit.id}",
        "centre_id": "0",
        "text": "Hijacked need",
        "issuer": "Hijack bureau",
        "number": "HIJACK-1",
        "valid_from": "2020-01-01",
        "valid_until": "2099-12-31",
        "share_percent": "100",
        "note": "hijacked",
        "scopes_shown": "1",
        "period_start": world.claim.period_start.isoformat(),
        "period_end": world.claim.period_end.isoformat(),
        "confirmed": "yes",
    }


def snapshot(world: World) -> dict[str, Any]:
    """Return everything of the victim an outsider could change."""
    db.session.expire_all()
    booking = db.session.get(Booking, world.booking.id)
    pending = db.session.get(BookingRequest, world.pending.id)
    proposal = db.session.get(Proposal, world.proposal.id)
    run = db.session.get(SolveRun, world.run.id)
    need = db.session.get(Need, world.need.id)
    draft = db.session.get(CampaignDraft, world.draft.id)
    voucher = db.session.get(Voucher, world.voucher.id)
    assert booking and pending and proposal and run and need and draft and voucher
    count = lambda model, *where: db.session.scalar(  # noqa: E731
        select(func.count()).select_from(model).where(*where)
    )
    return {
        "booking": (booking.status, booking.start, booking.end, booking.pinned, booking.sequence),
        "request": (pending.status, pending.title, pending.priority_reason, pending.weight),
        "proposal": proposal.status,
        "run": (run.status, run.cancel_requested),
        "requests": count(BookingRequest, BookingRequest.project_id == world.project.id),
        "bookings": count(Booking, Booking.equipment_id == world.unit.id),
        "maintenance": count(MaintenanceWindow, MaintenanceWindow.equipment_id == world.unit.id),
        "api token": db.session.get(ApiToken, world.api_token.id).revoked_at,  # type: ignore[union-attr]
        "feed token": db.session.get(FeedToken, world.feed_token.id).revoked_at,  # type: ignore[union-attr]
        "members": count(ProjectMembership, ProjectMembership.project_id == world.project.id),
        "managers": sorted(
            f.id for f in db.session.get(User, world.manager.id).managed_facilities
        ),  # type: ignore[union-attr]
        "admins": count(User, User.is_admin.is_(True)),
        "victim active": db.session.get(User, world.member.id).active,  # type: ignore[union-attr]
        "notice read": db.session.get(Notification, world.notice.id).read_at,  # type: ignore[union-attr]
        "audit": count(AuditEvent, AuditEvent.facility_id == world.facility.id),
        "fair share": db.session.get(Facility, world.facility.id).fair_share_percent,  # type: ignore[union-attr]
        "no-show setting": db.session.get(Facility, world.facility.id).no_show_penalty_percent,  # type: ignore[union-attr]
        "caps": sorted(
            (c.amount_fen, c.period_start, c.period_end)
            for c in db.session.scalars(
                select(SpendingCap).where(SpendingCap.project_id == world.project.id)
            )
        ),
        "usage": count(Usage, Usage.booking_id == world.booking.id),
        "statements": count(Statement, Statement.project_id == world.project.id),
        "rate card": _rate_card(world),
        "charges": sorted(
            db.session.execute(
                select(Charge.id, Charge.amount_fen, Charge.statement_id, Charge.updated_at).where(
                    Charge.project_id == world.project.id
                )
            ).all()
        ),
        "usage rows": sorted(
            db.session.execute(
                select(Usage.booking_id, Usage.state, Usage.checked_in_at, Usage.corrected)
                .join(Booking, Booking.id == Usage.booking_id)
                .where(Booking.equipment_id == world.unit.id)
            ).all()
        ),
        "customer kind": world.project.customer_kind,
        "need": (need.state, need.title, len(need.events), len(need.drafts), draft.request_id),
        "needs": count(Need, Need.project_id == world.project.id),
        "brokers": count(BrokerAssignment),
        "voucher": (voucher.issuer, voucher.number, voucher.amount_fen, voucher.balance_fen),
        "voucher terms": (voucher.valid_until, voucher.note, voucher.share_percent),
        "vouchers": count(Voucher),
        "claims": db.session.execute(
            select(Claim.id, Claim.state, Claim.total_fen, Claim.submitted_at)
        ).all(),
        "claimed draws": count(VoucherDraw, VoucherDraw.claim_id.is_not(None)),
    }


def _rate_card(world: World) -> tuple[int, ...] | None:
    card = db.session.get(RateCard, world.unit.id)
    return None if card is None else tuple(getattr(card, name) for name in RATE_FIELDS)


def _rules(app: Flask) -> list[Rule]:
    rules = sorted(
        app.url_map.iter_rules(),
        key=lambda r: (r.endpoint in ("accounts.end_sessions", "accounts.logout"), r.rule),
    )
    unknown = sorted({r.endpoint for r in rules} - set(ENDPOINTS))
    assert not unknown, f"the tenant sweep does not know these endpoints yet: {unknown}"
    return rules


def _call(client: FlaskClient, rule: Rule, method: str, world: World, query: str) -> Any:
    from flask import url_for

    with client.application.test_request_context():
        path = url_for(rule.endpoint, **path_values(rule, world))
    if method in ("GET", "HEAD"):
        return client.open(path + query, method=method)
    if path.startswith("/api/"):
        wanted = BODY_FIELDS.get(rule.endpoint, set())
        body = {k: v for k, v in json_body(world).items() if k in wanted}
        return client.open(
            path, method=method, data=json.dumps(body), content_type="application/json"
        )
    return client.open(path, method=method, data=form_body(world))


def _leaks(response: Any) -> list[str]:
    data = response.get_data() + response.headers.get("Location", "").encode()
    if data.startswith(b"PK"):
        # A workbook is a zip archive: look inside its compressed parts.
        with zipfile.ZipFile(io.BytesIO(response.get_data())) as archive:
            data = b"".join(archive.read(name) for name in archive.namelist())
    return [marker for marker in MARKERS if marker.encode() in data]


@pytest.mark.parametrize("attacker", ["outsider", "other_manager", "other_broker"])
def test_outsiders_reach_nothing_of_another_tenant(
    app: Flask, db: Any, attacker: str, login: Any
) -> None:
    world = build_world()
    before = snapshot(world)
    client = app.test_client()
    login(getattr(world, attacker), client)
    query = (
        f"?project={world.project.id}&facility={world.facility.slug}"
        f"&equipment={world.unit.slug}&status=pending"
    )
    problems = []
    calls = 0
    for rule in _rules(app):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for q in ("", query) if method == "GET" else ("",):
                response = _call(client, rule, method, world, q)
                calls += 1
                where = f"{method} {rule.rule}{q and ' +query'} as {attacker}"
                if response.status_code not in ALLOWED:
                    problems.append(f"{where}: {response.status_code}")
                elif leaked := _leaks(response):
                    problems.append(f"{where}: {response.status_code} shows {leaked}")
                response.close()
    assert not problems, "\n".join(problems)
    assert calls > 100
    after = snapshot(world)
    assert after == before


@pytest.mark.parametrize("attacker", ["outsider", "other_manager", "other_broker"])
def test_no_usage_charge_or_statement_of_another_tenant_is_listed(
    app: Flask, db: Any, attacker: str, login: Any
) -> None:
    """Charges and usage carry ids, not names the sweep's markers would catch: look for the
    victim's ids in every list an outsider can ask for, with the victim's own filters."""
    world = build_world()
    victim_charges = set(
        db.session.scalars(select(Charge.id).where(Charge.project_id == world.project.id))
    )
    assert victim_charges
    month = f"{world.statement.month:%Y-%m}"
    filters = ("", f"?project={world.project.id}", f"?facility={world.facility.slug}")
    client = login(getattr(world, attacker), app.test_client())
    for query in (*filters, f"?month={month}", f"?project={world.project.id}&billed=true"):
        answer = client.get(f"/api/v1/charges{query}").get_json()
        assert not {c["id"] for c in answer["charges"]} & victim_charges, query
        assert answer["total_fen"] == 0, query
    for query in (*filters, f"?month={month}"):
        listed = client.get(f"/api/v1/statements{query}").get_json()["statements"]
        assert world.statement.id not in {s["id"] for s in listed}, query
    for path in (
        f"/api/v1/bookings/{world.booking.id}/usage",
        f"/api/v1/statements/{world.statement.id}",
        f"/api/v1/facilities/{world.facility.slug}/day-sheet",
        f"/api/v1/facilities/{world.facility.slug}/no-shows",
        f"/api/v1/facilities/{world.facility.slug}/statement-drafts?month={month}",
    ):
        assert client.get(path).status_code == 404, path
    # A member sees the unit's day sheet only for their own bookings on it: none here.
    sheet = client.get(
        f"/api/v1/facilities/{world.facility.slug}/day-sheet"
        f"?equipment={world.unit.slug}&day={world.monday:%Y-%m-%d}"
    )
    assert sheet.status_code == 404 or sheet.get_json()["rows"] == []

    # The same calls show the victim its own, so finding nothing above means something.
    for owner in (world.member, world.manager):
        own = login(owner, app.test_client())
        charges = own.get(f"/api/v1/charges?month={month}").get_json()["charges"]
        assert {c["id"] for c in charges} == victim_charges
        listed = own.get("/api/v1/statements").get_json()["statements"]
        assert world.statement.id in {s["id"] for s in listed}
        assert own.get(f"/api/v1/bookings/{world.booking.id}/usage").status_code == 200


def test_sweep_would_see_the_victims_data(app: Flask, db: Any, login: Any) -> None:
    """Show the markers on the victim's own pages, so a sweep that finds none means something."""
    world = build_world()
    client = app.test_client()
    login(world.member, client)
    seen = set()
    for path in (
        f"/requests/{world.pending.id}",
        f"/api/v1/requests/{world.pending.id}",
        f"/api/v1/bookings/{world.booking.id}",
        "/account",
        "/inbox",
        "/api/v1/notifications",
        f"/statements/{world.statement.id}",
        f"/needs/{world.need.id}",
        f"/vouchers/{world.voucher.id}",
        "/vouchers",
        f"/api/v1/vouchers/{world.voucher.id}",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        seen.update(_leaks(response))
    assert {
        "Quokka Therapeutics",
        "Secret peptide route",
        "quokka-ci-token",
        "Quokka need: secret assay",
        "QUOKKA-KJQ-7",
    } <= seen
    # The claim holds them too: an outsider's 404 on it means something.
    admin = db.session.scalar(select(User).where(User.is_admin.is_(True)))
    login(admin, client)
    for path in (f"/claims/{world.claim.id}", f"/claims/{world.claim.id}.xlsx"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert {"Quokka Therapeutics", "Secret peptide route"} <= set(_leaks(response))
    assert factories.PASSWORD
