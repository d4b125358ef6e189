"""Every table, imported once so metadata (Alembic, tests) sees them all."""

from backend.audit.models import AuditEntry
from backend.borrowers.models import Borrower
from backend.cases.models import Case, Handoff, Note
from backend.conversations.messages import Message
from backend.conversations.models import Conversation
from backend.db import Base
from backend.early_warning.models import LoanWarning
from backend.idempotency import KeptAnswer
from backend.ledger.models import (
    Arrangement,
    ArrangementInstallment,
    Installment,
    Loan,
    Payment,
    Product,
)
from backend.outbound.models import OutboundMessage
from backend.outreach.models import Reminder
from backend.payments.models import PaymentLink
from backend.plans.models import ApprovalRequest
from backend.policy_versions.models import PolicyVersion
from backend.portfolio.models import PortfolioSnapshot, SnapshotItem, SnapshotRun
from backend.promises.models import Promise, PromiseEscalation
from backend.risk.models import LoanScore, RiskModel
from backend.staff.models import StaffSession, StaffUser
from backend.texts.models import TextExposure, TextVersion
from backend.tuning.models import MessageLabel, ModelDeployment, TrainedModel
from backend.verification.models import (
    LinkToken,
    VerificationFailure,
    VerificationLock,
    WrongPersonReport,
)

__all__ = [
    "ApprovalRequest",
    "Arrangement",
    "ArrangementInstallment",
    "AuditEntry",
    "Base",
    "Borrower",
    "Case",
    "Conversation",
    "Handoff",
    "Installment",
    "KeptAnswer",
    "LinkToken",
    "Loan",
    "LoanScore",
    "LoanWarning",
    "Message",
    "MessageLabel",
    "ModelDeployment",
    "Note",
    "OutboundMessage",
    "Payment",
    "PaymentLink",
    "PolicyVersion",
    "PortfolioSnapshot",
    "Product",
    "Promise",
    "PromiseEscalation",
    "Reminder",
    "RiskModel",
    "SnapshotItem",
    "SnapshotRun",
    "StaffSession",
    "StaffUser",
    "TextExposure",
    "TextVersion",
    "TrainedModel",
    "VerificationFailure",
    "VerificationLock",
    "WrongPersonReport",
]
