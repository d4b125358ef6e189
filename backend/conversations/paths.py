"""The channel in a conversation's path: a closed set, so the OpenAPI document lists it and
anything else is a 422 before a route runs."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path
from pydantic import BaseModel, Field, ValidationError, ValidatorFunctionWrapHandler, WrapValidator
from pydantic_core import PydanticCustomError

from backend.text_fields import StoredText

Channel = Literal["telegram", "webchat", "whatsapp", "sms"]


def _known_channel(value: object, handler: ValidatorFunctionWrapHandler) -> object:
    try:
        return handler(value)
    except ValidationError:
        # One sentence naming the choices, and never the value sent.
        raise PydanticCustomError(
            "unknown_channel", "unknown channel; expected one of telegram, webchat, whatsapp, sms"
        ) from None


ChannelName = Annotated[Channel, WrapValidator(_known_channel)]  # in a body
ChannelPath = Annotated[ChannelName, Path(description="telegram, webchat, whatsapp or sms")]


class ChatPath(BaseModel):
    """A chat's path parameters as the routes under `/conversations/{channel}/{user_id}` take
    them (ChannelPath, UserPath), for the requests served before routing (hot_routes.py)."""

    channel: ChannelName
    user_id: Annotated[StoredText, Field(max_length=128)]
