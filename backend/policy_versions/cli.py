"""`python -m backend versions export DIR` and `versions import DIR`: the running versions as the
repository's files, and files (from git, say) as new proposed versions, for a lender who keeps
its policy and wording in version control. An import proposes; a supervisor or admin still
approves in the console, as for any change."""

from __future__ import annotations

import argparse
from pathlib import Path

from sqlalchemy.orm import Session

from backend.audit.service import Actor, audit
from backend.config import Settings
from backend.errors import DomainError
from backend.policy_files import read_yaml
from backend.policy_versions import service as policies
from backend.policy_versions.files import EDITABLE
from backend.texts import service as texts
from backend.texts.catalogue import as_yaml, load_shipped, normalised, problems

TEXTS_FILE = "texts.yml"  # the wording's overrides, as the console's Texts page exports them


def export(session: Session, settings: Settings, folder: Path) -> list[str]:
    """Each policy file as it runs, and the texts' overrides; the lines to print."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for name in EDITABLE:
        number = policies.running_number(session, name)
        (folder / name).write_text(
            policies.text_of(session, settings.config_dir, name, number), encoding="utf-8"
        )
        lines.append(f"{folder / name}: version {number}")
    now = texts.running(session)
    (folder / TEXTS_FILE).write_text(
        f"# texts version {now.number}: overrides of config/responses.yml\n"
        + as_yaml(now.overrides),
        encoding="utf-8",
    )
    lines.append(f"{folder / TEXTS_FILE}: version {now.number}")
    return lines


def import_files(
    session: Session, settings: Settings, folder: Path, *, note: str, by: str
) -> list[str]:
    """A proposed version for each file in `folder` that differs from what runs; the lines to
    print. Nothing is proposed when any file is refused (all or nothing)."""
    actor = Actor(name=f"cli:{by}", via="python -m backend versions import")
    lines = []
    for name in EDITABLE:
        path = folder / name
        if not path.exists():
            continue
        content = path.read_text(encoding="utf-8")
        number = policies.running_number(session, name)
        if content == policies.text_of(session, settings.config_dir, name, number):
            lines.append(f"{name}: unchanged")
            continue
        waiting = [v for v in policies.pending(session) if v.file == name and v.content == content]
        if waiting:
            lines.append(f"{name}: already proposed as version {waiting[0].number}")
            continue
        version = policies.propose(session, settings.config_dir, name, content, note=note, by=by)
        audit(session, actor, "create", borrower_id=None,
              subject=f"policy {name} version {version.number} proposed")  # fmt: skip
        lines.append(f"{name}: version {version.number} proposed")
    path = folder / TEXTS_FILE
    if path.exists():
        catalogue = load_shipped(settings.config_dir, settings.nlu_dir)
        overrides = read_yaml(path.read_text(encoding="utf-8")) or {}
        kept = normalised(overrides, catalogue) if not problems(overrides, catalogue) else None
        same = [v.number for v in texts.history(session)
                if v.status == "proposed" and v.overrides == kept]  # fmt: skip
        if same:
            lines.append(f"{TEXTS_FILE}: already proposed as version {same[0]}")
            return lines
        try:
            wording = texts.propose(session, catalogue, overrides, note=note, by=by)
        except DomainError as exc:
            if exc.code != "texts_unchanged":
                raise
            lines.append(f"{TEXTS_FILE}: unchanged")
        else:
            audit(session, actor, "create", borrower_id=None,
                  subject=f"texts version {wording.number} proposed: imported")  # fmt: skip
            lines.append(f"{TEXTS_FILE}: version {wording.number} proposed")
    return lines


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    versions: argparse.ArgumentParser = sub.add_parser(
        "versions", help="policy files and texts: export what runs, import files as proposals"
    )
    verbs = versions.add_subparsers(dest="versions_command", required=True)
    out = verbs.add_parser("export", help="write the running versions into DIR")
    out.add_argument("folder", type=Path, metavar="DIR")
    into = verbs.add_parser("import", help="propose the files in DIR that differ from what runs")
    into.add_argument("folder", type=Path, metavar="DIR")
    into.add_argument("--note", required=True, help="why (shown to the approver)")
    into.add_argument("--by", required=True, help="who proposes (a name for the audit log)")
    return versions
