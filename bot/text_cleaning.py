"""What the gateway takes from a channel before anything else reads it: text without NUL
characters or lone surrogates. Neither can be stored (PostgreSQL refuses NUL in text; a lone
surrogate cannot be encoded as UTF-8), and one such message would otherwise fail on every path
it takes, the spool included. Pure."""

from __future__ import annotations

import re

# Any surrogate left in a str is a lone one: JSON's escaped pairs are joined when decoded.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def clean(text: str) -> str:
    """The text without NUL characters and lone surrogates (the rest as written)."""
    return _UNSTORABLE.sub("", text)


def clean_optional(text: str | None) -> str | None:
    return None if text is None else clean(text)
