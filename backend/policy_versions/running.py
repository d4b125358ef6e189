"""The policy a process runs: the shipped files with the approved versions in place, followed
while the process runs, and the backend's own notices in the running texts version. Each
backend replica and the reminders worker ask the database which versions are active (small
queries every few seconds) and load the files again only when that changes, so an approved or
rolled-back version is in force everywhere within seconds with no restart. A database that
cannot be reached, or versions the loaders refuse, leave the policy that runs in force."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from backend.outbound import texts as notices
from backend.policy_files import PolicyFileError
from backend.policy_versions.files import Policies, load
from backend.policy_versions.models import PolicyVersion
from backend.texts.models import TextVersion

if TYPE_CHECKING:
    from backend.config import Settings
    from backend.outreach.setup import OutreachConfig

log = logging.getLogger(__name__)

Key = frozenset[tuple[str, int]]  # (file, version number) of each active version


class RunningPolicies:
    def __init__(
        self,
        config_dir: Path,
        settings: Settings | None,
        sessions: sessionmaker[Session],
        *,
        every: float = 2.0,
    ) -> None:
        self.config_dir = config_dir
        self.settings = settings
        self.sessions = sessions
        self.every = every
        self.policies: Policies = load(config_dir, {}, settings)  # the shipped files
        self.versions: dict[str, int] = {}  # file -> the version in force (absent: shipped)
        self.texts_version = 0  # the texts version whose notices this process says
        self._key: Key = frozenset()
        self._refused: Key | None = None
        self._checked = 0.0
        self._reachable = True
        self._lock = threading.Lock()

    def refresh(self) -> bool:
        """Load the active versions if they changed; whether the policy changed."""
        with self._lock:
            self._checked = time.monotonic()
            try:
                with self.sessions() as session:
                    rows = list(
                        session.execute(
                            select(PolicyVersion.file, PolicyVersion.number, PolicyVersion.content)
                            .where(PolicyVersion.status == "active")
                        )
                    )  # fmt: skip
            except SQLAlchemyError as exc:
                if self._reachable:
                    log.warning("policy versions: database not reachable (%s); the policy "
                                "in force stays", type(exc).__name__)  # fmt: skip
                self._reachable = False
                return False
            self._reachable = True
            self._follow_notices()
            key = frozenset((file, number) for file, number, _ in rows)
            if key in (self._key, self._refused):
                return False
            try:
                policies = load(self.config_dir, {f: text for f, _, text in rows}, self.settings)
            except PolicyFileError as exc:
                # Approval checked these files; a release that changed the rules since may not
                # take them. Keep what runs, say so once.
                log.error("policy versions not loaded, the policy in force stays: %s", exc)
                self._refused = key
                return False
            self.policies, self._key, self._refused = policies, key, None
            self.versions = {file: number for file, number, _ in rows}
            log.info("policy versions in use: %s", _describe(self.versions))
            return True

    def _follow_notices(self) -> None:
        """The backend's own notices in the texts version running (the Texts page)."""
        try:
            with self.sessions() as session:
                row = session.execute(
                    select(TextVersion.number, TextVersion.overrides)
                    .where(TextVersion.status == "active")
                ).first()  # fmt: skip
        except SQLAlchemyError:
            return
        number, overrides = row if row else (0, {})
        if number != self.texts_version:
            notices.use_running(overrides.get("notices", {}))
            self.texts_version = number

    def outreach(self) -> OutreachConfig:
        """The reminder configuration in force, checked again when the last check is older
        than `every` seconds (the worker's jobs call this as they start)."""
        if time.monotonic() - self._checked >= self.every:
            self.refresh()
        return self.policies.outreach


def _describe(versions: dict[str, int]) -> str:
    return ", ".join(f"{file} {number}" for file, number in sorted(versions.items())) or (
        "none (the shipped files)"
    )
