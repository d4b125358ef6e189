"""A borrower message's turn, run once however often the gateway sends it (channels.py).

The gateway sends a message again when its first try failed on the way: the Rasa replica that
had it was killed (nginx answers 502), the lock store was down, the turn failed (503). Whether
Rasa ran it is in the tracker: Rasa saves a turn whole at its end (the borrower's message and
the replies), so a message whose turn id is in the tracker was answered, and the replies are
sent again from there; one that is not there was not, and runs now. The check and the turn
happen under the conversation's lock: a try that arrives while another still runs waits for it
and then finds its answer.

The lock is Rasa's own lock store (Redis in production, shared by the replicas), taken as
Rasa's agent takes it with one change: Rasa gives a ticket a fixed lifetime (60 s), which the
ticket of a killed replica keeps, holding the conversation up for every other replica all that
time. Here a ticket lives LOCK_SECONDS and its holder renews it while it waits and runs: a dead
holder's ticket is gone within LOCK_SECONDS, a slow turn keeps its place.

A turn whose action could not be run (the action server down, or answering with an error) is
not saved: Rasa would log the failure, drop the action and listen, and save a turn with no
answer, which a try again would then find and send back: nothing, to a borrower waiting for
their balance. In a turn run here, such an action raises ActionFailed instead (serve.py), which
ends the turn before the tracker is saved; the gateway sends it again or tells the borrower."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.lock_store import LockStore
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

log = logging.getLogger(__name__)

TURN_KEY = "turn"  # message metadata: the gateway's id for the borrower message
RETRY_KEY = "retry"  # message metadata: true when the gateway sends it again
LOCK_SECONDS = 10.0
WAIT_SECONDS = 0.5  # between looks at a lock another turn holds


class TurnFailed(Exception):
    """The turn did not happen (or may not have): the gateway may send it again."""


class ActionFailed(BaseException):
    """An action of a turn run here could not be run. A BaseException, so that it passes
    Rasa's processor, which catches every Exception an action raises and goes on."""

    def __init__(self, action: str, *, again: bool) -> None:
        super().__init__(action)
        self.action = action
        # It failed on the way (no action server reached, nginx's 502/503/504, no answer in
        # time): worth sending again. Else the action server answered with an error of its own.
        self.again = again


_RUNNING = contextvars.ContextVar("running_a_turn", default=False)


def running_a_turn() -> bool:
    """Whether the caller is inside a turn run by run_once (so a failed action ends it)."""
    return _RUNNING.get()


@dataclass(frozen=True, slots=True)
class Turn:
    replies: list[dict[str, Any]]  # as the REST channel sends them
    reading: dict[str, Any] | None  # what the NLU made of the message (Rasa's parse data)


async def replies_in(tracker: DialogueStateTracker, turn_id: str) -> Turn | None:
    """The turn as the tracker holds it: the replies as the REST channel sent them and the
    message's reading; None when the tracker has no such turn."""
    events = list(tracker.events)
    for at in range(len(events) - 1, -1, -1):
        event = events[at]
        if isinstance(event, UserUttered) and (event.metadata or {}).get(TURN_KEY) == turn_id:
            collector = CollectingOutputChannel()
            for later in events[at + 1 :]:
                if isinstance(later, UserUttered):
                    break
                if isinstance(later, BotUttered):
                    await collector.send_response(tracker.sender_id, later.message())
            return Turn(collector.messages, event.parse_data or None)
    return None


async def _renew(store: LockStore, conversation_id: str, number: int, seconds: float) -> None:
    """Keep the ticket alive while its turn waits and runs."""
    while True:
        await asyncio.sleep(seconds / 4)
        try:
            lock = store.get_lock(conversation_id)
            ticket = next((t for t in lock.tickets if t.number == number), None) if lock else None
            if ticket is None:
                return
            ticket.expires = time.time() + seconds
            store.save_lock(lock)
        except Exception as exc:  # the lock store is down: the turn fails on its own
            log.warning("a conversation lock was not renewed (%s)", type(exc).__name__)


@contextlib.asynccontextmanager
async def conversation_lock(
    store: LockStore, conversation_id: str, seconds: float = LOCK_SECONDS
) -> AsyncIterator[None]:
    """The conversation's lock, in the order its tickets were issued (Rasa's ticket lock)."""
    try:
        number = store.issue_ticket(conversation_id, seconds)
    except Exception as exc:
        raise TurnFailed(f"no ticket from the lock store ({type(exc).__name__})") from exc
    renewing = asyncio.create_task(_renew(store, conversation_id, number, seconds))
    try:
        while True:  # only looks: no write while waiting, so no waiter undoes another's ticket
            lock = store.get_lock(conversation_id)
            if lock is None or number not in [t.number for t in lock.tickets]:
                raise TurnFailed("the ticket was lost before its turn")
            if not lock.is_locked(number):
                break
            await asyncio.sleep(WAIT_SECONDS)
        yield
    finally:
        renewing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewing
        store.cleanup(conversation_id, number)


async def run_once(
    lock_store: LockStore,
    tracker_of: Callable[[str], Awaitable[DialogueStateTracker | None]],
    message: UserMessage,
    process: Callable[[UserMessage], Awaitable[dict[str, Any] | None]],
) -> Turn:
    """The message's turn: `process` (which returns the message's reading) run under the
    conversation's lock, unless this is a try again of a turn the tracker already has (then
    the turn from there)."""
    metadata = message.metadata or {}
    turn_id = metadata.get(TURN_KEY)
    collector = message.output_channel
    assert isinstance(collector, CollectingOutputChannel)
    async with conversation_lock(lock_store, message.sender_id):
        if isinstance(turn_id, str) and turn_id and metadata.get(RETRY_KEY) is True:
            tracker = await tracker_of(message.sender_id)
            done = await replies_in(tracker, turn_id) if tracker is not None else None
            if done is not None:
                return done
        running = _RUNNING.set(True)
        try:
            reading = await process(message)
        finally:
            _RUNNING.reset(running)
    return Turn(collector.messages, reading)
