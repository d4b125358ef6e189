"""Operations' outreach policy: the reminder schedule (`config/outreach.yml`) and the compliance
profiles that bound it (`config/compliance.yml`), validated at start-up.

A mistake stops the process with a message naming the file and the key: a reminder schedule
that silently did something else (two steps firing on the same day, a window of 00:21 because
`21:00` was left unquoted) would reach borrowers before anyone noticed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from backend.early_warning.policy import RULES as EARLY_WARNING_RULES
from backend.outreach import calendars
from backend.outreach.templates import SMS_ONLY, TEMPLATES_FILE, Templates
from backend.outreach.whatsapp_templates import WHATSAPP_FILE, WhatsAppTemplates
from backend.policy_files import PolicyFileError, load_policy

OUTREACH_FILE = "outreach.yml"
COMPLIANCE_FILE = "compliance.yml"

# How a reminder may reach a borrower (outreach.yml `channels.order`), see `channels.choose`.
CHANNEL_RULES = ("recent_chat", "whatsapp", "sms", "linked_chat")
PROACTIVE_CHANNELS = ("telegram", "webchat", "whatsapp", "sms")
# Where a profile without `channels` lets proactive messages go: WhatsApp only where a profile
# names it (it is how borrowers are reached in some markets, and blocked in others).
DEFAULT_CHANNELS = ("telegram", "webchat", "sms")
TRIGGERS = (
    "before_due",
    "on_due",
    "overdue",
    "promise_due",
    "promise_broken",
    "arrangement_due",
    "warning",
)
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
    "warning": 0,
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
    "warning": frozenset({"promise_amount", "promise_date", "due_date", "days_to_due"}),
}

_ID = re.compile(r"[a-z0-9_]+")
SIGNALS = tuple(EARLY_WARNING_RULES)


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
    sms_template: str | None = None  # what it says by SMS; default: `channels.sms.template`
    # The WhatsApp template (whatsapp.yml) outside the 24-hour window; default:
    # `channels.whatsapp.template`.
    whatsapp_template: str | None = None
    # For trigger `warning`: the early-warning signals (config/monitoring.yml) it answers.
    signals: tuple[str, ...] = ()

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        return _identifier(value, "step id", 40)

    @field_validator("template", "sms_template", "whatsapp_template")
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
        if (self.trigger == "warning") != bool(self.signals):
            raise ValueError(f"{where}: a warning step names its signals; only a warning step does")
        unknown = [s for s in self.signals if s not in SIGNALS]
        if unknown:
            raise ValueError(
                f"{where}: unknown signal {unknown[0]!r}; expected some of {', '.join(SIGNALS)}"
            )
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


class SmsRules(_Frozen):
    template: str = Field(default="sms_reminder", description="the SMS text of a step without one")
    max_segments: int = Field(default=3, ge=1, le=10, description="longer texts are not sent")

    @field_validator("template")
    @classmethod
    def _template(cls, value: str) -> str:
        return _identifier(value, "template name", 60)


class WhatsAppRules(_Frozen):
    template: str = Field(
        default="payment_reminder", description="the WhatsApp template of a step without one"
    )

    @field_validator("template")
    @classmethod
    def _template(cls, value: str) -> str:
        return _identifier(value, "template name", 60)


class ChannelRules(_Frozen):
    """How a reminder reaches the borrower: the first rule of `order` that finds a channel the
    borrower has not opted out of and their compliance profile allows."""

    order: tuple[str, ...] = CHANNEL_RULES
    recent_chat_days: int = Field(default=30, ge=1, le=365)
    sms: SmsRules = SmsRules()
    whatsapp: WhatsAppRules = WhatsAppRules()

    @field_validator("order")
    @classmethod
    def _rules(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [r for r in value if r not in CHANNEL_RULES]
        if unknown:
            raise ValueError(
                f"unknown channel rule {unknown[0]!r}; expected some of {', '.join(CHANNEL_RULES)}"
            )
        if not value or len(set(value)) != len(value):
            raise ValueError("list each channel rule once, at least one")
        return value


class OutreachPolicy(_Frozen):
    """The reminder schedule (`config/outreach.yml`)."""

    steps: tuple[Step, ...]
    channels: ChannelRules = ChannelRules()
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

    def sms_template(self, step: Step) -> str:
        return step.sms_template or self.channels.sms.template

    def whatsapp_template(self, step: Step) -> str:
        return step.whatsapp_template or self.channels.whatsapp.template

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


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday() order


def _weekdays(value: tuple[str, ...] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    unknown = [d for d in value if d not in WEEKDAYS]
    if unknown:
        raise ValueError(f"unknown day {unknown[0]!r}; expected some of {', '.join(WEEKDAYS)}")
    if not value:
        raise ValueError("list at least one day")
    return tuple(d for d in WEEKDAYS if d in value)  # week order, once each


def _country(value: str | None) -> str | None:
    if value is not None and not calendars.supported(value):
        raise ValueError(f"no public-holiday calendar for {value!r} (two capital letters: CN)")
    return value


class QuietPeriod(_Frozen):
    """Days the lender sends nothing proactive, by its own policy: from `start` to `end`
    (borrower-local dates, both included), or every year around a public holiday: from `before`
    days before to `after` days after each day whose name in `country`'s calendar contains
    `holiday` ("Chinese New Year" in CN: its eve and the festival days)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1, max_length=60)
    start: date | None = Field(default=None, alias="from")
    end: date | None = Field(default=None, alias="to")
    holiday: str | None = Field(default=None, min_length=3, max_length=80)
    country: str | None = None
    before: int = Field(default=0, ge=0, le=31)
    after: int = Field(default=0, ge=0, le=31)
    profiles: tuple[str, ...] = Field(default=(), description="empty: every profile")

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str | None) -> str | None:
        return _country(value)

    @model_validator(mode="after")
    def _one_kind(self) -> QuietPeriod:
        where = f"quiet period {self.name!r}"
        dated = self.start is not None or self.end is not None
        if dated == (self.holiday is not None):
            raise ValueError(f"{where}: give either from and to, or holiday and country")
        if dated:
            if self.start is None or self.end is None:
                raise ValueError(f"{where}: give both from and to")
            if self.end < self.start:
                raise ValueError(f"{where}: it ends ({self.end}) before it starts ({self.start})")
            if self.before or self.after:
                raise ValueError(f"{where}: before and after go with a holiday, not with dates")
            return self
        if self.country is None:
            raise ValueError(f"{where}: name the country whose calendar has {self.holiday!r}")
        this_year = datetime.now(UTC).year
        assert self.holiday is not None
        if not any(
            calendars.days_named(self.country, self.holiday, y) for y in (this_year, this_year + 1)
        ):
            raise ValueError(
                f"{where}: no holiday named like {self.holiday!r} in {self.country}'s calendar"
            )
        return self

    def covers(self, day: date) -> bool:
        """Whether the borrower-local date `day` is in the period."""
        if self.start is not None and self.end is not None:
            return self.start <= day <= self.end
        assert self.holiday is not None and self.country is not None
        for year in (day.year - 1, day.year, day.year + 1):  # a period can span New Year
            for held in calendars.days_named(self.country, self.holiday, year):
                if held - timedelta(days=self.before) <= day <= held + timedelta(days=self.after):
                    return True
        return False


