"""Throttling console log-ins, in this process's memory: how many attempts one client address
may make (a sliding window), and a lock on an (account, address) pair after wrong passwords in
a row.

The lock is per pair, not per account, so strangers guessing at `admin` lock only themselves
out: the admin logs in from their own address as usual. An attacker spread over many addresses
still meets the address throttle and the password rules. No I/O; the caller passes the time.
Each backend process keeps its own counts (a restart forgets them)."""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from backend.staff import rules

WINDOW = timedelta(minutes=10)  # the address throttle's window
MAX_TRACKED = 10_000  # addresses or pairs remembered at once: memory stays bounded


def wait_seconds(wait: timedelta) -> int:
    """A Retry-After value: whole seconds, at least 1."""
    return max(1, math.ceil(wait.total_seconds()))


@dataclass
class _Pair:
    failures: int = 0
    locked_until: datetime | None = None
    last_failure: datetime | None = None


@dataclass
class LoginGuard:
    attempts_per_window: int  # per client address, in WINDOW
    lockout: rules.LockoutPolicy  # per (account, address)
    _attempts: dict[str, deque[datetime]] = field(default_factory=dict)
    _pairs: dict[tuple[str, str], _Pair] = field(default_factory=dict)
    # Log-ins run on the event loop; an admin's unlock runs in a worker thread.
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def admit(self, address: str, now: datetime) -> timedelta | None:
        """Count an attempt from `address`: None when it may go on, else how long to wait."""
        with self._lock:
            times = self._attempts.get(address)
            if times is None:
                self._make_room(self._attempts, now)
                times = self._attempts[address] = deque()
            while times and times[0] <= now - WINDOW:
                times.popleft()
            if len(times) >= self.attempts_per_window:
                return times[0] + WINDOW - now
            times.append(now)
            return None

    def locked(self, username: str, address: str, now: datetime) -> bool:
        with self._lock:
            pair = self._pairs.get((username, address))
            return pair is not None and rules.is_locked(pair.locked_until, now)

    def failed(self, username: str, address: str, now: datetime) -> datetime | None:
        """Record a wrong password; returns the end of the lock it started, if it did."""
        with self._lock:
            key = (username, address)
            if key not in self._pairs:
                self._make_room(self._pairs, now)
            pair = self._pairs.setdefault(key, _Pair())
            if _stale(pair, now, self.lockout.lock_for):  # failures long ago are forgotten
                pair.failures = 0
            pair.failures, pair.locked_until = rules.after_failure(pair.failures, now, self.lockout)
            pair.last_failure = now
            return pair.locked_until

    def succeeded(self, username: str, address: str) -> None:
        """A right password: the pair starts afresh and the attempt does not count against the
        address (colleagues behind one office address are not throttled by logging in)."""
        with self._lock:
            self._pairs.pop((username, address), None)
            times = self._attempts.get(address)
            if times:
                times.pop()

    def unlock(self, username: str) -> None:
        """An admin's unlock: every address may try this account again."""
        with self._lock:
            for key in [k for k in self._pairs if k[0] == username]:
                del self._pairs[key]

    def _make_room(
        self, table: dict[str, deque[datetime]] | dict[tuple[str, str], _Pair], now: datetime
    ) -> None:
        """Before adding a key to a full table: forget what has expired, then the oldest."""
        if len(table) < MAX_TRACKED:
            return
        for key in [k for k, v in table.items() if self._expired(v, now)]:
            del table[key]  # type: ignore[arg-type]
        while len(table) >= MAX_TRACKED:
            del table[next(iter(table))]  # type: ignore[arg-type]

    def _expired(self, entry: deque[datetime] | _Pair, now: datetime) -> bool:
        if isinstance(entry, _Pair):
            return _stale(entry, now, self.lockout.lock_for)
        return not entry or entry[-1] <= now - WINDOW


def _stale(pair: _Pair, now: datetime, after: timedelta) -> bool:
    """Not locked, and no wrong password for a lock's length."""
    return not rules.is_locked(pair.locked_until, now) and (
        pair.last_failure is None or now - pair.last_failure >= after
    )
