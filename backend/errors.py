"""Domain errors, mapped to HTTP in one place (the handler in `main.create_app`).

Each carries a short machine-readable `code` beside the message, so the action server can
choose what to tell a borrower without parsing English.
"""

from __future__ import annotations


class DomainError(Exception):
    status_code = 400
    default_code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code


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
