"""Two tenants side by side: a victim facility with a startup's private data in every state,
and the accounts that try to reach it from outside."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.accounts.models import ApiToken, BrokerAssignment, Project, Training, User
from app.accounts.services import create_api_token
from app.billing import caps
from app.billing import services as billing
from app.billing.models import SpendingCap, Statement
from app.booking import bookings, runs
from app.booking.models import Booking, BookingRequest, Proposal, SolveRun
from app.booking.requests import StepInput, create_request
from app.calendars import tokens
from app.calendars.models import FeedToken
from app.catalog.models import Equipment, Facility
from app.extensions import db
from app.needs import services as need_services
from app.needs.models import CampaignDraft, Need
from app.notifications import services as notifications
from app.notifications.models import Notification
from app.usage import services as usage
from app.vouchers import claims
from app.vouchers.models import Claim, Voucher
from tests import factories

ZONE = ZoneInfo("Asia/Shanghai")
# Strings that appear only in the victim's private data; finding one in an outsider's answer
# is a leak.
MARKERS = (
    "Quokka Therapeutics",
    "Secret peptide route",
    "quokka-lab-notes",
    "Vera Victim",
    "vera@quokka.test",
    "Investor demo for quokka",
    "quokka-ci-token",
    "Quokka need: secret assay",
    "quokka-budget-note",
    "QUOKKA-KJQ-7",
)


@dataclass
class World:
    facility: Facility
    unit: Equipment
    project: Project
    member: User
    manager: User
    booking: Booking
    pending: BookingRequest
    run: SolveRun
    proposal: Proposal
    api_token: ApiToken
    feed_token: FeedToken
    feed_secret: str
    notice: Notification
    statement: Statement
    voucher: Voucher
    claim: Claim
    outsider: User
    other_manager: User
    other_facility: Facility
    other_unit: Equipment
    other_project: Project
    monday: date
    need: Need
    draft: CampaignDraft
    assignment: BrokerAssignment
    other_broker: User
    cap: SpendingCap

    def at(self, day: int, clock: str = "09:00") -> datetime:
        """Return local time `day` days after next Monday."""
        hour, minute = map(int, clock.split(":"))
        return datetime.combine(self.monday + timedelta(days=day), time(hour, minute), ZONE)


def _issued_statement(unit: Equipment, project: Project, member: User, manager: User) -> Statement:
    """Use the unit last month, checked in and out, and issue that month's statement."""
    start = datetime.now(ZONE).replace(day=1, hour=10, minute=0, second=0, microsecond=0)
    start -= timedelta(days=14)
    past = factories.make_booking(
        project, unit, start, start + timedelta(hours=2), by=member, title="Secret peptide route"
    )
    usage.check_in(manager, past.id, now=start)
    usage.check_out(manager, past.id, now=start + timedelta(minutes=100))
    return billing.issue_statement(manager, unit.facility_id, project.id, start.date())


