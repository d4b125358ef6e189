"""What a console page says when a change is refused: a weak password in the user's language
(the rule's reason and figures travel with the error), anything else as the backend words it."""

from __future__ import annotations

from backend.console.i18n import translator
from backend.errors import DomainError


def refusal_text(exc: DomainError, language: str) -> str:
    reason = exc.params.get("reason")
    if exc.code == "weak_password" and reason:
        return translator(language)(f"password.{reason}", **exc.params)
    return exc.message
