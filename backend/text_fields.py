"""Text the API stores, checked where a request is read: a NUL character or a lone surrogate
cannot be stored (PostgreSQL refuses NUL in text; a lone surrogate cannot be encoded as UTF-8)
and would otherwise fail as a 500 when the row is written. A borrower's words (and the bot's)
are cleaned, never lost; an identifier or a field a service sets is refused with a 422.

    text: CleanText              # message text: the unstorable characters are dropped
    author: StoredText | None    # refused (422) when it has one
    entities: CleanJSON          # strings anywhere inside are cleaned
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

# Any surrogate left in a str is a lone one: JSON's escaped pairs are joined when decoded.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def has_unstorable(text: str) -> bool:
    return _UNSTORABLE.search(text) is not None


def clean_text(text: str) -> str:
    """The text without NUL characters and lone surrogates."""
    return _UNSTORABLE.sub("", text)


def clean_json(value: Any) -> Any:
    """A JSON value with every string in it (keys too) cleaned."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [clean_json(v) for v in value]
    if isinstance(value, dict):
        return {clean_json(k): clean_json(v) for k, v in value.items()}
    return value


def _clean_before(value: Any) -> Any:
    # Before the field's own checks, so a length limit counts what is stored.
    return clean_text(value) if isinstance(value, str) else value


def refuse_unstorable(text: str) -> str:
    if has_unstorable(text):
        # The message never repeats the value: it may be what cannot be encoded.
        raise ValueError("contains a NUL character or a lone surrogate, which cannot be stored")
    return text


CleanText = Annotated[str, BeforeValidator(_clean_before)]
# The document says so too (a pattern in the schema), so a client's generator or validator
# knows these characters are refused before it sends them.
STORABLE_PATTERN = "^[^\\u0000\\ud800-\\udfff]*$"
StoredText = Annotated[
    str,
    AfterValidator(refuse_unstorable),
    Field(json_schema_extra={"pattern": STORABLE_PATTERN}),
]
CleanJSON = BeforeValidator(clean_json)  # for Annotated[list[dict[str, Any]] | None, CleanJSON]
