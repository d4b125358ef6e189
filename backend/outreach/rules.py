"""Pure rules of proactive outreach: which steps of the schedule fire for a loan today, which
variant of a step a borrower gets, whether a reply opts out, and whether a reminder may go now
under the compliance profile, later, or not at all. No database, web or HTTP here.

Time: every instant is a timezone-aware datetime and is compared in UTC; the contact window and
the daily cap are in the borrower's local time (zoneinfo, so daylight saving is handled: a
window opening at 08:00 opens at 08:00 local on the day the clocks change). The weekly cap is
7 x 24 hours of elapsed time, whatever the clocks did. Days (weekdays, public holidays, the
lender's quiet periods) are the borrower's local dates.
"""

from __future__ import annotations

import functools
import hashlib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from backend.outreach import calendars
from backend.outreach.policy import (
    TRIGGERS,
    WEEKDAYS,
    ContactPreference,
    ContactWindow,
    Profile,
    Step,
    Variant,
)

# --- which steps fire ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoanFacts:
    """What the planner knows of one loan as of `today` (its business date)."""

    loan_id: int
    borrower_id: int
    today: date
    paid_off: bool
    dpd: int
    unpaid_due_dates: tuple[date, ...]  # installments not settled (contract or arrangement)
    amount_due_on: Mapping[date, int]  # outstanding minor units per unpaid due date
    open_promise_date: date | None
    promise_broken_on: date | None  # when the last promise was judged broken, if one was
    arrangement_due_dates: tuple[date, ...]  # unpaid installments of an active arrangement
    # The business day early warning last flagged the loan (the morning after its snapshot
    # day), and the signals that fired.
    warned_on: date | None = None
    warning_signals: tuple[str, ...] = ()

    @property
    def on_arrangement(self) -> bool:
        return bool(self.arrangement_due_dates)


@dataclass(frozen=True, slots=True)
class Occasion:
    """A step that fires for a loan: `occasion` is the day it is for, `due_date` the
    installment or promised date it concerns (None for a broken promise: it concerns the
    loan's arrears as a whole)."""

    step_id: str
    occasion: date
    due_date: date | None


def _dates_for(facts: LoanFacts, step: Step) -> list[date | None]:
    """The dates this step fires for on `facts.today` (None: fires, about no date)."""
    today, days = facts.today, timedelta(days=step.days)
    match step.trigger:
        case "before_due" | "on_due":
            # A loan on an arrangement hears about the arrangement's dates (arrangement_due),
            # not the contract's it replaced; a loan already late hears the overdue steps, not
            # "your next installment is due soon" beside them.
            if facts.on_arrangement or facts.dpd > 0:
                return []
            return [d for d in sorted(set(facts.unpaid_due_dates)) if d == today + days]
        case "overdue":
            return [today - days] if facts.dpd == step.days else []
        case "promise_due":
            return [facts.open_promise_date] if facts.open_promise_date == today + days else []
        case "promise_broken" | "warning":
            return [None] if _flagged_on(facts, step) == today - days else []
        case "arrangement_due":
            return [d for d in sorted(set(facts.arrangement_due_dates)) if d == today + days]
    raise ValueError(f"unknown trigger {step.trigger!r}")


def _flagged_on(facts: LoanFacts, step: Step) -> date | None:
    """When the loan got what a backward-looking step answers: a broken promise, or an early
    warning with one of the step's signals."""
    if step.trigger == "promise_broken":
        return facts.promise_broken_on
    answered = set(step.signals) & set(facts.warning_signals)
    return facts.warned_on if answered else None


def due_occasions(facts: LoanFacts, steps: Sequence[Step]) -> list[Occasion]:
    """The steps that fire today for this loan, in the schedule's order. A paid-off loan gets
    nothing. Overdue N fires when the loan is exactly N days past due, so a loan that stays
    late hears at each step once, and one that cures in between hears no more."""
    if facts.paid_off:
        return []
    return [
        Occasion(step.id, facts.today, due_date)
        for step in steps
        for due_date in _dates_for(facts, step)
    ]


@dataclass(frozen=True, slots=True)
class NotDue:
    """Why a step does not fire for a loan today, for people to read: a code (NOT_DUE) and
    the figures its sentence names."""

    code: str
    values: Mapping[str, str]


