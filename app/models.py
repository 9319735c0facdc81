"""Every model, imported in one place so Alembic and the shell see the whole schema."""

from app.accounts.models import (
    ApiToken,
    BrokerAssignment,
    Project,
    ProjectMembership,
    Training,
    User,
)
from app.billing.models import Charge, RateCard, Statement, StatementLine
from app.booking.models import (
    AuditEvent,
    Booking,
    BookingRequest,
    BookingStatus,
    Proposal,
    ProposalItem,
    ProposalStatus,
    ProposalUnplaced,
    RequestStatus,
    RequestStep,
    RunStatus,
    SolveRun,
)
from app.calendars.models import FeedToken
from app.catalog.models import (
    Centre,
    Direction,
    Equipment,
    EquipmentCapability,
    EquipmentStatus,
    Facility,
    FacilityDirection,
    FacilityKind,
    MaintenanceWindow,
)
from app.dataversion import DataVersion
from app.jobs.models import JobRun, OutboxMessage, SchedulerLease
from app.needs.models import CampaignDraft, Need, NeedEvent
from app.notifications.models import EmailOptOut, Notification
from app.usage.models import Usage
from app.vouchers.models import Claim, ClaimState, Voucher, VoucherDraw, VoucherScope

__all__ = [
    "Claim",
    "ClaimState",
    "Voucher",
    "VoucherDraw",
    "VoucherScope",
    "ApiToken",
    "AuditEvent",
    "Booking",
    "BookingRequest",
    "BookingStatus",
    "BrokerAssignment",
    "CampaignDraft",
    "Centre",
    "Charge",
    "DataVersion",
    "Direction",
    "EmailOptOut",
    "Equipment",
    "EquipmentCapability",
    "EquipmentStatus",
    "Facility",
    "FacilityDirection",
    "FacilityKind",
    "FeedToken",
    "JobRun",
    "MaintenanceWindow",
    "Need",
    "NeedEvent",
    "Notification",
    "OutboxMessage",
    "Project",
    "ProjectMembership",
    "Proposal",
    "ProposalItem",
    "ProposalStatus",
    "ProposalUnplaced",
    "RateCard",
    "RequestStatus",
    "RequestStep",
    "RunStatus",
    "SchedulerLease",
    "SolveRun",
    "Statement",
    "StatementLine",
    "Training",
    "Usage",
    "User",
]
