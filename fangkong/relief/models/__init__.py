"""The relief app's tables: needs and their history (requests.py), proactive care
(care.py), supply points and stock (supplies.py), the hotline (hotline.py)."""

from .care import (
    CareOutcome,
    CarePackage,
    CarePackagePlan,
    CareSchedule,
    CheckIn,
    CheckInKind,
    TreatmentPlan,
)
from .hotline import HotlineNote, HotlineStaff, HotlineTicket, Risk, StaffRole, TicketStatus
from .requests import (
    ACTIVE,
    Category,
    DispatchBatch,
    DispatchTeam,
    Escalation,
    EventKind,
    Kind,
    Proof,
    ReliefRequest,
    RequestEvent,
    Skill,
    Status,
    Submission,
    Urgency,
)
from .supplies import MovementKind, Stock, StockMovement, SupplyPoint

__all__ = [
    "ACTIVE",
    "CareOutcome",
    "CarePackage",
    "CarePackagePlan",
    "CareSchedule",
    "Category",
    "CheckIn",
    "CheckInKind",
    "DispatchBatch",
    "DispatchTeam",
    "Escalation",
    "EventKind",
    "HotlineNote",
    "HotlineStaff",
    "HotlineTicket",
    "Kind",
    "MovementKind",
    "Proof",
    "ReliefRequest",
    "RequestEvent",
    "Risk",
    "Skill",
    "StaffRole",
    "Status",
    "Stock",
    "StockMovement",
    "Submission",
    "SupplyPoint",
    "TicketStatus",
    "TreatmentPlan",
    "Urgency",
]
