"""The domain core stays free of I/O: no database, web or HTTP imports."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3] / "backend"
PURE = [
    "money.py",
    "config_rules.py",
    "ledger/terms.py",
    "ledger/schedule.py",
    "ledger/statement.py",
    "ledger/delinquency.py",
    "ledger/posting.py",
    "borrowers/identity.py",
    "promises/rules.py",
    "outbound/rules.py",
    "outbound/texts.py",
    "outreach/rules.py",
    "outreach/policy.py",
    "outreach/templates.py",
    "tuning/annotation.py",
    "verification/rules.py",
    "verification/notices.py",
]
FORBIDDEN = (
    "sqlalchemy",
    "fastapi",
    "starlette",
    "httpx",
    "alembic",
    "backend.db",
    "backend.config",
)


@pytest.mark.parametrize("module", PURE)
def test_pure_module_imports_no_io(module: str) -> None:
    tree = ast.parse((ROOT / module).read_text())
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert not [n for n in names if n.startswith(FORBIDDEN)]
