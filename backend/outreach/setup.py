"""Loading the outreach configuration (schedule, templates, WhatsApp's templates, compliance
profiles) at start-up, validated together: a step naming a missing template, or a template
naming an unknown variable, stops the process with a clear error."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from backend.outreach.first_contact import ChatLink
from backend.outreach.policy import (
    CompliancePolicy,
    OutreachPolicy,
    check_whatsapp,
    load_compliance,
    load_outreach,
)
from backend.outreach.templates import Templates, load_templates
from backend.outreach.whatsapp_templates import (
    WHATSAPP_FILE,
    WhatsAppTemplates,
    load_whatsapp_templates,
)
from backend.policy_files import PolicyFileError

if TYPE_CHECKING:
    from backend.config import Settings


@dataclass(frozen=True, slots=True)
class OutreachConfig:
    policy: OutreachPolicy
    compliance: CompliancePolicy
    templates: Templates
    whatsapp: WhatsAppTemplates
    chat_link: ChatLink = field(default_factory=ChatLink)  # the link in every SMS


def without(policy: OutreachPolicy, rule: str) -> OutreachPolicy:
    """The policy with a channel rule taken out (no gateway delivers that channel)."""
    order = tuple(r for r in policy.channels.order if r != rule) or ("recent_chat", "linked_chat")
    channels = policy.channels.model_copy(update={"order": order})
    return policy.model_copy(update={"channels": channels})


def load_outreach_config(config_dir: Path, settings: Settings | None = None) -> OutreachConfig:
    """The files in `config_dir`; with `settings`, SMS on or off and the web chat's address
    for the links in texts."""
    templates = load_templates(config_dir)
    policy = load_outreach(config_dir, templates)
    whatsapp = load_whatsapp_templates(config_dir)
    if problems := check_whatsapp(policy, whatsapp):
        raise PolicyFileError(f"{config_dir / WHATSAPP_FILE}: {'; '.join(problems)}")
    link = ChatLink()
    if settings is not None:
        link = ChatLink(
            webchat_url=settings.webchat_public_url,
            ttl=timedelta(hours=settings.link_token_ttl_hours),
        )
        # No gateway delivers there: the rule would find a channel nothing sends on.
        if not settings.sms_reminders:
            policy = without(policy, "sms")
        if not settings.whatsapp_reminders:
            policy = without(policy, "whatsapp")
    return OutreachConfig(
        policy=policy,
        compliance=load_compliance(config_dir),
        templates=templates,
        whatsapp=whatsapp,
        chat_link=link,
    )
