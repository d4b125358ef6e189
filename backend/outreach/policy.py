"""Operations' outreach policy: the reminder schedule (`config/outreach.yml`) and the compliance
profiles that bound it (`config/compliance.yml`), validated at start-up.

A mistake stops the process with a message naming the file and the key: a reminder schedule
that silently did something else (two steps firing on the same day, a window of 00:21 because
`21:00` was left unquoted) would reach borrowers before anyone noticed.
"""

from __future__ import annotations

import re
from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from backend.outreach.templates import TEMPLATES_FILE, Templates
from backend.policy_files import PolicyFileError, load_policy

OUTREACH_FILE = "outreach.yml"
COMPLIANCE_FILE = "compliance.yml"

TRIGGERS = ("before_due", "on_due", "overdue", "promise_due", "promise_broken", "arrangement_due")
BUTTONS = ("pay_now", "see_plans", "talk_to_person")
LANGUAGES = ("zh", "en")

# The smallest `days` each trigger allows: a reminder before a due date is at least a day
# before it (on the day is `on_due`), an overdue one at least a day late; `on_due` is always 0.
_MIN_DAYS = {
    "before_due": 1,
    "on_due": 0,
    "overdue": 1,
    "promise_due": 0,
    "promise_broken": 0,
    "arrangement_due": 0,
}
_MAX_DAYS = 366

# What a template may name, by the trigger of the step that uses it. Every variable is always
# given a value, but some are empty or meaningless for some triggers: a broken promise concerns
# no due date, only a promise falling due has a promised amount and date, and days to the due
# date are negative once it has passed. A template naming one of those would say "due on ."
_NOT_FOR: dict[str, frozenset[str]] = {
    "before_due": frozenset({"promise_amount", "promise_date"}),
    "on_due": frozenset({"promise_amount", "promise_date"}),
    "overdue": frozenset({"promise_amount", "promise_date", "days_to_due"}),
    "promise_due": frozenset(),
    "promise_broken": frozenset({"promise_amount", "promise_date", "due_date", "days_to_due"}),
    "arrangement_due": frozenset({"promise_amount", "promise_date"}),
}

_ID = re.compile(r"[a-z0-9_]+")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _identifier(value: str, what: str, longest: int) -> str:
    """Names that end up in the database and in reports: short, lower case, no spaces."""
    if not _ID.fullmatch(value):
        raise ValueError(f"{what} {value!r} may only use a-z, 0-9 and _")
    if len(value) > longest:
        raise ValueError(f"{what} {value!r} is longer than {longest} characters")
    return value


# --- the schedule ---------------------------------------------------------------------------


class Variant(_Frozen):
    """One arm of a champion/challenger test: a template and the share of borrowers who get it."""

    name: str
    template: str
    share: Decimal = Field(gt=0, le=1, description="of the step's borrowers, e.g. 0.9")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _identifier(value, "variant name", 40)

    @field_validator("template")
    @classmethod
    def _template(cls, value: str) -> str:
        return _identifier(value, "template name", 60)


CHAMPION = "champion"


