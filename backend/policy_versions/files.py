"""Which policy files the console edits, and the policy a set of their versions makes: the
shipped config/ directory with those files' texts in place, loaded by the very loaders that
check the files at start-up (so a version is valid exactly when the files would be)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from backend.plans.policy import PlanPolicy
from backend.policy_files import PolicyFileError, load_policy
from backend.promises.rules import PromisePolicy
from backend.promises.service import load_promise_policy

if TYPE_CHECKING:
    from backend.config import Settings
    from backend.outreach.setup import OutreachConfig

# file -> who may approve a version of it. Compliance limits protect borrowers: only an admin
# may change them (tighter or looser), never a supervisor alone.
EDITABLE: dict[str, str] = {
    "plans.yml": "approvals",
    "promises.yml": "approvals",
    "outreach.yml": "approvals",
    "outreach_templates.yml": "approvals",
    "compliance.yml": "users",  # the admin's permission
}
MAX_BYTES = 256 * 1024


@dataclass(frozen=True)
class Policies:
    """What the backend and the worker run with."""

    plans: PlanPolicy
    promises: PromisePolicy
    outreach: OutreachConfig


@dataclass(frozen=True, slots=True)
class FileProblem:
    """One problem in one file: `field` is the place in the file (`installment.terms.0`), or
    empty when the whole file is wrong (not YAML)."""

    file: str
    field: str
    message: str


@contextmanager
def effective_dir(config_dir: Path, texts: Mapping[str, str]) -> Iterator[Path]:
    """A copy of `config_dir` with each file in `texts` replaced by its text; removed after."""
    with tempfile.TemporaryDirectory(prefix="policy-") as scratch:
        target = Path(scratch)
        for path in config_dir.glob("*.yml"):
            shutil.copy(path, target / path.name)
        for name, text in texts.items():
            (target / name).write_text(text, encoding="utf-8")
        yield target


def load(config_dir: Path, texts: Mapping[str, str], settings: Settings | None) -> Policies:
    """The policy `texts` make over the shipped files; PolicyFileError when they break a rule."""
    from backend.outreach.setup import load_outreach_config  # imports the reminder rules

    with effective_dir(config_dir, texts) as folder:
        return Policies(
            plans=load_policy(folder / "plans.yml", PlanPolicy),
            promises=load_promise_policy(folder),
            outreach=load_outreach_config(folder, settings),
        )


def problems(config_dir: Path, texts: Mapping[str, str]) -> list[FileProblem]:
    """Everything wrong with the files `texts` make, each by file and field; empty when valid."""
    for name, text in texts.items():
        if len(text.encode()) > MAX_BYTES:
            return [FileProblem(name, "", f"larger than {MAX_BYTES // 1024} KB")]
    try:
        load(config_dir, texts, None)
    except PolicyFileError as exc:
        return _split(str(exc))
    return []


def _split(message: str) -> list[FileProblem]:
    """PolicyFileError's `…/name.yml: a.b: msg; c: msg` as one problem per field."""
    where, _, rest = message.partition(": ")
    name = Path(where).name
    if rest.startswith("not valid YAML") or rest.startswith("file not found"):
        return [FileProblem(name, "", rest)]
    found = []
    for part in rest.split("; "):
        field, sep, text = part.partition(": ")
        found.append(FileProblem(name, field if sep else "", text if sep else part))
    return found