class DpdRule(_Frozen):
    """Limits that replace the profile's once a loan is more than `over` days past due (the
    Philippines' hours rule, for one, binds only up to 15 days)."""

    over: int = Field(ge=0, le=3650)
    window: ContactWindow | None = None
    days: tuple[str, ...] | None = None
    max_per_day: int | None = Field(default=None, ge=1, le=50)
    max_per_7_days: int | None = Field(default=None, ge=1, le=350)

    @field_validator("days")
    @classmethod
    def _known_days(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return _weekdays(value)


class Profile(_Frozen):
    """A jurisdiction's limits on proactive messages."""

    window: ContactWindow = ContactWindow(start=time(8), end=time(21))
    days: tuple[str, ...] = Field(default=WEEKDAYS, description="weekdays messages may go on")
    holidays: str | None = Field(
        default=None, description="a country: no messages on its public holidays"
    )
    quiet_periods: tuple[QuietPeriod, ...] = ()
    after_dpd: tuple[DpdRule, ...] = ()
    max_per_day: int = Field(default=2, ge=1, le=50, description="per borrower-local day")
    max_per_7_days: int = Field(default=6, ge=1, le=350, description="per rolling 7 x 24 hours")
    disclosure: dict[str, str] | None = Field(
        default=None, description="a line appended to every proactive message, per language"
    )
    sms_opt_out: dict[str, str] | None = Field(
        default=None, description="how to opt out, appended to every SMS, per language"
    )
    channels: tuple[str, ...] = Field(
        default=DEFAULT_CHANNELS, description="where proactive messages may go"
    )
    timezone: str | None = Field(
        default=None,
        description="used when a borrower's own time zone is missing or unknown",
    )

    @field_validator("channels")
    @classmethod
    def _known_channels(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [c for c in value if c not in PROACTIVE_CHANNELS]
        if unknown:
            raise ValueError(
                f"unknown channel {unknown[0]!r}; expected some of {', '.join(PROACTIVE_CHANNELS)}"
            )
        return value

    @field_validator("disclosure", "sms_opt_out")
    @classmethod
    def _every_language(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return None
        missing = [lang for lang in LANGUAGES if not (value.get(lang) or "").strip()]
        if missing:
            raise ValueError(f"the line needs text in {' and '.join(missing)}")
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

    @field_validator("days")
    @classmethod
    def _known_days(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _weekdays(value) or WEEKDAYS  # never None: _weekdays refuses an empty list

    @field_validator("holidays")
    @classmethod
    def _known_holidays(cls, value: str | None) -> str | None:
        return _country(value)

    @field_validator("after_dpd")
    @classmethod
    def _distinct_thresholds(cls, value: tuple[DpdRule, ...]) -> tuple[DpdRule, ...]:
        overs = [r.over for r in value]
        if len(set(overs)) != len(overs):
            raise ValueError("two after_dpd rules start at the same days past due")
        return tuple(sorted(value, key=lambda r: r.over))

    def for_dpd(self, dpd: int) -> Profile:
        """The limits for a loan `dpd` days past due: the last after_dpd rule it is past, over
        the profile's own."""
        applies = [r for r in self.after_dpd if dpd > r.over]
        if not applies:
            return self
        rule = applies[-1]
        changed = {
            k: getattr(rule, k)
            for k in ("window", "days", "max_per_day", "max_per_7_days")
            if getattr(rule, k) is not None
        }
        return self.model_copy(update=changed)

    def narrowed(self, preference: ContactPreference | None) -> Profile | None:
        """The limits with the borrower's own wishes applied: a window and days inside the
        profile's, never wider. None when nothing of the profile's is left."""
        if preference is None:
            return self
        start, end = self.window.start, self.window.end
        if preference.window is not None:
            start = max(start, preference.window.start)
            end = min(end, preference.window.end)
        days = tuple(d for d in self.days if preference.days is None or d in preference.days)
        if start >= end or not days:
            return None
        return self.model_copy(update={"window": ContactWindow(start=start, end=end), "days": days})


class ContactPreference(_Frozen):
    """When a borrower asked to be contacted ("只在晚上联系我", "周末别发"): a window and days
    that can only narrow their profile's."""

    window: ContactWindow | None = None
    days: tuple[str, ...] | None = None

    @field_validator("days")
    @classmethod
    def _known_days(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return _weekdays(value)


class CompliancePolicy(_Frozen):
    """Operations' compliance profiles (`config/compliance.yml`): which applies to a borrower
    (by the region of their phone number), and the words that opt a borrower out."""

    default_profile: str
    profiles: dict[str, Profile]
    jurisdictions: dict[str, str] = Field(
        default_factory=dict, description="phone region code (CN, SG, GB) -> profile name"
    )
    opt_out_words: dict[str, tuple[str, ...]]
    quiet_periods: tuple[QuietPeriod, ...] = Field(
        default=(), description="the lender's own pauses, for every profile or those named"
    )

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
        for period in self.quiet_periods:
            unknown = [p for p in period.profiles if p not in self.profiles]
            if unknown:
                raise ValueError(f"quiet period {period.name!r}: no profile named {unknown[0]!r}")
        # Each profile carries the lender's pauses that apply to it, so the rules read one
        # object (the dict is ours to fill; the models in it stay frozen).
        for name, profile in list(self.profiles.items()):
            mine = tuple(q for q in self.quiet_periods if not q.profiles or name in q.profiles)
            if mine:
                self.profiles[name] = profile.model_copy(
                    update={"quiet_periods": profile.quiet_periods + mine}
                )
        return self

    def choose(self, *, contract: str | None, phone_e164: str) -> ProfileChoice:
        """The profile for a loan: by the jurisdiction its contract names (set by the lender);
        only when it names none, by the region of the borrower's phone number; else the
        default. The choice says which it was, to be recorded with each reminder."""
        if contract:
            return ProfileChoice(
                self.jurisdictions.get(contract, self.default_profile), contract, "contract"
            )
        region = phone_region(phone_e164)
        if region is not None and region in self.jurisdictions:
            return ProfileChoice(self.jurisdictions[region], region, "phone")
        return ProfileChoice(self.default_profile, region, "default")

    def profile_of(self, choice: ProfileChoice) -> Profile:
        return self.profiles[choice.name]

    def profile_name_for(self, phone_e164: str) -> str:
        """The name of the profile for this phone number's region; the default when the number
        or its region is unknown."""
        return self.choose(contract=None, phone_e164=phone_e164).name

    def profile_for(self, phone_e164: str) -> Profile:
        return self.profiles[self.profile_name_for(phone_e164)]


JURISDICTION_SOURCES = ("contract", "phone", "default")


@dataclass(frozen=True, slots=True)
class ProfileChoice:
    name: str  # the profile
    region: str | None  # the jurisdiction it was chosen for (two letters), if known
    source: str  # JURISDICTION_SOURCES: the loan's contract, the phone number, or neither


def phone_region(phone_e164: str) -> str | None:
    """The region of a phone number (+86... -> CN), or None when it cannot be read."""
    try:
        number = phonenumbers.parse(phone_e164, None)
    except phonenumbers.NumberParseException:
        return None
    # region_code_for_number is None for numbers it cannot place (a test number, a new
    # range); the country code's main region is then the best guess (+86 -> CN).
    region = phonenumbers.region_code_for_number(number)
    if region is None:
        region = phonenumbers.region_code_for_country_code(number.country_code or 0)
    return None if region in (None, "ZZ", "001") else region


# --- loading --------------------------------------------------------------------------------


def variables_not_for(trigger: str) -> frozenset[str]:
    """Template variables that have no sensible value for a step with this trigger."""
    return _NOT_FOR[trigger]


def check_templates(policy: OutreachPolicy, templates: Templates) -> list[str]:
    """Problems with the templates the schedule names: missing, or naming a variable the
    step's trigger gives no value for."""
    problems = []
    by_sms = "sms" in policy.channels.order
    for s in policy.steps:
        sms = policy.sms_template(s)
        for name in sorted(s.templates | ({sms} if by_sms else set())):
            if name not in templates.names:
                problems.append(f"step {s.id}: no template named {name!r} in {TEMPLATES_FILE}")
                continue
            is_sms = by_sms and name == sms
            if is_sms and "link" not in templates.variables(name):
                problems.append(
                    f"step {s.id}: SMS template {name!r} has no {{link}}: an SMS must say "
                    "where to answer"
                )
            not_here = _NOT_FOR[s.trigger] if is_sms else _NOT_FOR[s.trigger] | SMS_ONLY
            unusable = sorted(templates.variables(name) & not_here)
            if unusable:
                problems.append(
                    f"step {s.id}: template {name!r} uses {{{unusable[0]}}}, which "
                    f"{s.trigger} reminders have no value for"
                )
    return problems


def check_whatsapp(policy: OutreachPolicy, whatsapp: WhatsAppTemplates) -> list[str]:
    """Problems with the WhatsApp templates the schedule names: missing from whatsapp.yml, or
    filled with a figure the step's trigger gives no value for."""
    if "whatsapp" not in policy.channels.order:
        return []
    problems = []
    for s in policy.steps:
        name = policy.whatsapp_template(s)
        template = whatsapp.templates.get(name)
        if template is None:
            problems.append(f"step {s.id}: no WhatsApp template named {name!r} in {WHATSAPP_FILE}")
            continue
        unusable = sorted(set(template.params) & _NOT_FOR[s.trigger])
        if unusable:
            problems.append(
                f"step {s.id}: WhatsApp template {name!r} is filled with {unusable[0]}, which "
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


def sms_opt_out_for(profile: Profile, language: str) -> str | None:
    """The profile's opt-out instruction for SMS in this language, if it requires one."""
    if profile.sms_opt_out is None:
        return None
    return profile.sms_opt_out.get(language) or profile.sms_opt_out.get("zh")
