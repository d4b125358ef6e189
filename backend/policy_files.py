"""Loading operations' YAML policy files into validated models, with errors a person can act on."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class PolicyFileError(Exception):
    """A policy file that is missing, is not YAML, or breaks its schema."""


# libyaml's loader where PyYAML was built with it (the wheels are), else PyYAML's own: the same
# safe subset of YAML, read about eight times faster. Every app reads the policy files and the
# texts at its start (tests make hundreds of apps); the console reads the NLU data.
_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(text: str) -> Any:
    """`yaml.safe_load`, faster."""
    return yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506  (a safe loader)


def load_policy(path: Path, model: type[M]) -> M:
    try:
        raw = read_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PolicyFileError(f"{path}: file not found") from exc
    except yaml.YAMLError as exc:
        raise PolicyFileError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return model.model_validate(raw or {})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise PolicyFileError(f"{path}: {problems}") from exc


@dataclass(frozen=True, slots=True)
class FileVersion:
    sha: str  # sha256 of the content, first 12 hex digits: matches the file in a commit
    read_at: datetime


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]


def file_versions(config_dir: Path) -> dict[str, FileVersion]:
    """Each policy file's hash as it is now; taken when a process loads its policy, it says
    which version that process runs."""
    now = datetime.now(UTC)
    return {
        path.name: FileVersion(content_hash(path.read_bytes()), now)
        for path in sorted(config_dir.glob("*.yml"))
    }
