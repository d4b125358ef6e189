"""Entities marked in a training example, written in Rasa's annotation syntax
(`我下周五还[两千五](amount)`). Pure: no database, web or file access."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from backend.tuning.masking import PLACEHOLDERS

MAX_MARKS = 3
# Rasa reads these as annotation syntax; there is no way to escape them inside an entity.
_SYNTAX = frozenset("[]()")
_ANNOTATED = re.compile(r"\[([^\]]+)\]\([^)]+\)")


@dataclass(frozen=True, slots=True)
class EntityMark:
    entity: str
    words: str  # exactly as they appear in the masked example


class MarkRefused(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def plain(example: str) -> str:
    """The example's words without the annotation (what the borrower wrote, masked)."""
    return _ANNOTATED.sub(r"\1", example)


def annotate(
    example: str, marks: Sequence[EntityMark], *, entities: Collection[str], unmasked: str = ""
) -> str:
    """`example` (masked) with each mark's first occurrence annotated. `unmasked`: the text
    before masking, to tell a mark of masked-out words from a mark of words not there at all."""
    if len(marks) > MAX_MARKS:
        raise MarkRefused("too_many_marks", f"mark at most {MAX_MARKS} entities")
    spans: list[tuple[int, int, EntityMark]] = []
    for mark in marks:
        start, end = _span(example, mark, entities=entities, unmasked=unmasked)
        for s, e, other in spans:
            if start < e and s < end:
                raise MarkRefused(
                    "overlapping_marks",
                    f"the marks {other.words!r} and {mark.words!r} overlap: mark each word once",
                )
        spans.append((start, end, mark))
    annotated = example
    for start, end, mark in sorted(spans, key=lambda s: s[0], reverse=True):
        annotated = f"{annotated[:start]}[{annotated[start:end]}]({mark.entity}){annotated[end:]}"
    return annotated


def _span(
    example: str, mark: EntityMark, *, entities: Collection[str], unmasked: str
) -> tuple[int, int]:
    if mark.entity not in entities:
        raise MarkRefused("unknown_entity", f"unknown entity {mark.entity!r}")
    words = mark.words
    if not words.strip():
        raise MarkRefused("empty_mark", f"say which words are the {mark.entity}")
    if any(p in words for p in PLACEHOLDERS):
        raise MarkRefused("masked_words", _masked(mark.entity))
    start = example.find(words)
    if start < 0:
        if words in unmasked:
            raise MarkRefused("masked_words", _masked(mark.entity))
        raise MarkRefused(
            "words_not_found",
            f"{words!r} is not in the message as it will be written: copy the words exactly",
        )
    end = start + len(words)
    if any(start < e and s < end for s, e in placeholder_spans(example)):
        raise MarkRefused("masked_words", _masked(mark.entity))
    if _SYNTAX & set(words):
        raise MarkRefused("bracket_in_mark", f"{words!r}: words with brackets cannot be marked")
    return start, end


def _masked(entity: str) -> str:
    # The words themselves are not repeated: they are the personal data masking kept out.
    return (
        f"the words marked as {entity} are personal data (a phone, ID or account number) that "
        "masking removes from the training data, so they cannot be marked"
    )


def placeholder_spans(example: str) -> list[tuple[int, int]]:
    found = []
    for placeholder in PLACEHOLDERS:
        at = example.find(placeholder)
        while at >= 0:
            found.append((at, at + len(placeholder)))
            at = example.find(placeholder, at + 1)
    return found