def _draft_claim(statement: Statement, issuer: str) -> Claim:
    """Prepare the issuer's claim of the statement's month (the voucher drew at check-out)."""
    admin = factories.make_user(name="Claims Admin", is_admin=True)
    month_end = (statement.month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return claims.prepare_claim(admin, issuer, statement.month, month_end)


def build_world() -> World:
    """Create both tenants through the services, as the app would."""
    today = datetime.now(ZONE).date()
    monday = today + timedelta(days=7 - today.weekday())

    def at(day: int, clock: str = "09:00") -> datetime:
        hour, minute = map(int, clock.split(":"))
        return datetime.combine(monday + timedelta(days=day), time(hour, minute), ZONE)

    facility = factories.make_facility(slug="victim-bio", name_en="Victim Bio Centre")
    unit = factories.make_equipment(facility, slug="victim-lcms", training_required=False)
    project = factories.make_project(name="Quokka Therapeutics")
    member = factories.make_user(name="Vera Victim", email="vera@quokka.test", projects=(project,))
    manager = factories.make_user(
        name="Max Manager", email="max@victim-bio.test", manages=(facility,)
    )
    other_facility = factories.make_facility(slug="other-ict", name_en="Other ICT Lab")
    other_unit = factories.make_equipment(
        other_facility, slug="other-chamber", capabilities=("anechoic-chamber",)
    )
    other_project = factories.make_project(name="Outsider Antennas")
    outsider = factories.make_user(
        name="Oscar Outsider", email="oscar@outsider.test", projects=(other_project,)
    )
    other_manager = factories.make_user(
        name="Olga Othermanager", email="olga@other-ict.test", manages=(other_facility,)
    )
    db.session.add(
        Training(user_id=outsider.id, equipment_id=unit.id, trained_on=date(2026, 1, 5))
    )
    db.session.commit()

    booking = bookings.manual_booking(
        manager,
        project_id=project.id,
        equipment_id=unit.id,
        start=at(0, "09:00"),
        end=at(0, "11:00"),
        title="Secret peptide route",
        note="quokka-lab-notes",
    )
    pending = create_request(
        member,
        project.id,
        title="Secret peptide route",
        earliest_start=at(1),
        deadline=at(4, "18:00"),
        steps=[StepInput(duration_minutes=120, capability="lc-ms", note="quokka-lab-notes")],
        priority_reason="Investor demo for quokka",
    )
    run = runs.start_solve(manager, facility.id, time_limit=5, launch=False)
    runs.execute_run(run.id)
    db.session.expire_all()
    found_run = db.session.get(SolveRun, run.id)
    assert found_run is not None and found_run.proposal is not None, "the solve made no proposal"
    api_token, _secret = create_api_token(member, "quokka-ci-token")
    feed_token, feed_secret = tokens.issue_token(member, "project", project.id, locale="en")
    notice = notifications.add(
        member,
        kind="moved",
        subject="Booking moved: Secret peptide route",
        body="quokka-lab-notes",
        reason="quokka-lab-notes",
        booking_id=booking.id,
    )
    broker = factories.make_user(name="Bruno Broker", email="bruno@victim-bio.test")
    other_broker = factories.make_user(name="Otis Otherbroker", email="otis@other-ict.test")
    assignment = BrokerAssignment(user_id=broker.id, centre_id=facility.centre_id)
    db.session.add_all(
        [assignment, BrokerAssignment(user_id=other_broker.id, centre_id=other_facility.centre_id)]
    )
    db.session.commit()
    need = need_services.create_need(
        member,
        project.id,
        need_services.NeedInput(
            title="Quokka need: secret assay",
            text="Quokka need: secret assay of peptides by LC-MS",
            centre_id=facility.centre_id,
        ),
    )
    need_services.comment(member, need.id, "quokka-lab-notes")
    draft = need_services.create_draft(member, need.id, [("lc-ms", unit.id)])
    db.session.commit()
    voucher = Voucher(
        project_id=project.id,
        issuer="苏州工业园区科技创新局",
        number="QUOKKA-KJQ-7",
        amount_fen=100_000,
        balance_fen=100_000,
        share_percent=50,
        valid_from=today - timedelta(days=400),
        valid_until=today + timedelta(days=400),
    )
    db.session.add(voucher)
    db.session.commit()
    statement = _issued_statement(unit, project, member, manager)
    cap = caps.set_cap(
        member,
        project.id,
        caps.CapInput("98765.43", month=monday.replace(day=1), note="quokka-budget-note"),
    )
    claim = _draft_claim(statement, voucher.issuer)
    return World(
        facility=facility,
        unit=unit,
        project=project,
        member=member,
        manager=manager,
        booking=booking,
        pending=pending,
        run=found_run,
        proposal=found_run.proposal,
        api_token=api_token,
        feed_token=feed_token,
        feed_secret=feed_secret,
        notice=notice,
        statement=statement,
        voucher=voucher,
        claim=claim,
        outsider=outsider,
        other_manager=other_manager,
        other_facility=other_facility,
        other_unit=other_unit,
        other_project=other_project,
        monday=monday,
        need=need,
        draft=draft,
        assignment=assignment,
        other_broker=other_broker,
        cap=cap,
    )
