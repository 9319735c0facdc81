"""Demo data: startups, managers, brokers, trainings, a congested fortnight of requests, needs.

`flask demo load` runs `load()`; the catalogue must be synced first (`flask facilities sync`).
Everything is keyed by a natural key (email, project name, request title), so loading twice
changes nothing. Times are local to the facility and relative to the next Monday.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from app import dates
from app.accounts.models import BrokerAssignment, Project, ProjectMembership, Training, User
from app.accounts.security import hash_password
from app.billing.demo import VOUCHER_ISSUER, load_last_month
from app.booking import bookings as booking_service
from app.booking import maintenance
from app.booking import requests as request_service
from app.booking.models import BookingRequest
from app.booking.requests import StepInput
from app.catalog.models import Centre, Equipment, Facility, MaintenanceWindow
from app.errors import NotFound
from app.extensions import db
from app.vouchers.claims import prepare_demo_claim

DEMO_PASSWORD = "pilotslot-demo"
ADMIN_PASSWORD = "pilotslot-admin"
ZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class DemoProject:
    name: str
    origin: str
    description: str


@dataclass(frozen=True)
class Person:
    email: str
    name: str
    projects: tuple[str, ...] = ()
    manages: tuple[str, ...] = ()
    admin: bool = False
    trained_on: tuple[str, ...] = ()
    # Centres served as a technology broker, by slug; REGION: every centre.
    brokers: tuple[str, ...] = ()


REGION = "*"


@dataclass(frozen=True)
class DemoNeed:
    project: str
    by: str
    centre: str
    title: str
    text: str
    city: str = ""
    budget_yuan: int | None = None
    # Moves made by the centre's broker after it is written: (state, decline reason or None).
    moves: tuple[tuple[str, str | None], ...] = ()


@dataclass(frozen=True)
class DemoStep:
    hours: float
    capability: str | None = None
    units: tuple[str, ...] = ()
    attended: bool = True
    min_gap_hours: float = 0
    max_gap_hours: float | None = None


@dataclass(frozen=True)
class DemoRequest:
    project: str
    by: str
    facility: str
    title: str
    steps: tuple[DemoStep, ...]
    # (day from the first Monday, "HH:MM" local)
    release: tuple[int, str]
    deadline: tuple[int, str]
    weight: int = 1
    reason: str = ""


@dataclass(frozen=True)
class DemoBooking:
    project: str
    unit: str
    title: str
    day: int
    start: str
    hours: float


@dataclass(frozen=True)
class DemoMaintenance:
    unit: str
    start: tuple[int, str]
    end: tuple[int, str]
    reason_zh: str
    reason_en: str


@dataclass
class LoadReport:
    created: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str) -> None:
        self.created[kind] = self.created.get(kind, 0) + 1

    def __str__(self) -> str:
        if not self.created:
            return "demo data already loaded: no changes"
        return "created " + ", ".join(f"{n} {kind}" for kind, n in sorted(self.created.items()))


BIO = "Jiangbei Antibody Biologics"
GAN = "Suzhou GaN Power Devices"
ANT = "Zijin 6G Antenna Lab"
MED = "Qinhuai Cardio MedTech"
MET = "Xianlin Metabolomics"
RFE = "Purple Mountain RF Front-End"

PROJECTS = [
    DemoProject(
        BIO, "China Pharmaceutical University", "Bispecific antibodies for solid tumours."
    ),
    DemoProject(GAN, "Soochow University", "650 V GaN HEMT power switches for chargers."),
    DemoProject(ANT, "Southeast University", "Reconfigurable intelligent surfaces for 6G."),
    DemoProject(MED, "Nanjing Medical University", "A wearable ECG patch with on-device AI."),
    DemoProject(MET, "Nanjing University", "Serum metabolomics for early liver disease."),
    DemoProject(RFE, "Purple Mountain Laboratories", "Sub-THz RF front-end modules."),
]

LCMS = ("njbio-lcms-1", "njbio-lcms-2")
CHAMBERS = ("njict-anechoic-1", "njict-anechoic-2")

PEOPLE = [
    Person("admin@pilotslot.example", "Demo Administrator", admin=True),
    Person("chen.jing@njbio.example", "Chen Jing", manages=("njbio-poc", "njbio-pilot")),
    Person(
        "zhou.lei@njict.example",
        "Zhou Lei",
        manages=("njict-platform", "njict-poc", "njict-pilot"),
    ),
    Person("li.na@jbbio.example", "Li Na", projects=(BIO,), trained_on=LCMS),
    Person("wang.hao@jbbio.example", "Wang Hao", projects=(BIO,), trained_on=("njbio-cellsuite",)),
    Person("sun.yu@sgan.example", "Sun Yu", projects=(GAN,), trained_on=("njict-emc-3m",)),
    Person("zhao.min@zijin6g.example", "Zhao Min", projects=(ANT,), trained_on=CHAMBERS),
    Person("liu.yang@qhcardio.example", "Liu Yang", projects=(MED,), trained_on=LCMS),
    Person("xu.fang@xlmeta.example", "Xu Fang", projects=(MET,), trained_on=LCMS),
    Person("he.tao@pmrf.example", "He Tao", projects=(RFE,), trained_on=CHAMBERS),
    Person("wu.qian@broker.example", "Wu Qian", brokers=("suzhou-sip", "nanjing-ict")),
    Person("ma.lin@broker.example", "Ma Lin", brokers=(REGION,)),
]

NEEDS = [
    DemoNeed(
        GAN,
        "sun.yu@sgan.example",
        "suzhou-sip",
        "氮化镓功率器件的高温高压可靠性",
        "我们的氮化镓功率器件要耐高温和高电压，想先做功率器件参数测试，再做高压测试。",
        city="Suzhou",
        budget_yuan=20000,
    ),
    DemoNeed(
        BIO,
        "li.na@jbbio.example",
        "nanjing-biomed",
        "How pure is our antibody batch?",
        "We need to know how pure our monoclonal antibody batch is and which impurities it "
        "has before the animal study.",
        city="Nanjing",
        moves=(("screened", None),),
    ),
    DemoNeed(
        ANT,
        "zhao.min@zijin6g.example",
        "nanjing-ict",
        "Radiation pattern of our 6G antenna prototype",
        "Measure the radiation pattern and gain of a 6G antenna prototype in a shielded room.",
        moves=(("screened", None), ("declined", "no_free_time")),
    ),
]


def _lcms(hours: float, **kwargs: object) -> DemoStep:
    return DemoStep(hours, capability="lc-ms", **kwargs)  # type: ignore[arg-type]


def _chamber(hours: float, **kwargs: object) -> DemoStep:
    return DemoStep(hours, capability="anechoic-chamber", **kwargs)  # type: ignore[arg-type]


def _two_days(hours: float) -> tuple[DemoStep, ...]:
    """Return a two-session chamber campaign: the second session within a day of the first."""
    return (_chamber(hours), _chamber(hours, max_gap_hours=24))


LI, LIU, XU = "li.na@jbbio.example", "liu.yang@qhcardio.example", "xu.fang@xlmeta.example"
ZHAO, HE, SUN = "zhao.min@zijin6g.example", "he.tao@pmrf.example", "sun.yu@sgan.example"

# The congested fortnight: LC-MS time at the biomedical proof-of-concept centre and the two
# anechoic chambers of the ICT platform are asked for well beyond what they can give.
REQUESTS = [
    DemoRequest(
        MET, XU, "njbio-poc", "Serum cohort A, batch 1", (_lcms(8),), (0, "08:30"), (11, "17:30")
    ),
    DemoRequest(
        MET, XU, "njbio-poc", "Serum cohort A, batch 2", (_lcms(8),), (0, "08:30"), (11, "17:30")
    ),
    DemoRequest(
        BIO,
        LI,
        "njbio-poc",
        "Glycan profiling, lot JB-07",
        (_lcms(8),),
        (0, "08:30"),
        (11, "17:30"),
    ),
    DemoRequest(
        MED,
        LIU,
        "njbio-poc",
        "Extractables screen, patch adhesive",
        (_lcms(7),),
        (0, "08:30"),
        (11, "17:30"),
    ),
    DemoRequest(
        MET,
        XU,
        "njbio-poc",
        "Method transfer, bile acids",
        (_lcms(8),),
        (5, "08:30"),
        (11, "17:30"),
    ),
    DemoRequest(
        BIO, LI, "njbio-poc", "Intact mass, clone 14", (_lcms(6),), (7, "08:30"), (11, "17:30")
    ),
    DemoRequest(
        MED,
        LIU,
        "njbio-poc",
        "Leachables, sterilised housings",
        (_lcms(8),),
        (7, "08:30"),
        (11, "17:30"),
    ),
    DemoRequest(
        MET, XU, "njbio-poc", "Serum cohort A, batch 3", (_lcms(8),), (0, "08:30"), (11, "17:30")
    ),
    DemoRequest(
        BIO,
        LI,
        "njbio-poc",
        "Host-cell protein check",
        (_lcms(8),),
        (0, "08:30"),
        (4, "17:30"),
        3,
        "IND pre-submission meeting on Friday of week one.",
    ),
    DemoRequest(
        MED,
        LIU,
        "njbio-poc",
        "Degradation products ID",
        (_lcms(8, units=("njbio-lcms-2",)),),
        (0, "08:30"),
        (4, "17:30"),
        2,
        "Notified-body audit needs the report.",
    ),
    DemoRequest(
        BIO,
        LI,
        "njbio-poc",
        "Peptide map before tox batch",
        (_lcms(8),),
        (1, "08:30"),
        (3, "17:30"),
        3,
        "The tox batch is released on Thursday.",
    ),
    DemoRequest(
        MET,
        XU,
        "njbio-poc",
        "Cohort A follow-up quantitation",
        (_lcms(8),),
        (1, "08:30"),
        (4, "17:30"),
        2,
    ),
    DemoRequest(
        BIO,
        LI,
        "njbio-poc",
        "Culture and titre assay",
        (DemoStep(8, units=("njbio-cellsuite",)), _lcms(6, min_gap_hours=12, max_gap_hours=72)),
        (0, "08:30"),
        (9, "17:30"),
        2,
    ),
    DemoRequest(
        MED,
        LIU,
        "njbio-poc",
        "Purity then impurity ID",
        (DemoStep(20, capability="hplc", attended=False), _lcms(5, max_gap_hours=24)),
        (2, "08:30"),
        (9, "17:30"),
        2,
    ),
    DemoRequest(MET, XU, "njbio-poc", "Urine panel", (_lcms(8),), (5, "08:30"), (11, "17:30")),
    DemoRequest(
        BIO, LI, "njbio-poc", "Stability, one month", (_lcms(8),), (7, "08:30"), (9, "17:30"), 2
    ),
    DemoRequest(
        MED,
        LIU,
        "njbio-poc",
        "Biocompatibility extracts",
        (_lcms(8),),
        (7, "08:30"),
        (11, "17:30"),
    ),
    DemoRequest(
        MET, XU, "njbio-poc", "Serum cohort B, batch 1", (_lcms(8),), (7, "08:30"), (11, "17:30")
    ),
    DemoRequest(
        BIO,
        LI,
        "njbio-poc",
        "Charge variants, lot JB-08",
        (_lcms(7),),
        (8, "08:30"),
        (11, "17:30"),
        2,
    ),
    DemoRequest(
        MED,
        LIU,
        "njbio-poc",
        "Residual solvent confirmation",
        (_lcms(4),),
        (9, "08:30"),
        (10, "17:30"),
        2,
        "Design freeze on Thursday.",
    ),
    DemoRequest(
        ANT,
        ZHAO,
        "njict-platform",
        "RIS prototype v3 pattern scan",
        _two_days(12),
        (0, "08:00"),
        (12, "20:00"),
    ),
    DemoRequest(
        RFE,
        HE,
        "njict-platform",
        "D-band module OTA",
        (DemoStep(10, capability="mmwave-ota"),),
        (0, "08:00"),
        (12, "20:00"),
    ),
    DemoRequest(
        ANT,
        ZHAO,
        "njict-platform",
        "Beam steering sweep",
        _two_days(12),
        (0, "08:00"),
        (5, "20:00"),
        2,
        "Paper deadline: measurements due Saturday.",
    ),
    DemoRequest(
        RFE,
        HE,
        "njict-platform",
        "Phased array calibration",
        _two_days(11),
        (0, "08:00"),
        (12, "20:00"),
    ),
    DemoRequest(
        ANT,
        ZHAO,
        "njict-platform",
        "RIS v3 near-field",
        (DemoStep(12, capability="antenna-measurement"),),
        (1, "08:00"),
        (12, "20:00"),
    ),
    DemoRequest(
        RFE,
        HE,
        "njict-platform",
        "Sub-THz radiation pattern",
        _two_days(12),
        (0, "08:00"),
        (12, "20:00"),
    ),
    DemoRequest(
        ANT,
        ZHAO,
        "njict-platform",
        "Pre-compliance OTA",
        (_chamber(10),),
        (2, "08:00"),
        (5, "20:00"),
        2,
    ),
    DemoRequest(
        RFE,
        HE,
        "njict-platform",
        "Customer demo rehearsal",
        (_chamber(8),),
        (7, "08:00"),
        (9, "20:00"),
        3,
        "Customer visit on Thursday of week two.",
    ),
    DemoRequest(
        ANT,
        ZHAO,
        "njict-platform",
        "RIS v4 first light",
        _two_days(12),
        (7, "08:00"),
        (12, "20:00"),
    ),
    DemoRequest(
        RFE, HE, "njict-platform", "Module EVT OTA", _two_days(12), (7, "08:00"), (12, "20:00"), 2
    ),
    DemoRequest(
        ANT,
        ZHAO,
        "njict-platform",
        "Array element coupling",
        (_chamber(12),),
        (0, "08:00"),
        (12, "20:00"),
    ),
    DemoRequest(
        RFE, HE, "njict-platform", "Thermal drift OTA", _two_days(12), (3, "08:00"), (12, "20:00")
    ),
    DemoRequest(
        ANT,
        ZHAO,
        "njict-platform",
        "Reflectarray gain check",
        (_chamber(8),),
        (3, "08:00"),
        (4, "20:00"),
        2,
    ),
    DemoRequest(
        GAN,
        SUN,
        "njict-platform",
        "Charger radiated emissions pre-scan",
        (DemoStep(6, capability="emc-radiated-emission"),),
        (0, "08:00"),
        (12, "20:00"),
    ),
]

PUBLISHED = [
    DemoBooking(BIO, "njbio-lcms-1", "Reference standard qualification", 0, "08:30", 8),
    DemoBooking(MET, "njbio-lcms-2", "System suitability, cohort A", 0, "08:30", 4),
    DemoBooking(ANT, "njict-anechoic-1", "RIS v2 regression", 0, "08:00", 6),
    DemoBooking(GAN, "njict-emc-3m", "Charger conducted pre-scan follow-up", 1, "08:00", 4),
]

MAINTENANCE = [
    DemoMaintenance(
        "njbio-lcms-1", (2, "08:30"), (2, "17:30"), "离子源清洗", "Ion source cleaning"
    ),
    DemoMaintenance(
        "njict-anechoic-2", (8, "08:00"), (8, "20:00"), "吸波材料检查", "Absorber inspection"
    ),
]


def first_monday(today: date) -> date:
    """Return the Monday after today (a week ahead when today is a Monday)."""
    return today + timedelta(days=7 - today.weekday())


def _at(monday: date, day: int, clock: str) -> datetime:
    hour, minute = map(int, clock.split(":"))
    return datetime.combine(monday + timedelta(days=day), time(hour, minute), ZoneInfo(ZONE))


def load(today: date | None = None) -> LoadReport:
    """Create whatever demo data is missing; return what was created."""
    report = LoadReport()
    today = today or dates.today_in(ZONE)
    monday = first_monday(today)
    units = _units()
    facilities = _facilities()
    projects = {p.name: _project(p, report) for p in PROJECTS}
    people = {p.email: _person(p, projects, facilities, units, report) for p in PEOPLE}
    managers = {
        slug: u for u in people.values() for slug in (f.slug for f in u.managed_facilities)
    }
    for window in MAINTENANCE:
        _maintenance(window, monday, units, managers, report)
    for booking in PUBLISHED:
        _booking(booking, monday, units, projects, managers, report)
    # Before the requests: a no-show then owes no waitlist solve yet.
    load_last_month(
        today, ZONE, units, projects[BIO], projects[MET], managers["njbio-poc"], report
    )
    if prepare_demo_claim(today, people["admin@pilotslot.example"], VOUCHER_ISSUER):
        report.add("voucher claims")
    _spending_cap(today, projects[BIO], people, report)
    for spec in REQUESTS:
        _request(spec, monday, units, facilities, projects, people, managers, report)
    for need in NEEDS:
        _need(need, projects, people, report)
    return report


# The antibody startup's cap for this month and the next two: ample, so the demo's solves
# place its requests and the proposal page shows its budget.
DEMO_CAP_YUAN = 50_000


def _spending_cap(
    today: date, project: Project, people: dict[str, User], report: LoadReport
) -> None:
    """State the antibody startup's spending cap, once, as one of its members would."""
    from app import access
    from app.billing import caps
    from app.billing.models import SpendingCap

    if db.session.scalar(select(SpendingCap.id).where(SpendingCap.project_id == project.id)):
        return
    member = next(u for u in people.values() if access.is_member(u, project.id))
    first = today.replace(day=1)
    last = caps.month_period(caps.month_period(first)[1] + timedelta(days=40))[1]
    caps.set_cap(
        member,
        project.id,
        caps.CapInput(
            amount_yuan=str(DEMO_CAP_YUAN),
            period_start=first,
            period_end=last,
            note="演示：三个月的测试预算 / demo: three months of testing",
        ),
    )
    report.add("spending caps")