NOT_DUE = (
    "paid_off",
    "on_arrangement",
    "already_late",
    "nothing_due_on",
    "not_dpd",
    "no_open_promise",
    "promise_on_other_day",
    "not_broken_on",
    "no_arrangement",
    "not_warned_on",
)


def why_not_due(facts: LoanFacts, step: Step) -> NotDue | None:  # noqa: PLR0912 (a case each)
    """None when the step fires for the loan today; otherwise why not (as `_dates_for` sees
    it), so operations can check a schedule against a real loan."""
    if due_occasions(facts, [step]):
        return None
    if facts.paid_off:
        return NotDue("paid_off", {})
    ahead = (facts.today + timedelta(days=step.days)).isoformat()
    back = (facts.today - timedelta(days=step.days)).isoformat()
    promised = facts.open_promise_date.isoformat() if facts.open_promise_date else ""
    match step.trigger:
        case "before_due" | "on_due" if facts.on_arrangement:
            found = NotDue("on_arrangement", {})
        case "before_due" | "on_due" if facts.dpd > 0:
            found = NotDue("already_late", {"dpd": str(facts.dpd)})
        case "before_due" | "on_due":
            found = NotDue("nothing_due_on", {"date": ahead})
        case "overdue":
            found = NotDue("not_dpd", {"dpd": str(facts.dpd), "days": str(step.days)})
        case "promise_due" if not promised:
            found = NotDue("no_open_promise", {})
        case "promise_due":
            found = NotDue("promise_on_other_day", {"promised": promised, "date": ahead})
        case "promise_broken":
            found = NotDue("not_broken_on", {"date": back})
        case "arrangement_due" if not facts.on_arrangement:
            found = NotDue("no_arrangement", {})
        case "arrangement_due":
            found = NotDue("nothing_due_on", {"date": ahead})
        case "warning":
            found = NotDue("not_warned_on", {"date": back, "signals": ", ".join(step.signals)})
        case _:
            raise ValueError(f"unknown trigger {step.trigger!r}")
    return found


def occasion_dates(today: date, steps: Sequence[Step]) -> dict[str, set[date]]:
    """Per trigger (every one of TRIGGERS, empty when no step uses it), the dates that can make
    a step fire today: due dates for before_due, on_due and arrangement_due; the oldest unpaid
    due date for overdue (today - N); promised dates for promise_due; the day a promise was
    judged broken for promise_broken; the day early warning flagged the loan for warning. Lets
    the planner pick candidate loans with indexed lookups instead of computing every loan's
    position."""
    found: dict[str, set[date]] = {t: set() for t in TRIGGERS}
    for step in steps:
        days = timedelta(days=step.days)
        backwards = step.trigger in ("overdue", "promise_broken", "warning")
        found[step.trigger].add(today - days if backwards else today + days)
    return found


# --- champion / challenger -----------------------------------------------------------------


def _position(step_id: str, borrower_id: int) -> Fraction:
    """Where a borrower falls in [0, 1) for a step: the same on every run and machine, and
    independent between steps (the step's id is part of the hash)."""
    digest = hashlib.sha256(f"{step_id}:{borrower_id}".encode()).digest()
    return Fraction(int.from_bytes(digest[:8], "big"), 1 << 64)


def assign_variant(borrower_id: int, step: Step) -> Variant:
    """The variant a borrower gets for a step: the first whose cumulative share (in the listed
    order) is above the borrower's position. Changing the shares moves only the borrowers
    between the old and new boundaries."""
    variants = step.all_variants
    position = _position(step.id, borrower_id)
    reached = Fraction(0)
    for variant in variants:
        reached += Fraction(variant.share)
        if position < reached:
            return variant
    return variants[-1]  # the shares add up to exactly 1, so only on a policy built unchecked


# --- opting out ----------------------------------------------------------------------------


