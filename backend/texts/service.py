"""Versions of what the assistant says: propose, approve (four eyes), reject, roll back, and the
one running now. The rules that an override must keep are in catalogue.py; who may do what is
the console's (roles); here, that nobody approves their own change and that a version approved
against a running version that has since changed must be proposed again."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from backend.errors import Conflict, Invalid, NotFound
from backend.texts.catalogue import (
    ALL_SECTIONS,
    EXPERIMENTS,
    Catalogue,
    Overrides,
    Problem,
    changes,
    normalised,
    problems,
)
from backend.texts.models import TextVersion
from backend.version_rules import (
    decide,
    flush,
    need_another_decider,
    need_current_base,
    need_note,
)

SHIPPED = 0  # the version number of the texts as shipped (no row)
EMPTY: Overrides = {section: {} for section in ALL_SECTIONS}


class TextsInvalid(Invalid):
    """Overrides that may not run, each problem named by its field."""

    def __init__(self, found: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in found), code="texts_invalid")
        self.problems = found


@dataclass(frozen=True)
class Running:
    number: int
    overrides: Overrides = field(default_factory=lambda: EMPTY)

    @property
    def etag(self) -> str:
        return f'"texts-{self.number}"'


def running(session: Session) -> Running:
    row = session.scalar(select(TextVersion).where(TextVersion.status == "active"))
    return Running(row.number, row.overrides) if row else Running(SHIPPED, EMPTY)


def history(session: Session) -> list[TextVersion]:
    return list(session.scalars(select(TextVersion).order_by(TextVersion.number.desc())))


def get(session: Session, number: int) -> TextVersion:
    row = session.get(TextVersion, number)
    if row is None:
        raise NotFound(f"no texts version {number}")
    return row


def overrides_of(session: Session, number: int) -> Overrides:
    return EMPTY if number == SHIPPED else get(session, number).overrides


def propose(
    session: Session, catalogue: Catalogue, overrides: Any, *, note: str, by: str
) -> TextVersion:
    """A new version holding `overrides` (all of them, not only what changes), waiting for
    approval."""
    note = need_note(note)
    if found := problems(overrides, catalogue):
        raise TextsInvalid(found)
    kept = normalised(overrides, catalogue)
    now = running(session)
    if not changes(now.overrides, kept, catalogue):
        raise Invalid("nothing changes: this is what runs now", code="texts_unchanged")
    version = TextVersion(
        number=_next_number(session),
        overrides=kept,
        status="proposed",
        note=note,
        base=now.number,
        proposed_by=by,
    )
    session.add(version)
    flush(session)
    return version


def approve(
    session: Session, catalogue: Catalogue, number: int, *, by: str, note: str = ""
) -> TextVersion:
    version = _proposed(session, number)
    need_another_decider(version.proposed_by, by)
    need_current_base(version.base, running(session).number)
    # The shipped files may have changed (a release) since it was proposed.
    if found := problems(version.overrides, catalogue):
        raise TextsInvalid(found)
    _activate(session, version, by=by, note=note)
    return version


def reject(session: Session, number: int, *, by: str, note: str = "") -> TextVersion:
    version = _proposed(session, number)
    decide(version, "rejected", by=by, note=note)
    return version


def roll_back(
    session: Session, catalogue: Catalogue, to: int, *, by: str, note: str
) -> TextVersion:
    """Run again what version `to` said (0: the shipped texts), at once, as a new version. It
    needs no second approval: its every text ran before, approved."""
    note = need_note(note)
    if to != SHIPPED and get(session, to).status not in ("active", "retired"):
        raise Invalid(f"version {to} never ran", code="never_ran")
    target = normalised(overrides_of(session, to), catalogue)
    if found := problems(target, catalogue):
        raise TextsInvalid(found)
    now = running(session)
    if now.number == to or not changes(now.overrides, target, catalogue):
        raise Invalid("nothing changes: this is what runs now", code="texts_unchanged")
    version = TextVersion(
        number=_next_number(session),
        overrides=target,
        status="proposed",
        note=note,
        base=now.number,
        restores=to,
        proposed_by=by,
    )
    session.add(version)
    flush(session)
    _activate(session, version, by=by, note=note)
    return version


def _activate(session: Session, version: TextVersion, *, by: str, note: str) -> None:
    session.execute(
        update(TextVersion).where(TextVersion.status == "active").values(status="retired")
    )
    decide(version, "active", by=by, note=note)
    flush(session)


def _proposed(session: Session, number: int) -> TextVersion:
    version = get(session, number)
    if version.status != "proposed":
        raise Conflict(f"version {number} is {version.status}", code="not_proposed")
    return version


def _next_number(session: Session) -> int:
    return int(session.scalar(select(func.max(TextVersion.number))) or 0) + 1


def as_payload(now: Running) -> dict[str, Any]:
    """The running version as the action server and Rasa fetch it."""
    overrides: Mapping[str, Any] = now.overrides
    return {"version": now.number, **{s: dict(overrides.get(s, {})) for s in ALL_SECTIONS}}


def experiments_started(session: Session, running_now: Running) -> dict[str, int]:
    """For each experiment running now: the earliest version since which it has run unchanged
    (its results count from there)."""
    tried = dict(running_now.overrides.get(EXPERIMENTS, {}))
    started = dict.fromkeys(tried, running_now.number)
    ran = [v for v in history(session) if v.status in ("active", "retired")]
    for key, definition in tried.items():
        for version in ran:  # newest first
            if version.number > running_now.number:
                continue
            if version.overrides.get(EXPERIMENTS, {}).get(key) != definition:
                break
            started[key] = version.number
    return started
