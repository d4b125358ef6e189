"""Every table, imported once so metadata (Alembic, tests) sees them all."""

from backend.audit.models import AuditEntry
from backend.borrowers.models import Borrower
from backend.conversations.models import Conversation
from backend.db import Base
from backend.ledger.models import Installment, Loan, Payment, Product
from backend.payments.models import PaymentLink
from backend.verification.models import LinkToken, WrongPersonReport

__all__ = [
    "AuditEntry",
    "Base",
    "Borrower",
    "Conversation",
    "Installment",
    "LinkToken",
    "Loan",
    "Payment",
    "PaymentLink",
    "Product",
    "WrongPersonReport",
]
