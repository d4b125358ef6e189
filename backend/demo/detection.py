"""Whether a database holds what `python -m backend seed-demo` puts in it: the demo borrowers
(DEMO-01...), the demo history's (HIST-...), or a demo console user still active with the
password the README publishes. Production refuses to start on such a database
(backend/startup.py)."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from backend.borrowers.models import Borrower
from backend.demo.history import REF_PREFIX as HISTORY_PREFIX
from backend.demo.seed import DEMO_BORROWERS
from backend.demo.users import DEMO_PASSWORD, DEMO_USERS
from backend.staff.models import StaffUser
from backend.staff.passwords import verify_password

SHOWN = 3  # refs named in the refusal


def demo_borrower_refs(session: Session) -> list[str]:
    """Up to SHOWN refs of demo borrowers in the database."""
    refs = [b.ref for b in DEMO_BORROWERS]
    query = select(Borrower.ref).where(
        or_(Borrower.ref.in_(refs), Borrower.ref.startswith(HISTORY_PREFIX))
    )
    return list(session.scalars(query.order_by(Borrower.ref).limit(SHOWN)))


def demo_usernames(session: Session) -> list[str]:
    """Demo console users anyone who read the README could log in as. A real user who happens
    to be called `admin` has a password of their own and is not one (argon2 checks: slow, but
    only for the few demo names)."""
    names = [u[0] for u in DEMO_USERS]
    candidates = session.execute(
        select(StaffUser.username, StaffUser.password_hash)
        .where(StaffUser.username.in_(names), StaffUser.active.is_(True))
        .order_by(StaffUser.username)
    )
    return [name for name, digest in candidates if verify_password(DEMO_PASSWORD, digest)]


def demo_data_problems(session: Session) -> list[str]:
    """One line per kind of demo data found, saying what to do; empty when there is none."""
    problems = []
    if refs := demo_borrower_refs(session):
        problems.append(
            f"production refuses a database with the demo borrowers in it ({', '.join(refs)}"
            f"{', ...' if len(refs) == SHOWN else ''}): set DATABASE_URL to the production "
            "database, not one `seed-demo` filled"
        )
    if users := demo_usernames(session):
        problems.append(
            f"production refuses the demo console users with the README's password "
            f"({', '.join(users)}): deactivate them with `python -m backend deactivate-demo-users`"
        )
    return problems