def _need(
    spec: DemoNeed, projects: dict[str, Project], people: dict[str, User], report: LoadReport
) -> None:
    """Write a need through the needs service and move it as its centre's broker would."""
    from app.needs import services as need_services
    from app.needs.models import Need

    project = projects[spec.project]
    if db.session.scalar(
        select(Need).where(Need.project_id == project.id, Need.title == spec.title)
    ):
        return
    centre = db.session.scalar(select(Centre).where(Centre.slug == spec.centre))
    if centre is None:
        raise NotFound(f"The catalogue lacks centre {spec.centre}: run `flask facilities sync`.")
    need = need_services.create_need(
        people[spec.by],
        project.id,
        need_services.NeedInput(
            title=spec.title,
            text=spec.text,
            city=spec.city,
            budget_fen=None if spec.budget_yuan is None else spec.budget_yuan * 100,
            centre_id=centre.id,
        ),
    )
    broker = next(
        u
        for u in people.values()
        if any(a.centre_id in (None, centre.id) for a in u.broker_assignments)
    )
    for state, reason in spec.moves:
        need_services.move(broker, need.id, state, reason=reason)
    report.add("needs")


def _units() -> dict[str, Equipment]:
    return {u.slug: u for u in db.session.scalars(select(Equipment))}


def _facilities() -> dict[str, Facility]:
    facilities = {f.slug: f for f in db.session.scalars(select(Facility))}
    needed = {r.facility for r in REQUESTS} | {s for p in PEOPLE for s in p.manages}
    missing = sorted(needed - set(facilities))
    if missing:
        raise NotFound(
            f"The catalogue lacks {', '.join(missing)}: run `flask facilities sync` first."
        )
    return facilities


