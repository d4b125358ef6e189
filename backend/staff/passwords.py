"""Password hashing: argon2 (pwdlib's recommended parameters)."""

from __future__ import annotations

from functools import lru_cache

from pwdlib import PasswordHash


@lru_cache
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    return _hasher().verify(password, password_hash)


@lru_cache
def _decoy() -> str:
    return hash_password("not-a-real-password")


def spend_verify_time(password: str) -> None:
    """As long as a real check: an unknown username answers no faster than a wrong password."""
    verify_password(password, _decoy())


def password_matches(password: str, password_hash: str | None) -> bool:
    """A log-in's check, taking as long with no hash to check (an unknown user, a locked
    address) as with one. Slow by design (argon2): run it in a worker thread, holding no
    database session."""
    if password_hash is None:
        spend_verify_time(password)
        return False
    return verify_password(password, password_hash)