def normalise_reply(text: str) -> str:
    """A message reduced to its letters and digits, case-folded and width-folded: "ＳＴＯＰ!",
    " Stop. " and "s-t-o-p" are all "stop", "退 订。" is "退订". Spaces, punctuation, symbols
    (emoji included) and invisible format characters go."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return "".join(c for c in folded if unicodedata.category(c)[0] in "LMN")


# The configured words, each normalised once: every borrower message is checked against all of
# them (a tenth of the backend's work on a message, normalising the same dozen words again).
_normalised_word = functools.lru_cache(maxsize=1024)(normalise_reply)


def is_opt_out(text: str, words: Mapping[str, Sequence[str]]) -> bool:
    """Whether a message is an opt-out word (in any configured language, whatever the chat's
    language) in any form, or that word repeated ("stop stop"). Only the whole message counts:
    "don't stop helping me" is not an opt-out; a sentence asking to stop is the NLU's job
    (the stop_contact intent)."""
    said = normalise_reply(text)
    if not said:
        return False
    for word in (w for ws in words.values() for w in ws):
        target = _normalised_word(word)
        if target and len(said) % len(target) == 0 and said == target * (len(said) // len(target)):
            return True
    return False


# --- may it go now? ------------------------------------------------------------------------

# These end a reminder (the reason is recorded); a live handoff only holds it until the
# collector hands the chat back, so it is tried again HANDOFF_RECHECK later.
HOLDS_THAT_DROP = frozenset({"opt_out", "distress", "dispute", "hardship_hold"})
HOLDS = (*sorted(HOLDS_THAT_DROP), "live_handoff")
HANDOFF_RECHECK = timedelta(minutes=30)
WEEK = timedelta(days=7)

ACTIONS = ("send", "defer", "drop")
# Days a profile closes (the first that applies is the reason): not one of its weekdays, a
# public holiday of its calendar, one of the lender's quiet periods.
CLOSED_DAY_REASONS = ("rest_day", "public_holiday", "quiet_period")
DEFER_REASONS = (
    "live_handoff",
    "outside_window",
    *CLOSED_DAY_REASONS,
    "preference",
    "daily_cap",
    "weekly_cap",
)
# "preference": the borrower's wishes leave no time inside the profile's.
DROP_REASONS = (*sorted(HOLDS_THAT_DROP), "preference", "expired")


@dataclass(frozen=True, slots=True)
class History:
    """The borrower's proactive messages already sent, as timezone-aware (UTC) datetimes."""

    sent_at: tuple[datetime, ...]


@dataclass(frozen=True, slots=True)
class Verdict:
    action: str  # send | defer | drop
    reason: str | None  # None when sent; DEFER_REASONS or DROP_REASONS
    not_before: datetime | None  # defer: the earliest UTC instant it may go


SEND = Verdict("send", None, None)


def _aware(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} is a naive datetime: pass a timezone-aware one")
    return moment.astimezone(UTC)


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def borrower_zone(timezone: str, profile: Profile | None = None) -> ZoneInfo:
    """The borrower's time zone; when it is missing or not a real zone, the profile's (the
    jurisdiction's, e.g. Asia/Shanghai for CN), and failing that UTC. UTC is the last resort
    only: for a borrower far from it the window then falls at the wrong hours, so every
    profile whose borrowers share one zone should name it."""
    return _zone(timezone) or _zone(profile.timezone if profile else None) or ZoneInfo("UTC")


def closed_day(day: date, profile: Profile) -> str | None:
    """Why the profile allows no proactive message on this borrower-local date (one of
    CLOSED_DAY_REASONS), or None when it is open."""
    if WEEKDAYS[day.weekday()] not in profile.days:
        return "rest_day"
    if profile.holidays and calendars.holiday_name(profile.holidays, day) is not None:
        return "public_holiday"
    if any(q.covers(day) for q in profile.quiet_periods):
        return "quiet_period"
    return None


def within_window(local: datetime, window: ContactWindow) -> bool:
    """Whether a borrower-local time is inside the window (start included, end excluded)."""
    return window.start <= local.time() < window.end