def _project(spec: DemoProject, report: LoadReport) -> Project:
    project = db.session.scalar(select(Project).where(Project.name == spec.name))
    if project is None:
        project = Project(name=spec.name, origin=spec.origin, description=spec.description)
        db.session.add(project)
        db.session.commit()
        report.add("projects")
    return project


def _person(
    spec: Person,
    projects: dict[str, Project],
    facilities: dict[str, Facility],
    units: dict[str, Equipment],
    report: LoadReport,
) -> User:
    user = db.session.scalar(select(User).where(func.lower(User.email) == spec.email))
    if user is None:
        password = ADMIN_PASSWORD if spec.admin else DEMO_PASSWORD
        user = User(
            email=spec.email,
            name=spec.name,
            password_hash=hash_password(password),
            is_admin=spec.admin,
            locale="en",
        )
        db.session.add(user)
        db.session.flush()
        report.add("accounts")
    for name in spec.projects:
        if db.session.get(ProjectMembership, (user.id, projects[name].id)) is None:
            db.session.add(ProjectMembership(user_id=user.id, project_id=projects[name].id))
            report.add("memberships")
    for slug in spec.manages:
        if facilities[slug] not in user.managed_facilities:
            user.managed_facilities.append(facilities[slug])
            report.add("manager roles")
    for slug in spec.brokers:
        centre_id = None
        if slug != REGION:
            centre = db.session.scalar(select(Centre).where(Centre.slug == slug))
            if centre is None:
                raise NotFound(f"The catalogue lacks centre {slug}: run `flask facilities sync`.")
            centre_id = centre.id
        if not any(a.centre_id == centre_id for a in user.broker_assignments):
            user.broker_assignments.append(BrokerAssignment(centre_id=centre_id))
            report.add("broker roles")
    for slug in spec.trained_on:
        if db.session.get(Training, (user.id, units[slug].id)) is None:
            db.session.add(
                Training(user_id=user.id, equipment_id=units[slug].id, trained_on=date(2026, 9, 1))
            )
            report.add("trainings")
    db.session.commit()
    return user


