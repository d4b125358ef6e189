"""Versions of the policy files: propose (checked by the start-up loaders together with the
other files as they run), approve (four eyes; compliance by an admin), reject, roll back, and
the versions running now. Who may do what is the console's; the rules every versioned change
keeps are in version_rules.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from backend.errors import Conflict, Forbidden, Invalid, NotFound
from backend.policy_versions.files import EDITABLE, FileProblem, problems
from backend.policy_versions.models import PolicyVersion
from backend.version_rules import (
    decide,
    flush,
    need_another_decider,
    need_current_base,
    need_note,
)

SHIPPED = 0  # a file's version number as shipped in config/ (no row)


class PolicyInvalid(Invalid):
    """A version the start-up loaders refuse, each problem by file and field."""

    def __init__(self, found: list[FileProblem]) -> None:
        super().__init__(
            "; ".join(f"{p.file}: {p.field + ': ' if p.field else ''}{p.message}" for p in found),
            code="policy_invalid",
        )
        self.problems = found


def running(session: Session) -> dict[str, PolicyVersion]:
    """The active version of each file that has one (the others run as shipped)."""
    rows = session.scalars(select(PolicyVersion).where(PolicyVersion.status == "active"))
    return {row.file: row for row in rows}


def running_texts(session: Session) -> dict[str, str]:
    return {name: row.content for name, row in running(session).items()}


def running_number(session: Session, file: str) -> int:
    row = running(session).get(file)
    return row.number if row else SHIPPED


def text_of(session: Session, config_dir: Path, file: str, number: int) -> str:
    if number == SHIPPED:
        return (config_dir / file).read_text(encoding="utf-8")
    return get(session, file, number).content


def get(session: Session, file: str, number: int) -> PolicyVersion:
    row = session.scalar(
        select(PolicyVersion).where(PolicyVersion.file == file, PolicyVersion.number == number)
    )
    if row is None:
        raise NotFound(f"no version {number} of {file}")
    return row


def by_id(session: Session, version_id: int) -> PolicyVersion:
    row = session.get(PolicyVersion, version_id)
    if row is None:
        raise NotFound(f"no policy version {version_id}")
    return row


def history(session: Session) -> list[PolicyVersion]:
    return list(
        session.scalars(
            select(PolicyVersion).order_by(PolicyVersion.file, PolicyVersion.number.desc())
        )
    )


def pending(session: Session) -> list[PolicyVersion]:
    return list(
        session.scalars(
            select(PolicyVersion)
            .where(PolicyVersion.status == "proposed")
            .order_by(PolicyVersion.proposed_at, PolicyVersion.id)
        )
    )


def propose(
    session: Session, config_dir: Path, file: str, content: str, *, note: str, by: str
) -> PolicyVersion:
    if file not in EDITABLE:
        raise NotFound(f"{file} is not edited in the console")
    note = need_note(note)
    content = content.replace("\r\n", "\n")
    now = running_texts(session)
    _check(config_dir, {**now, file: content})
    if content == text_of(session, config_dir, file, running_number(session, file)):
        raise Invalid("nothing changes: this is what runs now", code="policy_unchanged")
    version = PolicyVersion(
        file=file,
        number=_next_number(session, file),
        content=content,
        status="proposed",
        note=note,
        base=running_number(session, file),
        proposed_by=by,
    )
    session.add(version)
    flush(session)
    return version


def approve(
    session: Session,
    config_dir: Path,
    version_id: int,
    *,
    by: str,
    may: Callable[[str], bool],
    note: str = "",
) -> PolicyVersion:
    """`may(permission)`: whether the approver's role opens a permission (EDITABLE says
    which one a file needs)."""
    version = _proposed(session, version_id)
    _need_permission(version.file, may)
    need_another_decider(version.proposed_by, by)
    need_current_base(version.base, running_number(session, version.file))
    # The other files may have changed since (a template this schedule names, removed).
    _check(config_dir, {**running_texts(session), version.file: version.content})
    _activate(session, version, by=by, note=note)
    return version


def reject(session: Session, version_id: int, *, by: str, note: str = "") -> PolicyVersion:
    version = _proposed(session, version_id)
    decide(version, "rejected", by=by, note=note)
    return version


def roll_back(
    session: Session,
    config_dir: Path,
    file: str,
    to: int,
    *,
    by: str,
    may: Callable[[str], bool],
    note: str,
) -> PolicyVersion:
    """Run a file's version `to` again (0: as shipped), at once, as a new version: it ran
    before, approved. Compliance still needs an admin: going back may loosen a limit."""
    if file not in EDITABLE:
        raise NotFound(f"{file} is not edited in the console")
    _need_permission(file, may)
    note = need_note(note)
    if to != SHIPPED and get(session, file, to).status not in ("active", "retired"):
        raise Invalid(f"version {to} of {file} never ran", code="never_ran")
    content = text_of(session, config_dir, file, to)
    current = running_number(session, file)
    if content == text_of(session, config_dir, file, current):
        raise Invalid("nothing changes: this is what runs now", code="policy_unchanged")
    _check(config_dir, {**running_texts(session), file: content})
    version = PolicyVersion(
        file=file,
        number=_next_number(session, file),
        content=content,
        status="proposed",
        note=note,
        base=current,
        restores=to,
        proposed_by=by,
    )
    session.add(version)
    flush(session)
    _activate(session, version, by=by, note=note)
    return version


def _need_permission(file: str, may: Callable[[str], bool]) -> None:
    if not may(EDITABLE[file]):
        raise _forbidden(file)


def _forbidden(file: str) -> Forbidden:
    who = "an admin" if EDITABLE[file] == "users" else "a supervisor or admin"
    return Forbidden(f"only {who} decides a change to {file}", code="not_your_decision")


def _check(config_dir: Path, texts: dict[str, str]) -> None:
    if found := problems(config_dir, texts):
        raise PolicyInvalid(found)


def _activate(session: Session, version: PolicyVersion, *, by: str, note: str) -> None:
    session.execute(
        update(PolicyVersion)
        .where(PolicyVersion.file == version.file, PolicyVersion.status == "active")
        .values(status="retired")
    )
    decide(version, "active", by=by, note=note)
    flush(session)


def _proposed(session: Session, version_id: int) -> PolicyVersion:
    version = by_id(session, version_id)
    if version.status != "proposed":
        raise Conflict(f"version {version.number} of {version.file} is {version.status}",
                       code="not_proposed")  # fmt: skip
    return version


def _next_number(session: Session, file: str) -> int:
    found = session.scalar(select(func.max(PolicyVersion.number)).where(PolicyVersion.file == file))
    return int(found or 0) + 1
