from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base
from backend.types import UTCDateTime, utcnow


class MessageLabel(Base):
    """What a borrower message really meant, as operations labelled it; the masked text went
    into the NLU training data under that intent."""

    __tablename__ = "message_labels"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), unique=True)
    intent: Mapped[str] = mapped_column(String(100))  # an intent, or out_of_scope
    example: Mapped[str] = mapped_column(Text)  # the text as written to the training data
    labelled_by: Mapped[str] = mapped_column(String(100))
    labelled_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TrainedModel(Base):
    """An assistant model the backend keeps and serves to Rasa: the one `make train` built
    (`source` base) or one retrained from the console, with its training progress and its
    scores on the held-out test split."""

    __tablename__ = "trained_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)  # the model file's name
    source: Mapped[str] = mapped_column(String(12))  # base | retrained
    stage: Mapped[str] = mapped_column(String(12))  # STAGES in tuning/retraining.py
    progress: Mapped[int] = mapped_column(Integer, default=0)  # percent, an estimate
    error: Mapped[str] = mapped_column(Text, default="")
    examples: Mapped[int] = mapped_column(Integer, default=0)  # NLU examples trained on
    scores: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    started_by: Mapped[str] = mapped_column(String(100), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class ModelDeployment(Base):
    """Which model Rasa should run: the newest row. Promotion and restoring both add one, so
    the history of what ran when stays."""

    __tablename__ = "model_deployments"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("trained_models.id"))
    action: Mapped[str] = mapped_column(String(8))  # promote | restore
    by: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
