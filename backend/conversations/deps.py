"""The dependency every borrower-facing endpoint uses: the borrower bound to the conversation
in the path, never a borrower id from the caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from backend.borrowers.models import Borrower
from backend.conversations import service
from backend.conversations.models import Conversation
from backend.conversations.paths import ChannelPath
from backend.conversations.routes import UserPath
from backend.deps import SessionDep
from backend.errors import NotFound
from backend.ledger import service as ledger
from backend.ledger.models import Loan


@dataclass(frozen=True, slots=True)
class Bound:
    conversation: Conversation
    borrower: Borrower

    def loan(self, session: Session, loan_ref: str) -> Loan:
        """One of this borrower's loans; another borrower's loan is as unknown as no loan."""
        try:
            loan = ledger.get_loan(session, loan_ref)
        except NotFound:
            loan = None
        if loan is None or loan.borrower_id != self.borrower.id:
            raise NotFound(f"no loan {loan_ref!r} for this borrower")
        return loan


def bound(channel: ChannelPath, user_id: UserPath, session: SessionDep) -> Bound:
    conversation, borrower = service.bound_borrower(session, channel, user_id)
    return Bound(conversation, borrower)


BoundDep = Annotated[Bound, Depends(bound)]