def _first_at(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The first instant (UTC) at which the local clock on `day` reads `wall` or later. When
    the clocks jump over `wall` (spring forward), that is the instant of the jump; when they
    read it twice (fall back), the first time."""
    naive = datetime.combine(day, wall)
    first = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == naive:
        return first
    # In a gap the two folds fall either side of the jump; find it to the second (zone
    # transitions are at whole seconds).
    other = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    lo, hi = int(min(first, other).timestamp()), int(max(first, other).timestamp()) + 1
    while hi - lo > 1:  # invariant: the clock reads < naive at lo, >= naive at hi
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, zone).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


def _starts_on(day: date, wall: time, zone: ZoneInfo) -> tuple[datetime, ...]:
    """The instants (UTC) at which the local clock on `day` comes to read `wall`: once; twice
    when the clocks go back over it (a window inside the repeated hour opens twice); at the
    jump when they skip it."""
    first = _first_at(day, wall, zone)
    naive = datetime.combine(day, wall)
    again = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if again != first and again.astimezone(zone).replace(tzinfo=None) == naive:
        return (first, again)
    return (first,)


def _next_window_start(now: datetime, zone: ZoneInfo, window: ContactWindow) -> datetime:
    day = now.astimezone(zone).date()
    # A day whose whole window the clocks jump over has none; a week on there is always one.
    for offset in range(8):
        for opens in _starts_on(day + timedelta(days=offset), window.start, zone):
            if opens >= now and within_window(opens.astimezone(zone), window):
                return opens
    raise AssertionError(f"no contact window in {zone} for a week after {now}")


def next_window_start(now: datetime, timezone: str, window: ContactWindow) -> datetime:
    """The first time at or after `now` (UTC) that the window opens in the time zone: today's
    start if it is still ahead (or is `now`), else the next day's. An unknown zone is UTC."""
    return _next_window_start(_aware(now, "now"), borrower_zone(timezone), window)


def _next_allowed(
    start: datetime, zone: ZoneInfo, profile: Profile, sent: Sequence[datetime], last_day: date
) -> datetime | None:
    """The earliest instant at or after `start` inside the window with both caps room to spare,
    or None if there is none up to the end of `last_day` (local). Each constraint broken moves
    the candidate to the first instant that constraint alone allows, so no allowed instant is
    skipped; the candidate only moves forward, onto finitely many instants, so this ends."""
    window = profile.window
    sent_days = [s.astimezone(zone).date() for s in sent]
    t = start
    while True:
        local = t.astimezone(zone)
        if local.date() > last_day:
            return None
        if closed_day(local.date(), profile) is not None:
            t = _next_window_start(
                _first_at(local.date() + timedelta(days=1), time(0), zone), zone, window
            )
            continue
        if not within_window(local, window):
            t = _next_window_start(t, zone, window)
            continue
        if sent_days.count(local.date()) >= profile.max_per_day:
            t = _next_window_start(
                _first_at(local.date() + timedelta(days=1), time(0), zone), zone, window
            )
            continue
        in_week = sorted(s for s in sent if t - WEEK < s <= t)
        if len(in_week) >= profile.max_per_7_days:
            # The oldest messages leave the rolling week one by one, each exactly 7 x 24 hours
            # after it was sent; once enough have, one more may go.
            t = in_week[len(in_week) - profile.max_per_7_days] + WEEK
            continue
        return t


def _first_reason(
    now: datetime, zone: ZoneInfo, profile: Profile, sent: Sequence[datetime], occasion: date
) -> str | None:
    """What stops a message going at `now` (the first of the day, the window and the caps), or
    None."""
    local = now.astimezone(zone)
    if local.date() < occasion:
        return "outside_window"
    if (closed := closed_day(local.date(), profile)) is not None:
        return closed
    if not within_window(local, profile.window):
        return "outside_window"
    if sum(s.astimezone(zone).date() == local.date() for s in sent) >= profile.max_per_day:
        return "daily_cap"
    if sum(now - WEEK < s <= now for s in sent) >= profile.max_per_7_days:
        return "weekly_cap"
    return None


def decide(
    *,
    now: datetime,
    timezone: str,
    profile: Profile,
    history: History,
    hold: str | None,
    occasion: date,
    valid_days: int,
    dpd: int = 0,
    preference: ContactPreference | None = None,
) -> Verdict:
    """Whether a reminder for `occasion` may go to a borrower at `now`, in this order:

    1. a hold that ends it (opt-out, distress, dispute, hardship hold): drop with that reason;
       the borrower's wishes leaving no time inside the profile's: drop, preference;
    2. past its validity (the borrower's local date after occasion + valid_days): drop, expired;
    3. a live handoff: try again 30 minutes later; a day the profile closes (not one of its
       weekdays, a public holiday, a quiet period), outside the window, outside the time the
       borrower asked for, or the day's or the rolling week's cap reached: defer to the next
       moment all of them allow — unless that moment falls after the last valid local day:
       drop, expired;
    4. else send.

    The profile's limits are those for the loan's days past due (`Profile.for_dpd`), narrowed
    by the borrower's `preference` (never widened).

    A reminder is never sent before its occasion's day starts in the borrower's local time
    (the planner's business date can be a day ahead of a borrower far to the west); that wait
    is reported as outside_window. `hold` is None or one of HOLDS; `timezone` the borrower's
    IANA zone (see `borrower_zone` when it is unknown). Deferrals are always strictly later
    than `now` and inside the window."""
    now = _aware(now, "now")
    if hold in HOLDS_THAT_DROP:
        return Verdict("drop", hold, None)
    if hold not in (None, "live_handoff"):
        raise ValueError(f"unknown hold {hold!r}; expected one of {', '.join(HOLDS)}")
    base = profile.for_dpd(dpd)
    effective = base.narrowed(preference)
    if effective is None:
        return Verdict("drop", "preference", None)
    zone = borrower_zone(timezone, base)
    last_day = occasion + timedelta(days=valid_days)
    if now.astimezone(zone).date() > last_day:
        return Verdict("drop", "expired", None)
    sent = [_aware(s, "a sent_at in history") for s in history.sent_at]
    if hold == "live_handoff":
        reason: str | None = hold
        start = now + HANDOFF_RECHECK
    else:
        reason = _first_reason(now, zone, base, sent, occasion)
        if reason is None and effective is not base:
            # The profile allows now; the borrower asked us not to write at this time.
            reason = "preference" if _first_reason(now, zone, effective, sent, occasion) else None
        if reason is None:
            return SEND
        start = now
    start = max(start, _first_at(occasion, time(0), zone))
    moment = _next_allowed(start, zone, effective, sent, last_day)
    if moment is None:
        return Verdict("drop", "expired", None)
    return Verdict("defer", reason, moment)


# --- what a decision was checked against ------------------------------------------------------


def checks(
    *,
    now: datetime,
    timezone: str,
    profile: Profile,
    history: History,
    hold: str | None,
    occasion: date,
    valid_days: int,
    dpd: int = 0,
    preference: ContactPreference | None = None,
) -> dict[str, str]:
    """Every rule `decide` applies, each with its own verdict at `now` ("ok" or why not), for
    the record a regulator reads: not only the first rule that held a reminder back."""
    now = _aware(now, "now")
    base = profile.for_dpd(dpd)
    zone = borrower_zone(timezone, base)
    local = now.astimezone(zone)
    sent = [_aware(s, "a sent_at in history") for s in history.sent_at]
    today = sum(s.astimezone(zone).date() == local.date() for s in sent)
    week = sum(now - WEEK < s <= now for s in sent)
    effective = base.narrowed(preference)
    if preference is None:
        wished = "none"
    elif effective is None:
        wished = "no_time_left"
    elif within_window(local, effective.window) and closed_day(local.date(), effective) is None:
        wished = "ok"
    else:
        wished = "outside"
    last_day = occasion + timedelta(days=valid_days)
    return {
        "hold": hold or "none",
        "local_time": local.isoformat(timespec="minutes"),
        "valid_until": last_day.isoformat(),
        "validity": "ok" if occasion <= local.date() <= last_day else "outside",
        "day": closed_day(local.date(), base) or "ok",
        "window": (
            f"{'ok' if within_window(local, base.window) else 'outside'} "
            f"{base.window.start:%H:%M}-{base.window.end:%H:%M}"
        ),
        "preference": wished,
        "daily_cap": f"{'ok' if today < base.max_per_day else 'reached'} "
        f"{today}/{base.max_per_day}",
        "weekly_cap": (
            f"{'ok' if week < base.max_per_7_days else 'reached'} {week}/{base.max_per_7_days}"
        ),
    }
