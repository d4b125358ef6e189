"""`make compliance-check`: the reminder rules against many random cases, each a dispatcher
following `rules.decide` for a borrower over a few days, checked by an oracle written apart
from the rules (no code of theirs but the profile models).

A case draws a time zone (several with daylight saving), a profile (window, weekdays, a
public-holiday calendar, the lender's quiet periods, caps, limits after some days past due),
the loan's days past due, the borrower's own preference, the messages already sent, and
reminders with their holds. Every send must be allowed by every rule; every deferral must name
an allowed moment and be the earliest one (no instant before it is allowed); every expiry must
have no allowed moment left. The count of violations is the result: it should be 0.
"""

from __future__ import annotations

import heapq
import random
import time as clock
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from backend.outreach.policy import (
    WEEKDAYS,
    ContactPreference,
    ContactWindow,
    DpdRule,
    Profile,
    QuietPeriod,
)
from backend.outreach.rules import HANDOFF_RECHECK, HOLDS_THAT_DROP, History, Verdict, decide

ZONES = (
    "Asia/Shanghai",
    "Asia/Jakarta",
    "Asia/Manila",
    "Asia/Kolkata",
    "America/New_York",
    "Europe/London",
    "Australia/Sydney",
    "Pacific/Chatham",
    "UTC",
)
COUNTRIES = ("CN", "ID", "PH", "GB", "SG", "IN", "US")
HOLDS = (None, None, None, None, "live_handoff", "opt_out", "distress", "dispute", "hardship_hold")
# Days around which cases start: clock changes, Chinese New Year, Eid, Christmas, plain days.
ANCHORS = (
    datetime(2026, 3, 8, 7, tzinfo=UTC),
    datetime(2026, 11, 1, 6, tzinfo=UTC),
    datetime(2026, 3, 29, 1, tzinfo=UTC),
    datetime(2026, 10, 25, 1, tzinfo=UTC),
    datetime(2026, 4, 5, 16, tzinfo=UTC),
    datetime(2026, 10, 4, 16, tzinfo=UTC),
    datetime(2027, 2, 5, 0, tzinfo=UTC),
    datetime(2027, 3, 9, 0, tzinfo=UTC),
    datetime(2026, 12, 24, 0, tzinfo=UTC),
    datetime(2026, 6, 15, 0, tzinfo=UTC),
)


@dataclass
class Tally:
    cases: int = 0
    decisions: int = 0
    sends: int = 0
    deferrals: int = 0
    drops: int = 0
    violations: list[str] = field(default_factory=list)


# --- the oracle: what the law and the lender allow, written apart from rules.py ----------------


@dataclass(frozen=True)
class Case:
    zone: ZoneInfo
    profile: Profile
    dpd: int
    preference: ContactPreference | None
    sent: tuple[datetime, ...]


def _limits(case: Case) -> tuple[time, time, frozenset[str], int, int] | None:
    """The window, weekdays and caps in force: the last after_dpd rule passed, narrowed by the
    borrower's preference; None when nothing is left."""
    p = case.profile
    start, end, days = p.window.start, p.window.end, set(p.days)
    per_day, per_week = p.max_per_day, p.max_per_7_days
    for rule in sorted(p.after_dpd, key=lambda r: r.over):
        if case.dpd > rule.over:
            if rule.window is not None:
                start, end = rule.window.start, rule.window.end
            if rule.days is not None:
                days = set(rule.days)
            per_day = rule.max_per_day or per_day
            per_week = rule.max_per_7_days or per_week
    if case.preference is not None:
        if case.preference.window is not None:
            start = max(start, case.preference.window.start)
            end = min(end, case.preference.window.end)
        if case.preference.days is not None:
            days &= set(case.preference.days)
    if start >= end or not days:
        return None
    return start, end, frozenset(days), per_day, per_week


@lru_cache(maxsize=256)
def _public_holidays(country: str, year: int) -> dict[date, str]:
    calendar = holidays.country_holidays(country, years=year)
    if "en_US" in (calendar.supported_languages or ()):
        calendar = holidays.country_holidays(country, years=year, language="en_US")
    return dict(calendar)


def _quiet(p: Profile, day: date) -> bool:
    for q in p.quiet_periods:
        if q.start is not None and q.end is not None and q.start <= day <= q.end:
            return True
        if q.holiday is not None and q.country is not None:
            for year in (day.year - 1, day.year, day.year + 1):
                for held, name in _public_holidays(q.country, year).items():
                    if q.holiday.lower() in name.lower() and (
                        held - timedelta(days=q.before) <= day <= held + timedelta(days=q.after)
                    ):
                        return True
    return False