def _maintenance(
    spec: DemoMaintenance,
    monday: date,
    units: dict[str, Equipment],
    managers: dict[str, User],
    report: LoadReport,
) -> None:
    unit = units[spec.unit]
    exists = db.session.scalar(
        select(MaintenanceWindow).where(
            MaintenanceWindow.equipment_id == unit.id,
            MaintenanceWindow.reason_en == spec.reason_en,
            MaintenanceWindow.source == "manual",
        )
    )
    if exists is None:
        maintenance.add_maintenance(
            managers[unit.facility.slug],
            unit.id,
            start=_at(monday, *spec.start),
            end=_at(monday, *spec.end),
            reason_zh=spec.reason_zh,
            reason_en=spec.reason_en,
        )
        report.add("maintenance windows")


def _booking(
    spec: DemoBooking,
    monday: date,
    units: dict[str, Equipment],
    projects: dict[str, Project],
    managers: dict[str, User],
    report: LoadReport,
) -> None:
    project = projects[spec.project]
    if _existing_request(project, spec.title):
        return
    unit = units[spec.unit]
    start = _at(monday, spec.day, spec.start)
    booking_service.manual_booking(
        managers[unit.facility.slug],
        project_id=project.id,
        equipment_id=unit.id,
        start=start,
        end=start + timedelta(hours=spec.hours),
        title=spec.title,
    )
    report.add("published bookings")


