"""A turn that fails on the way to Rasa is sent again, marked as a try again of the same
message (Rasa then answers it from its tracker if it ran it: nlu/turns.py); one that Rasa had
for too long, or refused, is not."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from bot import metrics
from bot.rasa_client import RasaClient, RasaUnavailable

pytestmark = pytest.mark.anyio
ANSWER = [{"recipient_id": "webchat:1", "text": "您好"}]


def rasa_answering(*outcomes: int | type[Exception]) -> tuple[Callable[..., Any], list[dict]]:
    """A Rasa that fails as `outcomes` say (a status, or a transport error), then answers."""
    bodies: list[dict[str, Any]] = []
    left = list(outcomes)

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        if left:
            outcome = left.pop(0)
            if isinstance(outcome, int):
                return httpx.Response(outcome, json={"error": "not now"})
            raise outcome("failed", request=request)
        return httpx.Response(200, json=ANSWER)

    return handler, bodies


def client(handler: Callable[..., Any], retry_seconds: float = 10.0) -> RasaClient:
    return RasaClient(
        "http://rasa", retry_seconds=retry_seconds, transport=httpx.MockTransport(handler)
    )


def retries() -> float:
    return metrics.RASA_RETRIES._value.get()


@pytest.mark.parametrize(
    "failures",
    [(502,), (503,), (504,), (httpx.ConnectError,), (502, httpx.ReadError, 503)],
)
async def test_a_turn_that_failed_on_the_way_is_sent_again_as_a_retry(
    failures: tuple[int | type[Exception], ...],
) -> None:
    handler, bodies = rasa_answering(*failures)
    before = retries()
    rasa = client(handler)
    try:
        assert (
            await rasa.turn("webchat:1", "你好", {"channel": "webchat"}, turn_id="w7")
        ).replies == ANSWER
    finally:
        await rasa.aclose()
    assert len(bodies) == len(failures) + 1
    assert bodies[0]["metadata"] == {"channel": "webchat", "turn": "w7"}
    for again in bodies[1:]:
        assert again["metadata"] == {"channel": "webchat", "turn": "w7", "retry": True}
    assert retries() - before == len(failures)


@pytest.mark.parametrize("failure", [httpx.ReadTimeout, 500, 401, 404])
async def test_a_turn_rasa_had_for_too_long_or_refused_is_not_sent_again(
    failure: int | type[Exception],
) -> None:
    handler, bodies = rasa_answering(failure)
    rasa = client(handler)
    try:
        with pytest.raises(RasaUnavailable):
            await rasa.turn("webchat:1", "你好", turn_id="w7")
    finally:
        await rasa.aclose()
    assert len(bodies) == 1


async def test_without_the_messages_id_a_turn_is_never_sent_again() -> None:
    handler, bodies = rasa_answering(502)
    rasa = client(handler)
    try:
        with pytest.raises(RasaUnavailable):
            await rasa.turn("webchat:1", "你好")
    finally:
        await rasa.aclose()
    assert len(bodies) == 1


async def test_it_gives_up_after_its_time_and_the_caller_hears_so() -> None:
    handler, bodies = rasa_answering(*[503] * 50)
    rasa = client(handler, retry_seconds=1.0)
    try:
        with pytest.raises(RasaUnavailable):
            await rasa.turn("webchat:1", "你好", turn_id="w7")
    finally:
        await rasa.aclose()
    assert 1 < len(bodies) < 5  # 0.5 s, then the next pause would pass the second


async def test_a_message_the_channel_delivered_again_goes_as_a_retry_from_the_start() -> None:
    handler, bodies = rasa_answering()
    rasa = client(handler)
    try:
        await rasa.turn("telegram:5", "hi", turn_id="m12", again=True)
    finally:
        await rasa.aclose()
    assert bodies == [
        {"sender": "telegram:5", "message": "hi", "metadata": {"turn": "m12", "retry": True}}
    ]