class Step(_Frozen):
    """One reminder of the schedule: which loans it fires for (`trigger`, `days`), what it says
    (one template, or variants tested against each other), the buttons under it, and for how
    many days after its occasion it may still go when the rules hold it back."""

    id: str
    trigger: str
    days: int = 0
    template: str | None = None
    variants: tuple[Variant, ...] = ()
    buttons: tuple[str, ...] = ()
    valid_days: int = Field(default=1, ge=0, le=31)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        return _identifier(value, "step id", 40)

    @field_validator("template")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        return None if value is None else _identifier(value, "template name", 60)

    @field_validator("trigger")
    @classmethod
    def _trigger(cls, value: str) -> str:
        if value not in TRIGGERS:
            raise ValueError(f"unknown trigger {value!r}; expected one of {', '.join(TRIGGERS)}")
        return value

    @field_validator("buttons")
    @classmethod
    def _buttons(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [b for b in value if b not in BUTTONS]
        if unknown:
            raise ValueError(
                f"unknown button {unknown[0]!r}; expected some of {', '.join(BUTTONS)}"
            )
        if len(set(value)) != len(value):
            raise ValueError("a button is listed twice")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Step:
        where = f"step {self.id}"
        least = _MIN_DAYS[self.trigger]
        if self.trigger == "on_due" and self.days != 0:
            raise ValueError(f"{where}: on_due fires on the due date itself; leave out days")
        if not least <= self.days <= _MAX_DAYS:
            raise ValueError(
                f"{where}: days for {self.trigger} must be from {least} to {_MAX_DAYS}, "
                f"not {self.days}"
            )
        if (self.template is None) == (not self.variants):
            raise ValueError(f"{where}: give either template or variants, not both or neither")
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError(f"{where}: two variants have the same name")
        total = sum((v.share for v in self.variants), Decimal(0))
        if self.variants and total != 1:
            raise ValueError(f"{where}: the variants' shares add up to {total}, not 1")
        return self

    @property
    def all_variants(self) -> tuple[Variant, ...]:
        """The variants, or for a step with one template its single implicit champion."""
        if self.variants:
            return self.variants
        assert self.template is not None  # the validator allows nothing else
        return (Variant(name=CHAMPION, template=self.template, share=Decimal(1)),)

    @property
    def templates(self) -> frozenset[str]:
        return frozenset(v.template for v in self.all_variants)

    def variant_for(self, borrower_id: int) -> Variant:
        """The variant this borrower gets, the same on every run (see `rules.assign_variant`)."""
        from backend.outreach.rules import assign_variant

        return assign_variant(borrower_id, self)


class OutreachPolicy(_Frozen):
    """The reminder schedule (`config/outreach.yml`)."""

    steps: tuple[Step, ...]
    results_days: int = Field(
        default=3,
        ge=1,
        le=60,
        description="a reply, payment or promise this many days after a reminder counts for it",
    )

    @model_validator(mode="after")
    def _distinct(self) -> OutreachPolicy:
        ids: set[str] = set()
        when: dict[tuple[str, int], str] = {}
        for s in self.steps:
            if s.id in ids:
                raise ValueError(f"two steps have the id {s.id}")
            ids.add(s.id)
            # Two steps firing on the same occasion would send the borrower two messages.
            other = when.setdefault((s.trigger, s.days), s.id)
            if other != s.id:
                raise ValueError(
                    f"steps {other} and {s.id} both fire at {s.trigger} {s.days}: keep one, "
                    "or make them variants of one step"
                )
        return self

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(f"no outreach step {step_id!r} in {OUTREACH_FILE}")


# --- compliance -----------------------------------------------------------------------------


class ContactWindow(_Frozen):
    """The borrower-local hours proactive messages may go: from `start` (included) to `end`
    (excluded), within one day."""

    start: time
    end: time

    @field_validator("start", "end", mode="before")
    @classmethod
    def _written_as_text(cls, value: Any) -> Any:
        # YAML reads an unquoted 21:00 as the number 1260 (base 60), which would otherwise
        # pass as 1,260 seconds after midnight: 00:21.
        if isinstance(value, int | float):
            raise ValueError('write times in quotes, like "08:00"')
        return value

    @field_validator("start", "end")
    @classmethod
    def _local(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("a contact window is in the borrower's local time: leave out zones")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> ContactWindow:
        if self.start >= self.end:
            raise ValueError(
                f"the window must start before it ends ({self.start:%H:%M} to {self.end:%H:%M});"
                " windows do not run past midnight"
            )
        return self


class Profile(_Frozen):
    """A jurisdiction's limits on proactive messages."""

    window: ContactWindow = ContactWindow(start=time(8), end=time(21))
    max_per_day: int = Field(default=2, ge=1, le=50, description="per borrower-local day")
    max_per_7_days: int = Field(default=6, ge=1, le=350, description="per rolling 7 x 24 hours")
    disclosure: dict[str, str] | None = Field(
        default=None, description="a line appended to every proactive message, per language"
    )
    timezone: str | None = Field(
        default=None,
        description="used when a borrower's own time zone is missing or unknown",
    )

    @field_validator("disclosure")
    @classmethod
    def _every_language(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return None
        missing = [lang for lang in LANGUAGES if not (value.get(lang) or "").strip()]
        if missing:
            raise ValueError(f"the disclosure needs text in {' and '.join(missing)}")
        unknown = sorted(set(value) - set(LANGUAGES))
        if unknown:
            raise ValueError(f"unknown language {unknown[0]!r}; expected {', '.join(LANGUAGES)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"unknown time zone {value!r}, e.g. Asia/Shanghai") from exc
        return value


class CompliancePolicy(_Frozen):
    """Operations' compliance profiles (`config/compliance.yml`): which applies to a borrower
    (by the region of their phone number), and the words that opt a borrower out."""

    default_profile: str
    profiles: dict[str, Profile]
    jurisdictions: dict[str, str] = Field(
        default_factory=dict, description="phone region code (CN, SG, GB) -> profile name"
    )
    opt_out_words: dict[str, tuple[str, ...]]

    @field_validator("jurisdictions")
    @classmethod
    def _regions(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(r for r in value if r not in phonenumbers.SUPPORTED_REGIONS)
        if unknown:
            raise ValueError(
                f"{unknown[0]!r} is not a phone region code (two capital letters, like CN or SG)"
            )
        return value

    @field_validator("opt_out_words")
    @classmethod
    def _words(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        from backend.outreach.rules import normalise_reply

        if not any(value.values()):
            raise ValueError("list at least one opt-out word (stop, 退订)")
        for language, words in value.items():
            for word in words:
                # A word of only spaces or punctuation would match an empty message.
                if not normalise_reply(word):
                    raise ValueError(f"{language}: {word!r} has no letters or digits to match on")
        return value

    @model_validator(mode="after")
    def _profiles_exist(self) -> CompliancePolicy:
        if self.default_profile not in self.profiles:
            raise ValueError(
                f"default_profile {self.default_profile!r} is not one of the profiles "
                f"({', '.join(sorted(self.profiles)) or 'none'})"
            )
        for region, name in self.jurisdictions.items():
            if name not in self.profiles:
                raise ValueError(f"jurisdictions.{region}: no profile named {name!r}")
        return self

    def profile_name_for(self, phone_e164: str) -> str:
        """The name of the profile for this phone number's region; the default when the number
        or its region is unknown."""
        try:
            number = phonenumbers.parse(phone_e164, None)
        except phonenumbers.NumberParseException:
            return self.default_profile
        # region_code_for_number is None for numbers it cannot place (a test number, a new
        # range); the country code's main region is then the best guess (+86 -> CN).
        region = phonenumbers.region_code_for_number(number)
        if region is None:
            region = phonenumbers.region_code_for_country_code(number.country_code or 0)
        return self.jurisdictions.get(region, self.default_profile)

    def profile_for(self, phone_e164: str) -> Profile:
        return self.profiles[self.profile_name_for(phone_e164)]


# --- loading --------------------------------------------------------------------------------


def variables_not_for(trigger: str) -> frozenset[str]:
    """Template variables that have no sensible value for a step with this trigger."""
    return _NOT_FOR[trigger]


def check_templates(policy: OutreachPolicy, templates: Templates) -> list[str]:
    """Problems with the templates the schedule names: missing, or naming a variable the
    step's trigger gives no value for."""
    problems = []
    for s in policy.steps:
        for name in sorted(s.templates):
            if name not in templates.names:
                problems.append(f"step {s.id}: no template named {name!r} in {TEMPLATES_FILE}")
                continue
            unusable = sorted(templates.variables(name) & _NOT_FOR[s.trigger])
            if unusable:
                problems.append(
                    f"step {s.id}: template {name!r} uses {{{unusable[0]}}}, which "
                    f"{s.trigger} reminders have no value for"
                )
    return problems


def load_outreach(config_dir: Path, templates: Templates) -> OutreachPolicy:
    """The validated `outreach.yml`, checked against the loaded templates; raises
    `PolicyFileError` naming the file and the problem."""
    path = config_dir / OUTREACH_FILE
    policy = load_policy(path, OutreachPolicy)
    problems = check_templates(policy, templates)
    if problems:
        raise PolicyFileError(f"{path}: {'; '.join(problems)}")
    return policy


def load_compliance(config_dir: Path) -> CompliancePolicy:
    """The validated `compliance.yml`; raises `PolicyFileError` naming the file and the problem."""
    return load_policy(config_dir / COMPLIANCE_FILE, CompliancePolicy)


def disclosure_for(profile: Profile, language: str) -> str | None:
    """The profile's disclosure line in this language (Chinese when the language is unknown)."""
    if profile.disclosure is None:
        return None
    return profile.disclosure.get(language) or profile.disclosure.get("zh")
