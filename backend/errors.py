"""Domain errors, mapped to HTTP in one place (the handler in `main.create_app`).

Each carries a short machine-readable `code` beside the message, and where the message names
figures (dates, amounts, limits) the same figures as `params`, so the action server can tell a
borrower in their own language without parsing English.
"""

from __future__ import annotations

from collections.abc import Mapping


class DomainError(Exception):
    status_code = 400
    default_code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        params: Mapping[str, str | int] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.params = dict(params or {})


class NotFound(DomainError):
    status_code = 404
    default_code = "not_found"


class Forbidden(DomainError):
    status_code = 403
    default_code = "forbidden"


class Conflict(DomainError):
    status_code = 409
    default_code = "conflict"


class Invalid(DomainError):
    status_code = 422
    default_code = "invalid"


class Locked(DomainError):
    status_code = 423
    default_code = "locked"
