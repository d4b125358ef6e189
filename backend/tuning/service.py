"""Labelling a misunderstood message: the intent it really was (or out_of_scope), recorded and
written, masked, into the NLU training data. Flushes, never commits; the file is written
before the transaction commits, so a failed commit leaves at worst an example without its
record (the next label of it is then a no-op on the file)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.conversations.messages import Message
from backend.errors import Invalid, NotFound
from backend.policy_files import read_yaml
from backend.tuning.annotation import EntityMark, MarkRefused, annotate
from backend.tuning.masking import training_text
from backend.tuning.models import MessageLabel
from backend.tuning.training_data import add_example, known_entities, known_intents

LABELLED_FILE = Path("data") / "nlu" / "labelled.yml"
DEFAULT_THRESHOLD = 0.6


@lru_cache
def fallback_threshold(nlu_dir: Path) -> float:
    """The assistant's own fallback threshold (nlu/config.yml): below it, a reading is low."""
    try:
        config = read_yaml((nlu_dir / "config.yml").read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        return DEFAULT_THRESHOLD
    for component in config.get("pipeline", []):
        if component.get("name") == "FallbackClassifier":
            return float(component.get("threshold", DEFAULT_THRESHOLD))
    return DEFAULT_THRESHOLD


def intents(nlu_dir: Path) -> list[str]:
    return sorted(known_intents(nlu_dir / "domain"))


def entities(nlu_dir: Path) -> list[str]:
    return sorted(known_entities(nlu_dir / "domain"))


def label(
    session: Session,
    *,
    message_id: int,
    intent: str,
    by: str,
    nlu_dir: Path,
    marks: Sequence[EntityMark] = (),
) -> MessageLabel:
    """`marks`: entities in the masked text, written in Rasa's annotation syntax."""
    message = session.get(Message, message_id)
    if message is None or message.sender != "borrower":
        raise NotFound(f"no borrower message {message_id}")
    if intent not in known_intents(nlu_dir / "domain"):
        raise Invalid(f"unknown intent {intent!r}", code="unknown_intent")
    masked = training_text(message.text)
    if not masked:
        raise Invalid("an empty message cannot be a training example", code="empty_example")
    try:
        example = annotate(
            masked,
            marks,
            entities=known_entities(nlu_dir / "domain"),
            unmasked=" ".join(message.text.split()),
        )
    except MarkRefused as exc:
        raise Invalid(exc.message, code=exc.code) from exc
    existing = session.scalar(select(MessageLabel).where(MessageLabel.message_id == message_id))
    try:
        add_example(
            nlu_dir / LABELLED_FILE,
            intent=intent,
            text=example,
            replaces=(existing.intent, existing.example) if existing is not None else None,
        )
    except OSError as exc:  # e.g. a mounted nlu/ checkout the backend's user may not write
        raise Invalid(
            f"the training data could not be written ({exc.strerror}): see README, Production",
            code="training_data_unwritable",
        ) from exc
    if existing is not None:
        existing.intent, existing.example, existing.labelled_by = intent, example, by
        session.flush()
        return existing
    row = MessageLabel(message_id=message_id, intent=intent, example=example, labelled_by=by)
    session.add(row)
    session.flush()
    return row
