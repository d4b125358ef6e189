"""The documented demo console users, one per role (README): development only."""

from __future__ import annotations

from sqlalchemy.orm import Session

from backend.staff import service as staff

DEMO_PASSWORD = "try-the-console"  # noqa: S105  (documented; refused in production)

# username, name, role, UI language
DEMO_USERS = (
    ("collector", "Alex Chen", "collector", "en"),
    ("collector.zh", "王丽", "collector", "zh"),
    ("supervisor", "Sam Li", "supervisor", "en"),
    ("operations", "Ops Team", "operations", "en"),
    ("admin", "Admin", "admin", "en"),
)


def seed_demo_users(session: Session) -> bool:
    """The demo users, when the console has no user at all; False (nothing written) otherwise."""
    if staff.any_user(session):
        return False
    for username, name, role, language in DEMO_USERS:
        staff.create_user(
            session,
            username=username,
            display_name=name,
            role=role,
            language=language,
            password=DEMO_PASSWORD,
        )
    return True
