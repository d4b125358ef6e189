"""Loading the outreach configuration (schedule, templates, compliance profiles) at start-up,
validated together: a step naming a missing template, or a template naming an unknown
variable, stops the process with a clear error."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from backend.outreach.policy import CompliancePolicy, OutreachPolicy, load_compliance, load_outreach
from backend.outreach.templates import Templates, load_templates


@dataclass(frozen=True, slots=True)
class OutreachConfig:
    policy: OutreachPolicy
    compliance: CompliancePolicy
    templates: Templates


def load_outreach_config(config_dir: Path) -> OutreachConfig:
    templates = load_templates(config_dir)
    return OutreachConfig(
        policy=load_outreach(config_dir, templates),
        compliance=load_compliance(config_dir),
        templates=templates,
    )
