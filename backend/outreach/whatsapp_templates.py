"""WhatsApp's message templates (`config/whatsapp.yml`): outside 24 hours of the borrower's last
message, WhatsApp carries only a template Meta approved, by its name and language, with its
parameters. The file says what was approved (each body with its {{1}}, {{2}}... placeholders)
and which figure fills each placeholder; start-up checks the two agree, so a reminder never
reaches Meta with a parameter too many or too few (Meta refuses it, code 132000). Pure: no I/O
beyond reading the file."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from backend.outreach.templates import LANGUAGES, SMS_ONLY, VARIABLES
from backend.policy_files import load_policy

WHATSAPP_FILE = "whatsapp.yml"
_PLACEHOLDER = re.compile(r"\{\{(\d+)\}\}")
_NAME = re.compile(r"[a-z0-9_]{1,512}")  # Meta's rule for a template's name
_LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(_[A-Z]{2})?")
MAX_BODY = 1024  # Meta's limit on a template's body
MAX_PARAM = 300  # keeps a filled body within Meta's limit whatever a name runs to


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WhatsAppTemplate(_Frozen):
    """One approved template: the figures for its placeholders, in order, and its body in each
    language as approved (the transcript shows it filled in)."""

    params: tuple[str, ...] = ()
    body: dict[str, str]

    @field_validator("params")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        usable = sorted(set(VARIABLES) - SMS_ONLY)
        for p in value:
            if p not in usable:
                raise ValueError(f"unknown parameter {p!r}; expected some of {', '.join(usable)}")
        return value

    @field_validator("body")
    @classmethod
    def _every_language(cls, value: dict[str, str]) -> dict[str, str]:
        missing = [lang for lang in LANGUAGES if not (value.get(lang) or "").strip()]
        if missing:
            raise ValueError(f"no body in {missing[0]}")
        extra = sorted(set(value) - set(LANGUAGES))
        if extra:
            raise ValueError(f"unknown language {extra[0]!r}; expected {', '.join(LANGUAGES)}")
        return value

    @model_validator(mode="after")
    def _placeholders(self) -> WhatsAppTemplate:
        wanted = {str(n) for n in range(1, len(self.params) + 1)}
        for lang, text in self.body.items():
            if len(text) > MAX_BODY:
                raise ValueError(f"the {lang} body is longer than {MAX_BODY} characters")
            found = set(_PLACEHOLDER.findall(text))
            if found != wanted:
                shown = ", ".join(f"{{{{{n}}}}}" for n in sorted(wanted, key=int)) or "none"
                raise ValueError(
                    f"the {lang} body's placeholders do not match its {len(self.params)} "
                    f"parameters (expected {shown})"
                )
        return self


class WhatsAppTemplates(_Frozen):
    """`config/whatsapp.yml`."""

    # Our language -> the language code the template was approved in (zh -> zh_CN).
    languages: dict[str, str] = Field(default_factory=lambda: {"zh": "zh_CN", "en": "en"})
    templates: dict[str, WhatsAppTemplate]
    # The template a collector may send when the window is closed (no figures: the chat may
    # not be verified, and whoever holds the phone reads it).
    collector: str

    @field_validator("languages")
    @classmethod
    def _codes(cls, value: dict[str, str]) -> dict[str, str]:
        for lang in LANGUAGES:
            code = value.get(lang, "")
            if not _LANGUAGE_CODE.fullmatch(code):
                raise ValueError(f"{lang}: {code!r} is not a WhatsApp language code (zh_CN, en)")
        return value

    @field_validator("templates")
    @classmethod
    def _names(cls, value: dict[str, WhatsAppTemplate]) -> dict[str, WhatsAppTemplate]:
        for name in value:
            if not _NAME.fullmatch(name):
                raise ValueError(f"{name!r}: a template's name is a-z, 0-9 and _ (Meta's rule)")
        return value

    @model_validator(mode="after")
    def _collector_exists(self) -> WhatsAppTemplates:
        template = self.templates.get(self.collector)
        if template is None:
            raise ValueError(f"collector: no template named {self.collector!r}")
        if template.params:
            raise ValueError(
                f"collector: {self.collector!r} has parameters; the collectors' template has "
                "none (it may reach whoever holds the phone before they verify)"
            )
        return self

    def fill(self, name: str, language: str, values: dict[str, str]) -> Filled:
        """The template as it goes to Meta, and its body as the borrower will read it."""
        template = self.templates[name]
        lang = language if language in LANGUAGES else LANGUAGES[0]
        params = tuple(_param(values.get(p, "")) for p in template.params)
        text = _PLACEHOLDER.sub(lambda m: params[int(m.group(1)) - 1], template.body[lang])
        return Filled(name, self.languages[lang], params, text)


@dataclass(frozen=True, slots=True)
class Filled:
    name: str
    language: str  # Meta's code
    params: tuple[str, ...]
    text: str  # the body filled in: what the transcript keeps

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "language": self.language, "params": list(self.params)}


def _param(value: str) -> str:
    """Meta refuses a parameter that is empty or has a line break, a tab or more than four
    spaces in a row."""
    return " ".join(value.split())[:MAX_PARAM] or "-"


def load_whatsapp_templates(config_dir: Path) -> WhatsAppTemplates:
    return load_policy(config_dir / WHATSAPP_FILE, WhatsAppTemplates)