def allowed(case: Case, moment: datetime, occasion: date, last_day: date) -> bool:
    """Whether a proactive message may go at `moment` with the case's messages sent."""
    limits = _limits(case)
    if limits is None:
        return False
    start, end, days, per_day, per_week = limits
    local = moment.astimezone(case.zone)
    p = case.profile
    open_day = (
        occasion <= local.date() <= last_day
        and WEEKDAYS[local.weekday()] in days
        and not (p.holidays and local.date() in _public_holidays(p.holidays, local.year))
        and not _quiet(p, local.date())
    )
    if not open_day or not start <= local.time() < end:
        return False
    today = sum(s.astimezone(case.zone).date() == local.date() for s in case.sent)
    week = sum(moment - timedelta(days=7) < s <= moment for s in case.sent)
    return today < per_day and week < per_week


# --- random cases ---------------------------------------------------------------------------


def _window(rnd: random.Random) -> ContactWindow:
    if rnd.random() < 0.6:
        start, end = rnd.choice([(8, 21), (8, 19), (8, 20), (6, 22), (9, 17)])
        return ContactWindow(start=time(start), end=time(end))
    start = rnd.randrange(0, 24 * 60 - 1)
    end = rnd.randrange(start + 1, 24 * 60)
    return ContactWindow(start=time(start // 60, start % 60), end=time(end // 60, end % 60))


def _days(rnd: random.Random) -> tuple[str, ...]:
    if rnd.random() < 0.5:
        return WEEKDAYS
    return tuple(d for d in WEEKDAYS if rnd.random() < 0.7) or ("wed",)


def _profile(rnd: random.Random, around: date) -> Profile:
    quiet: list[QuietPeriod] = []
    if rnd.random() < 0.3:
        first = around + timedelta(days=rnd.randint(-3, 4))
        quiet.append(
            QuietPeriod.model_validate(
                {"name": "q", "from": first, "to": first + timedelta(days=rnd.randint(0, 4))}
            )
        )
    if rnd.random() < 0.2:
        quiet.append(
            QuietPeriod(
                name="cny",
                holiday="Chinese New Year",
                country="CN",
                before=rnd.randint(0, 3),
                after=rnd.randint(0, 3),
            )
        )
    after_dpd: tuple[DpdRule, ...] = ()
    if rnd.random() < 0.3:
        after_dpd = (
            DpdRule(
                over=rnd.choice([5, 15, 30]),
                window=_window(rnd) if rnd.random() < 0.5 else None,
                days=_days(rnd) if rnd.random() < 0.3 else None,
                max_per_day=rnd.randint(1, 4) if rnd.random() < 0.5 else None,
            ),
        )
    return Profile(
        window=_window(rnd),
        days=_days(rnd),
        holidays=rnd.choice((None, None, *COUNTRIES)),
        quiet_periods=tuple(quiet),
        after_dpd=after_dpd,
        max_per_day=rnd.randint(1, 4),
        max_per_7_days=rnd.randint(1, 10),
    )


def _preference(rnd: random.Random) -> ContactPreference | None:
    roll = rnd.random()
    if roll < 0.6:
        return None
    return ContactPreference(
        window=_window(rnd) if rnd.random() < 0.6 else None,
        days=_days(rnd) if rnd.random() < 0.6 else None,
    )


def run_case(rnd: random.Random, zone_name: str, tally: Tally) -> None:
    """One borrower: reminders arriving over three days, decided and re-decided until each is
    sent or dropped, every verdict checked."""
    zone = ZoneInfo(zone_name)
    start = rnd.choice(ANCHORS) + timedelta(minutes=rnd.randint(-3 * 24 * 60, 3 * 24 * 60))
    profile = _profile(rnd, start.date())
    dpd = rnd.choice([0, 1, 5, 6, 15, 16, 20, 31, 60])
    preference = _preference(rnd)
    earlier = [rnd.randint(1, 10 * 24 * 60) for _ in range(rnd.randint(0, 8))]
    sent = [start - timedelta(minutes=m) for m in earlier]
    planned = []
    queue: list[tuple[datetime, int, int]] = []
    for i in range(rnd.randint(1, 6)):
        at = start + timedelta(minutes=rnd.randint(0, 3 * 24 * 60))
        occasion = at.astimezone(zone).date() + timedelta(days=rnd.randint(-1, 1))
        valid_days = rnd.randint(0, 5)
        holds = [rnd.choice(HOLDS) for _ in range(rnd.randint(0, 3))]
        planned.append((occasion, valid_days, holds))
        heapq.heappush(queue, (at, i, 0))

    def ask(now: datetime, hold: str | None, i: int, valid_days: int | None = None) -> Verdict:
        occasion, days, _ = planned[i]
        return decide(
            now=now,
            timezone=zone_name,
            profile=profile,
            history=History(tuple(sent)),
            hold=hold,
            occasion=occasion,
            valid_days=days if valid_days is None else valid_days,
            dpd=dpd,
            preference=preference,
        )

    def fail(what: str) -> None:
        tally.violations.append(
            f"{what} (zone {zone_name}, dpd {dpd}, profile {profile!r}, preference {preference!r})"
        )

    tally.cases += 1
    while queue:
        now, i, attempt = heapq.heappop(queue)
        if attempt >= 200:
            fail(f"reminder {i} deferred 200 times from {now}")
            break
        occasion, valid_days, holds = planned[i]
        hold = holds[attempt] if attempt < len(holds) else None
        case = Case(zone, profile, dpd, preference, tuple(sent))
        result = ask(now, hold, i)
        tally.decisions += 1
        later = _judge(rnd, case, result, now, hold, occasion, valid_days, tally, fail)
        if result.action == "send":
            sent.append(now)
        elif later is not None:
            heapq.heappush(queue, (later, i, attempt + 1))


def _judge(
    rnd: random.Random,
    case: Case,
    result: Verdict,
    now: datetime,
    hold: str | None,
    occasion: date,
    valid_days: int,
    tally: Tally,
    fail: Callable[[str], None],
) -> datetime | None:
    """Check one verdict against the oracle; the moment it is tried again, if deferred."""
    last_day = occasion + timedelta(days=valid_days)
    earliest = now + HANDOFF_RECHECK if hold == "live_handoff" else now

    def first_allowed(until: datetime) -> datetime | None:
        probes = _probes(rnd, case, earliest, until)
        return next((p for p in probes if allowed(case, p, occasion, last_day)), None)

    if result.action == "send":
        tally.sends += 1
        if hold is not None or not allowed(case, now, occasion, last_day):
            fail(f"sent at {now} when not allowed (hold {hold})")
        return None
    if result.action == "defer":
        tally.deferrals += 1
        later = result.not_before
        if later is None or later <= now or hold in HOLDS_THAT_DROP:
            fail(f"a deferral at {now} to {later} (hold {hold})")
            return None
        if not allowed(case, later, occasion, last_day):
            fail(f"deferred at {now} to {later}, which is not allowed")
        if (sooner := first_allowed(later)) is not None:
            fail(f"deferred at {now} to {later}, but {sooner} was allowed")
        return later
    tally.drops += 1
    if result.reason in HOLDS_THAT_DROP:
        if hold != result.reason:
            fail(f"dropped for {result.reason} at {now} with hold {hold}")
    elif result.reason in ("expired", "preference"):
        if hold in HOLDS_THAT_DROP:
            fail(f"dropped as {result.reason} at {now} before its hold {hold}")
        end = datetime.combine(last_day + timedelta(days=1), time(0), case.zone)
        if (missed := first_allowed(end.astimezone(UTC))) is not None:
            fail(f"dropped as {result.reason} at {now}, but {missed} was allowed")
    else:
        fail(f"dropped at {now} for an unknown reason {result.reason}")
    return None


def _probes(rnd: random.Random, case: Case, start: datetime, end: datetime) -> list[datetime]:
    """Instants in [start, end) where an allowed moment would most likely be: the start, each
    minute a window or day opens (as the local clock reads it), each instant a sent message
    leaves the week, just before the end, and random ones."""
    if end <= start:
        return []
    found = [start, end - timedelta(seconds=1)]
    found += [start + (end - start) * rnd.random() for _ in range(4)]
    limits = _limits(case)
    opens = [
        case.profile.window.start,
        *(r.window.start for r in case.profile.after_dpd if r.window),
    ]
    if limits is not None:
        opens.append(limits[0])
    day = start.astimezone(case.zone).date() - timedelta(days=1)
    while day <= end.astimezone(case.zone).date() + timedelta(days=1):
        for wall in (*opens, time(0)):
            for fold in (0, 1):
                at = datetime.combine(day, wall, case.zone).replace(fold=fold).astimezone(UTC)
                found += [at, at + timedelta(minutes=1)]
        day += timedelta(days=1)
    found += [s + timedelta(days=7) for s in case.sent]
    found += [s + timedelta(days=7, seconds=1) for s in case.sent]
    return sorted(p for p in found if start <= p < end)


def run(cases: int, seed: int = 0) -> tuple[Tally, float]:
    rnd = random.Random(seed)
    tally = Tally()
    began = clock.perf_counter()
    for n in range(cases):
        run_case(rnd, ZONES[n % len(ZONES)], tally)
    return tally, clock.perf_counter() - began
