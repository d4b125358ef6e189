"""The dashboard's figures: plain values over a period of business days, for one slice of
channel and language. `build(session, scope)` in dashboard.py fills them from the records;
the console and the `dashboard` command only present them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from backend.ledger.delinquency import Bucket
from backend.money import to_major


@dataclass(frozen=True, slots=True)
class Scope:
    start: date  # first business day, inclusive
    end: date  # last business day, inclusive
    channel: str | None = None  # telegram | webchat | whatsapp | sms; None for all
    language: str | None = None  # zh | en; None for all
    timezone: str = "Asia/Shanghai"  # the business time zone that days are counted in

    def days(self) -> list[date]:
        return [
            date.fromordinal(d) for d in range(self.start.toordinal(), self.end.toordinal() + 1)
        ]


@dataclass(frozen=True, slots=True)
class Ratio:
    part: int
    whole: int

    @property
    def value(self) -> float | None:
        return self.part / self.whole if self.whole else None


@dataclass(frozen=True, slots=True)
class Interval:
    """A proportion or difference with its 95% confidence interval."""

    estimate: float
    low: float
    high: float


def wilson(part: int, whole: int, z: float = 1.96) -> Interval | None:
    """Wilson score interval for part/whole (sound for small counts and rates near 0 or 1)."""
    if whole == 0:
        return None
    p = part / whole
    denominator = 1 + z * z / whole
    centre = (p + z * z / (2 * whole)) / denominator
    margin = z * math.sqrt(p * (1 - p) / whole + z * z / (4 * whole * whole)) / denominator
    return Interval(p, max(0.0, centre - margin), min(1.0, centre + margin))


def newcombe(
    part: int, whole: int, base_part: int, base_whole: int, z: float = 1.96
) -> Interval | None:
    """part/whole minus base_part/base_whole with the confidence interval of Newcombe's hybrid
    score method (Newcombe 1998, method 10), built from the two Wilson intervals."""
    a, b = wilson(part, whole, z), wilson(base_part, base_whole, z)
    if a is None or b is None:
        return None
    difference = a.estimate - b.estimate
    low = difference - math.hypot(a.estimate - a.low, b.high - b.estimate)
    high = difference + math.hypot(a.high - a.estimate, b.estimate - b.low)
    return Interval(difference, low, high)


@dataclass(frozen=True, slots=True)
class ChatDay:
    """Conversations with at least one borrower message on the day (a conversation active on
    two days counts on each). `day` is None for the whole period (each conversation once)."""

    day: date | None
    conversations: int
    contained: int  # no handoff requested in it that day (period: in the period)
    handed_off: int  # a handoff requested in it that day
    wait_median_s: float | None  # handoffs requested that day and taken: request to take
    wait_p90_s: float | None


@dataclass(frozen=True, slots=True)
class PromiseDay:
    day: date | None  # None for the whole period
    conversations: int  # the same base as ChatDay.conversations
    with_promise: int  # of those, a promise to pay was taken in it that day
    due: int  # promises whose date fell that day and are decided (kept, partly kept, broken)
    kept: int  # of those, kept in full


@dataclass(frozen=True, slots=True)
class Amounts:
    """Promises made in the period, in one currency: what was promised and what was paid
    towards those promises (a promise's paid amount as the ledger counted it)."""

    currency: str
    promised_minor: int
    paid_minor: int

    @property
    def promised(self) -> Decimal:
        return to_major(self.promised_minor, self.currency)

    @property
    def paid(self) -> Decimal:
        return to_major(self.paid_minor, self.currency)


@dataclass(frozen=True, slots=True)
class Transitions:
    """Loans past due at the start of the period and where they were at its end, for one
    group of borrowers: those who used the assistant in the period and those who did not."""

    group: str  # "assistant" | "others"
    loans: int  # past due (not current) at the start
    cured: int  # of those, current at the end
    rolls: dict[tuple[str, str], int] = field(default_factory=dict)  # (bucket then, bucket now)

    def roll_forward(self) -> int:
        """Loans that ended in a worse bucket than they started in."""
        order = list(Bucket)
        return sum(
            n for (a, b), n in self.rolls.items() if order.index(Bucket(b)) > order.index(Bucket(a))
        )


@dataclass(frozen=True, slots=True)
class ReminderDay:
    day: date | None  # None for the whole period
    sent: int
    held: dict[str, int]  # reminders for that day a compliance rule deferred or dropped, by rule
    opt_outs: int  # borrowers who opted out that day


@dataclass(frozen=True, slots=True)
class VariantFigures:
    step_id: str
    variant: str
    sent: int
    converted: int  # the borrower paid or promised within the results window after one
    rate: Interval | None


@dataclass(frozen=True, slots=True)
class Experiment:
    """One step's champion against its challenger: the difference in conversion rate
    (challenger minus champion) with its 95% confidence interval."""

    step_id: str
    champion: VariantFigures
    challenger: VariantFigures
    difference: Interval | None


@dataclass(frozen=True, slots=True)
class NluDay:
    day: date | None  # None for the whole period
    messages: int  # borrower messages the NLU read
    fallbacks: int  # of those, read as nlu_fallback or below the fallback threshold


@dataclass(frozen=True, slots=True)
class Correction:
    predicted: str | None  # what the assistant read
    labelled: str  # what operations labelled it
    count: int


@dataclass(frozen=True, slots=True)
class Dashboard:
    scope: Scope
    chats: list[ChatDay]  # one per day of the scope, in order
    chat_total: ChatDay
    promises: list[PromiseDay]
    promise_total: PromiseDay
    amounts: list[Amounts]  # one per currency
    transitions: list[Transitions]  # "assistant" then "others"
    reminders: list[ReminderDay]
    reminder_total: ReminderDay
    experiments: list[Experiment]
    nlu: list[NluDay]
    nlu_total: NluDay
    corrections: list[Correction]  # most frequent first, at most 10
