"""config/monitoring.yml: the early-warning signals, each with its threshold, in priority order."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from backend.policy_files import load_policy

MONITORING_FILE = "monitoring.yml"


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FirstPaymentMissed(_Rule):
    max_dpd: int = Field(default=30, ge=1, le=365)


class ArrangementAtRisk(_Rule):
    pass


class WithinDays(_Rule):
    days: int = Field(ge=1, le=90)


class PayingLater(_Rule):
    months: int = Field(ge=2, le=12)
    min_rise_days: int = Field(ge=1, le=180)


class ChargesJump(WithinDays):
    min_share: Decimal = Field(gt=0, le=1)


class MessagesFailing(WithinDays):
    min_failed: int = Field(ge=1, le=100)


class Unanswered(WithinDays):
    min_reminders: int = Field(ge=1, le=100)


RULES: dict[str, type[_Rule]] = {
    "first_payment_missed": FirstPaymentMissed,
    "promise_broken": WithinDays,
    "arrangement_at_risk": ArrangementAtRisk,
    "partial_payment": WithinDays,
    "paying_later": PayingLater,
    "charges_jump": ChargesJump,
    "messages_failing": MessagesFailing,
    "unanswered": Unanswered,
    "opted_out": WithinDays,
    "contact_changed": WithinDays,
}


class MonitoringPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # In the file's order: the priority.
    signals: dict[str, Any] = Field(default_factory=dict)

    @field_validator("signals", mode="before")
    @classmethod
    def _known(cls, value: Any) -> dict[str, _Rule]:
        if not isinstance(value, dict):
            raise ValueError("signals: a mapping of signal name to its settings")
        checked: dict[str, _Rule] = {}
        for code, settings in value.items():
            if code not in RULES:
                raise ValueError(f"unknown signal {code!r}; expected one of {', '.join(RULES)}")
            checked[code] = RULES[code].model_validate(settings or {})
        return checked

    def rule(self, code: str) -> Any:
        """The settings of an enabled signal, or None."""
        return self.signals.get(code)

    @property
    def order(self) -> tuple[str, ...]:
        return tuple(self.signals)

    @property
    def longest_window(self) -> int:
        """The most days any signal looks back."""
        return max((getattr(r, "days", 0) for r in self.signals.values()), default=0)


def load_monitoring_policy(config_dir: Path) -> MonitoringPolicy:
    return load_policy(config_dir / MONITORING_FILE, MonitoringPolicy)
