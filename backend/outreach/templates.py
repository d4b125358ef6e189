"""Reminder texts operations write (`config/outreach_templates.yml`), and the buttons under them.

A template is plain text with `{variable}` fields from the fixed list below, in Chinese and
English. Anything else `str.format` would do with a field (attributes, indexes, format specs,
conversions) is refused when the file is loaded: a template is text to fill in, not code, and a
mistake should stop start-up rather than fail on the morning's first reminder. Pure: no I/O
beyond reading the file.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, RootModel, field_validator

from backend.policy_files import PolicyFileError, load_policy

TEMPLATES_FILE = "outreach_templates.yml"
LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
_NAME = re.compile(r"[a-z0-9_]+")
MAX_CHARS = 1000  # a reminder is read on a phone; Telegram's own limit is 4,096

VARIABLES: dict[str, str] = {
    "name": "the borrower's full name",
    "loan_ref": "the loan's reference",
    "currency": "the loan's currency code, e.g. CNY",
    "amount_due": "what is due now, or at the due date the reminder is about, e.g. 1037.50",
    "due_date": "the due date the reminder is about (an installment's), e.g. 2026-12-05",
    "days_to_due": "days from today to that due date",
    "dpd": "days past due",
    "overdue_amount": "what is overdue",
    "payoff_amount": "what settles the loan in full today",
    "promise_amount": "the amount of the open promise to pay",
    "promise_date": "the date of the open promise to pay",
    "installment_amount": "the next installment's amount",
    "installment_date": "the next installment's due date",
    "link": "SMS only: the address that opens the web chat, already linked to the borrower",
}
# Only SMS texts have a link (a chat reminder has its buttons); every SMS text needs one.
SMS_ONLY = frozenset({"link"})

BUTTON_TITLES: dict[str, dict[str, str]] = {
    "pay_now": {"zh": "立即还款", "en": "Pay now"},
    "see_plans": {"zh": "查看还款方案", "en": "Payment plans"},
    "talk_to_person": {"zh": "转人工", "en": "Talk to a person"},
}
# What pressing a button sends back into the chat: the intent the assistant already handles
# (nlu/domain/base.yml), so a reminder's button works like typing the request.
BUTTON_PAYLOADS: dict[str, str] = {
    "pay_now": "/make_payment",
    "see_plans": "/request_installment",
    "talk_to_person": "/request_human",
}


def fields_of(text: str) -> list[str]:
    """The variables a template names; ValueError for anything but plain `{name}` fields."""
    found = []
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:  # a lone { or }
        raise ValueError(f"{exc} (write {{{{ or }}}} for a literal brace)") from exc
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        converted = f"!{conversion}" if conversion else ""
        shown = "{" + field + converted + (f":{spec}" if spec else "") + "}"
        if not field.isidentifier():
            raise ValueError(f"{shown} is not a plain variable like {{name}}")
        if spec or conversion:
            raise ValueError(f"{shown}: formatting is not allowed, write {{{field}}}")
        if field not in VARIABLES:
            raise ValueError(f"unknown variable {{{field}}}; known: {', '.join(sorted(VARIABLES))}")
        found.append(field)
    return found


class _Text(BaseModel):
    """One template in each language."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    zh: str
    en: str

    @field_validator("zh", "en")
    @classmethod
    def _valid(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the text is empty")
        if len(value) > MAX_CHARS:
            raise ValueError(f"longer than {MAX_CHARS} characters: keep reminders short")
        fields_of(value)
        return value


class _File(RootModel[dict[str, _Text]]):
    @field_validator("root")
    @classmethod
    def _names(cls, value: dict[str, _Text]) -> dict[str, _Text]:
        for name in value:
            if not _NAME.fullmatch(name):
                raise ValueError(f"template name {name!r} may only use a-z, 0-9 and _")
        return value


class Templates:
    """The loaded templates, by name."""

    __slots__ = ("_texts", "_variables", "names")

    def __init__(self, texts: Mapping[str, Mapping[str, str]]) -> None:
        for name, by_language in texts.items():
            missing = [lang for lang in LANGUAGES if lang not in by_language]
            if missing:
                raise ValueError(f"template {name!r} has no {' or '.join(missing)} text")
        self._texts = {name: dict(by_language) for name, by_language in texts.items()}
        self._variables = {
            name: frozenset(f for text in by_language.values() for f in fields_of(text))
            for name, by_language in self._texts.items()
        }
        self.names: frozenset[str] = frozenset(self._texts)

    def variables(self, name: str) -> frozenset[str]:
        """The variables the template names, in either language."""
        return self._variables[name]

    def text(self, name: str, language: str) -> str:
        by_language = self._texts[name]
        return by_language.get(language, by_language[DEFAULT_LANGUAGE])

    def render(self, name: str, language: str, values: Mapping[str, str]) -> str:
        """The template in the language (Chinese when unknown), filled in; KeyError when a
        variable it names has no value."""
        return self.text(name, language).format_map(values)


def load_templates(config_dir: Path) -> Templates:
    """The validated templates file; raises `PolicyFileError` naming the file and the problem."""
    path = config_dir / TEMPLATES_FILE
    loaded = load_policy(path, _File)
    if not loaded.root:
        raise PolicyFileError(f"{path}: no templates")
    return Templates({name: t.model_dump() for name, t in loaded.root.items()})


def buttons(names: Sequence[str], language: str) -> list[dict[str, str]]:
    """The buttons under a reminder, titled in the language (Chinese when unknown)."""
    lang = language if language in LANGUAGES else DEFAULT_LANGUAGE
    return [{"title": BUTTON_TITLES[n][lang], "payload": BUTTON_PAYLOADS[n]} for n in names]
