"""Every table, imported once so metadata (Alembic, tests) sees them all."""

from backend.borrowers.models import Borrower
from backend.db import Base
from backend.ledger.models import Installment, Loan, Payment, Product
from backend.payments.models import PaymentLink

__all__ = ["Base", "Borrower", "Installment", "Loan", "Payment", "PaymentLink", "Product"]
