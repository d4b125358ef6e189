"""Pure rules a process applies to its configuration before it starts: which APP_ENV values
exist, and which secrets production refuses. Standard library only, no I/O.

The same file is backend/config_rules.py, bot/config_rules.py, actions/config_rules.py and
nlu/config_rules.py: each of those folders is deployed alone (its own image; actions and nlu
on Rasa's Python 3.10), so none can import another's. tests/test_config_rules_copies.py keeps
the copies identical.

Production refuses a secret that is empty, a development default (`dev-...`), shorter than
its minimum (16 characters unless the setting asks more), or worth less than MIN_SECRET_BITS
by this estimate of what a guesser must try:
- each character is worth log2 of the alphabet the secret draws on (digits 10, lower case 26,
  upper case 26, anything else 33), so a random string gets every bit it has;
- a character is worth nothing when it continues a run of three or more: the same character
  again or steps of one (aaa, abc, 987);
- a stretch of 3 or more characters seen earlier in the secret (passwordpassword), and a
  common placeholder word (password, secret, token, ...), are worth one character.
So `openssl rand -hex 32` (about 330 by this count), `secrets.token_urlsafe(32)` (over 250)
and random 16 characters of two classes (about 80) pass, while "aaaaaaaaaaaaaaaaaaaa",
"1234567890123456" and "passwordpassword" score under 20. It is a floor against placeholders
and patterns typed by hand, not a proof of randomness: generate secrets, never type them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from urllib.parse import unquote, urlsplit

APP_ENVS = ("development", "test", "production")
DEV_SECRET_PREFIX = "dev-"  # noqa: S105  (marks the development defaults)
MIN_SECRET_LENGTH = 16
MIN_SECRET_BITS = 64  # 2**64 guesses
GENERATE = "set a random one, e.g. from `openssl rand -hex 32`"

# Placeholders people type for a secret; the longest that matches is taken.
COMMON_WORDS = (
    "production", "changeme", "password", "example", "webhook", "default", "letmein", "service",
    "secret", "qwerty", "passwd", "admin", "token", "asdf", "pass", "prod", "test", "key",
)  # fmt: skip
ALPHABETS = ((str.isdigit, 10), (str.islower, 26), (str.isupper, 26))
OTHER_ALPHABET = 33  # ASCII punctuation and space; any other character counts the same
MIN_STRETCH = 3


def app_env_problem(value: str) -> str | None:
    """One line when APP_ENV is not exactly one of APP_ENVS (no other case, no spaces)."""
    if value in APP_ENVS:
        return None
    return f"APP_ENV={value!r} is not known: set it to one of {', '.join(APP_ENVS)} (exactly)"


def secret_problem(name: str, value: str, *, min_length: int = MIN_SECRET_LENGTH) -> str | None:
    """One line saying why production refuses this secret (never the secret itself), or None."""
    if not value:
        reason = "it is not set"
    elif value.startswith(DEV_SECRET_PREFIX):
        reason = "it is a development default (dev-...)"
    elif len(value) < min_length:
        reason = f"it is shorter than {min_length} characters"
    elif estimated_bits(value) < MIN_SECRET_BITS:
        reason = "it is easy to guess (repeated characters, sequences or common words)"
    else:
        return None
    return f"production refuses {name}: {reason}; {GENERATE}"


def estimated_bits(value: str) -> float:
    """What a guesser must try, in bits, by the rule in this module's docstring."""
    value = value[:256]  # plenty for any secret, and keeps the stretch search cheap
    lowered = value.lower()
    counted, i = 0, 0
    while i < len(value):
        word = max((w for w in COMMON_WORDS if lowered.startswith(w, i)), key=len, default="")
        skip = max(len(word), _seen_before(value, i))
        if skip:
            counted += 1
            i += skip
            continue
        if not _continues_run(value, i):
            counted += 1
        i += 1
    return counted * math.log2(_alphabet(value))


def _seen_before(value: str, i: int) -> int:
    """The length of the longest stretch from i (MIN_STRETCH or more) that also starts earlier,
    or 0."""
    longest = 0
    for length in range(MIN_STRETCH, len(value) - i + 1):
        if value.find(value[i : i + length], 0, i + length - 1) == -1:
            break
        longest = length
    return longest


def _continues_run(value: str, i: int) -> bool:
    if i < 2:
        return False
    step = ord(value[i]) - ord(value[i - 1])
    return step in (-1, 0, 1) and step == ord(value[i - 1]) - ord(value[i - 2])


def _alphabet(value: str) -> int:
    size = sum(n for belongs, n in ALPHABETS if any(belongs(c) for c in value))
    if any(not (c.isdigit() or c.islower() or c.isupper()) for c in value):
        size += OTHER_ALPHABET
    return max(size, 2)


def url_password(url: str | None) -> str | None:
    """The password in a database or Redis URL, or None when it has none."""
    password = urlsplit(url).password if url else None
    return unquote(password) if password else None


def setting_problems(errors: Iterable[Mapping[str, object]]) -> list[str]:
    """One line per problem from pydantic's `ValidationError.errors()`: a rule's own lines as
    they are, a field's as `VARIABLE: message`. Values are never shown (they may be secrets)."""
    lines: list[str] = []
    for error in errors:
        message = str(error["msg"]).removeprefix("Value error, ")
        loc = error.get("loc")
        name = "_".join(str(part) for part in loc).upper() if isinstance(loc, tuple) else ""
        lines += [f"{name}: {line}" if name else line for line in message.splitlines() if line]
    return lines