def _request(
    spec: DemoRequest,
    monday: date,
    units: dict[str, Equipment],
    facilities: dict[str, Facility],
    projects: dict[str, Project],
    people: dict[str, User],
    managers: dict[str, User],
    report: LoadReport,
) -> None:
    project = projects[spec.project]
    if _existing_request(project, spec.title):
        return
    facility = facilities[spec.facility]
    steps = [
        StepInput(
            duration_minutes=round(step.hours * 60),
            capability=step.capability,
            unit_ids=[units[slug].id for slug in step.units],
            facility_id=facility.id,
            attended=step.attended,
            min_lag_minutes=round(step.min_gap_hours * 60),
            max_lag_minutes=None if step.max_gap_hours is None else round(step.max_gap_hours * 60),
        )
        for step in spec.steps
    ]
    req = request_service.create_request(
        people[spec.by],
        project.id,
        title=spec.title,
        earliest_start=_at(monday, *spec.release),
        deadline=_at(monday, *spec.deadline),
        steps=steps,
        priority_reason=spec.reason,
    )
    if spec.weight != 1:
        # As in the centres: the project asks with a reason, the facility's manager weighs.
        request_service.update_request(managers[spec.facility], req.id, weight=spec.weight)
    report.add("requests")


def _existing_request(project: Project, title: str) -> bool:
    return (
        db.session.scalar(
            select(BookingRequest.id).where(
                BookingRequest.project_id == project.id, BookingRequest.title == title
            )
        )
        is not None
    )
