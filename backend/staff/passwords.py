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
