"""`python -m backend versions export DIR` then `import DIR`, as a lender keeping its policy and
wording in git runs them: what runs is written out; edited files come back as proposals (not
in force until approved); an unchanged or already proposed file is said so; a refused file
proposes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from backend.config import ROOT
from backend.policy_versions.models import PolicyVersion
from backend.texts.models import TextVersion


def backend(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backend", *args],
        cwd=ROOT, env={**os.environ, "DATABASE_URL": url}, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip


def test_export_edit_import(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'versions.db'}"
    assert backend(url, "migrate").returncode == 0
    out = tmp_path / "policy"
    exported = backend(url, "versions", "export", str(out))
    assert exported.returncode == 0, exported.stderr
    assert f"{out / 'plans.yml'}: version 0" in exported.stdout
    assert (out / "plans.yml").read_text() == (ROOT / "config" / "plans.yml").read_text()
    assert yaml.safe_load((out / "texts.yml").read_text()) == {
        "texts": {},
        "buttons": {},
        "notices": {},
    }

    plans = (
        (out / "plans.yml").read_text().replace("terms_months: [3, 6, 12]", "terms_months: [4, 8]")
    )
    (out / "plans.yml").write_text(plans)
    (out / "texts.yml").write_text("texts: {handoff: {en: 'A person will answer here soon.'}}\n")
    args = ("versions", "import", str(out), "--note", "from git", "--by", "olga")
    imported = backend(url, *args)
    assert imported.returncode == 0, imported.stderr
    assert "plans.yml: version 1 proposed" in imported.stdout
    assert "promises.yml: unchanged" in imported.stdout
    assert "texts.yml: version 1 proposed" in imported.stdout
    assert "plans.yml: already proposed as version 1" in backend(url, *args).stdout

    (out / "promises.yml").write_text("max_days_ahead: soon\n")
    refused = backend(url, *args)
    assert refused.returncode != 0 and "nothing imported: promises.yml" in refused.stderr

    with Session(create_engine(url)) as session:
        rows = session.execute(select(PolicyVersion.file, PolicyVersion.status)).all()
        assert rows == [("plans.yml", "proposed")]
        wording = session.scalars(select(TextVersion)).all()
        assert [(v.status, v.proposed_by) for v in wording] == [("proposed", "olga")]
