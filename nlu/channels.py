"""The REST channel the gateway talks to (credentials.yml: `channels.GatewayInput`). Rasa's own
`rest` channel, on the same path (`/webhooks/rest/webhook`) and with the same bodies, plus two
things it lacks:

- it answers 401 to any call without `Authorization: Bearer <RASA_TOKEN>`: the API token
  (`--auth-token`) does not cover input channels, and without this anyone reaching Rasa could
  talk as any borrower's chat past the gateway;
- it redeems a link token itself: `/verify_token{"token": "..."}` (the gateway's translation of
  `/start <token>`) is verified with the backend here, and Rasa gets only `/verify_token` with
  the backend's answer in the message metadata (`link_verification`). Rasa stores every
  message in its tracker, so a token that reached it would be readable there for as long as
  the tracker is kept;
- it runs each turn once however often the gateway sends it (a try again after a failure), and
  answers 503 when a turn fails, so that the gateway knows (Rasa's channel answers 200 with
  whatever replies were made before the failure, often none): see turns.py. A turn whose action
  could not be run is not saved, and is a 503 when the action server was not reached (the
  gateway sends it again) or a 500 when it answered with an error (the gateway tells the
  borrower at once: running it again would fail again);
- asked with `?reading=true`, it answers `{"replies": [...], "reading": {...}}`: the replies and
  what the NLU made of the message (intent, confidence, entities), which the gateway stores
  with the message. Without it the gateway would read the tracker back for that, one more call
  per message. The message is parsed once, here, and Rasa's processor takes that parse;
- the messages that arrive while Rasa is busy are parsed together, in one run of the NLU graph
  when it is next free (parses.py): DIET, most of a parse, costs half as much a message four at
  a time, a quarter sixteen at a time;
- given the message as the backend logs it (`"inbound": {"text", "external_id", "sent_at",
  "kind"}`), it logs it with the backend while the NLU parses it, and runs the turn only once
  the backend has answered that the bot has the chat: the borrower's message is in the
  transcript before the assistant acts on it, as when the gateway logged it first, and the
  call costs no time of its own (it took a third of the gateway's path with one borrower). The
  messages that arrive together are logged in one call (`/api/v1/inbound`, inbound_log.py).
  The backend's answer comes back as `"inbound"`; no turn runs when a collector has the chat,
  when the message opted the chat out (the gateway sends the confirmation's turn), or when the
  backend did not answer (`{"error": ...}`: the gateway logs the message itself, or keeps it)."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.exceptions import RasaException
from rasa.shared.nlu.constants import ENTITIES, INTENT_NAME_KEY
from sanic import Blueprint, response
from sanic.request import Request
from inbound_log import InboundLog  # beside this file, as Rasa runs it
from parses import ParsedTogether
from turns import (  # beside this file too
    RETRY_KEY,
    ActionFailed,
    Turn,
    TurnFailed,
    run_once,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

LINK_INTENT = "verify_token"
METADATA_KEY = "link_verification"  # what actions/verification.py reads
CHANNELS = ("telegram", "webchat", "whatsapp")  # as actions/backend.py maps a sender id
_ANSWER = ("status", "attempts_left", "language", "first_name")  # no token, nothing else
_REQUEST_ID = re.compile(r"[A-Za-z0-9-]{16,64}")  # as the gateway and the backend accept it
INBOUND_FIELDS = ("text", "external_id", "sent_at", "kind")  # the backend's InboundMessage
INBOUND_SECONDS = 5.0  # then the gateway logs the message itself, with its own retries
# Under the backend's keep-alive (75 s as the project starts it, uvicorn's default 5 s): an
# idle connection is given up before the backend closes it, so a message is never logged over a
# connection being closed (that failed with ClientOSError under load, and the gateway had to log
# the message and send it again).
BACKEND_KEEPALIVE_SECONDS = 4.0


def bearer_matches(header: str | None, secret: str) -> bool:
    """Whether an Authorization header carries exactly this bearer secret (constant time)."""
    scheme, _, given = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not secret:
        return False
    return hmac.compare_digest(given.strip().encode(), secret.encode())


def link_token_of(text: str | None) -> tuple[str] | None:
    """None when the message is not the link-token intent; else a 1-tuple of the token ("" when
    it carries none). Read with Rasa's own payload pattern, so every spelling Rasa would take as
    `verify_token` ("/ verify_token{...}", "/verify_token@1.0{...}") is caught here."""
    match = YAMLStoryReader._regex_message_pattern().match((text or "").strip())
    if match is None or (match.group(INTENT_NAME_KEY) or "").strip() != LINK_INTENT:
        return None
    try:
        entities = json.loads(match.group(ENTITIES) or "{}")
    except ValueError:
        return ("",)
    token = entities.get("token") if isinstance(entities, dict) else None
    return (token.strip() if isinstance(token, str) else "",)


def request_id_of(metadata: dict[str, Any]) -> str | None:
    """The gateway's request id in a message's metadata (bot/request_ids.py), if well formed."""
    value = metadata.get("request_id")
    return value if isinstance(value, str) and _REQUEST_ID.fullmatch(value) else None


def chat_of(sender_id: str) -> tuple[str, str]:
    channel, sep, user_id = sender_id.partition(":")
    if sep and channel in CHANNELS and user_id:
        return channel, user_id
    return "webchat", sender_id


class GatewayInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"  # the same URL as Rasa's rest channel: /webhooks/rest/webhook

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> GatewayInput:
        credentials = credentials or {}
        missing = [k for k in ("token", "backend_url", "service_token") if not credentials.get(k)]
        if missing:
            raise RasaException(f"credentials.yml: {cls.__name__} needs {', '.join(missing)}")
        return cls(
            str(credentials["token"]),
            str(credentials["backend_url"]),
            str(credentials["service_token"]),
        )

    def __init__(self, token: str, backend_url: str, service_token: str) -> None:
        self.token = token
        self.backend_url = backend_url.rstrip("/")
        self.service_token = service_token
        self._backend: aiohttp.ClientSession | None = None  # one pool, made on Rasa's loop
        self.parses = ParsedTogether()  # the messages that arrive together, parsed together
        # and logged with the backend together
        self.inbound_log = InboundLog(self.backend_url, service_token, self._backend_session)

    def _backend_session(self) -> aiohttp.ClientSession:
        if self._backend is None or self._backend.closed:
            timeout = aiohttp.ClientTimeout(total=INBOUND_SECONDS)
            sent = aiohttp.TraceConfig()
            sent.on_request_chunk_sent.append(_body_sent)
            self._backend = aiohttp.ClientSession(
                timeout=timeout,
                trace_configs=[sent],
                connector=aiohttp.TCPConnector(keepalive_timeout=BACKEND_KEEPALIVE_SECONDS),
            )
        return self._backend

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Rasa's REST routes (`/` and `/webhook`, same bodies). A turn goes to the agent's
        processor under the conversation's lock, taken here (turns.py); `on_new_message`,
        Rasa's agent.handle_message, takes that lock itself, so it is not used."""
        blueprint = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @blueprint.middleware("request")
        async def authenticate(request: Request) -> response.HTTPResponse | None:
            if bearer_matches(request.headers.get("Authorization"), self.token):
                return None
            return response.json(
                {"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": "Bearer"}
            )

        @blueprint.route("/", methods=["GET"])
        async def health(_: Request) -> response.HTTPResponse:
            return response.json({"status": "ok"})

        @blueprint.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> response.HTTPResponse:
            agent = getattr(request.app.ctx, "agent", None)
            with_reading = request.args.get("reading", "").lower() in ("1", "true")
            status, body = await self.answer(agent, request.json, with_reading=with_reading)
            return response.json(body, status=status)

        return blueprint

    async def answer(self, agent: Any, body: Any, *, with_reading: bool = False) -> tuple[int, Any]:
        """The status and body for one message: 200 and its replies (and its reading, when
        asked), or 503 when its turn failed (the gateway may send it again)."""
        body = body if isinstance(body, dict) else {}
        metadata = body.get("metadata")
        message = UserMessage(
            body.get("message"),
            CollectingOutputChannel(),
            body.get("sender"),
            input_channel=body.get("input_channel") or self.name(),
            metadata=metadata if isinstance(metadata, dict) else None,
        )
        inbound = body.get("inbound")
        logged: dict[str, Any] | None = None
        try:
            if isinstance(inbound, dict):
                logged = await self.log_beside_parse(agent, message, inbound)
                if not to_the_bot(logged):
                    return 200, {"replies": [], "reading": None, "inbound": logged}
            turn = await self.turn(agent, message)
        except ActionFailed as failed:  # not saved: the gateway sends it again, or says so
            log.warning("a turn failed: %s was not run (%s)", failed.action, _cause(failed))
            if failed.again:
                return 503, {"error": "an action could not be run: send it again"}
            return 500, {"error": "an action failed"}
        except Exception as exc:  # the kinds only: an error's text can hold the borrower's words
            log.warning("a turn failed (%s): the gateway may send it again", _cause(exc))
            return 503, {"error": "the turn failed: send it again"}
        if not with_reading:
            return 200, turn.replies
        answer = {"replies": turn.replies, "reading": reading_of(turn.reading)}
        if logged is not None:
            answer["inbound"] = logged
        return 200, answer

    async def log_beside_parse(
        self, agent: Any, message: UserMessage, inbound: dict[str, Any]
    ) -> dict[str, Any]:
        """Log the message with the backend while the NLU parses it; the backend's answer (or
        {"error": ...}). A message the backend had logged before is marked as a try again for
        run_once, and the borrower's key for texts under experiment goes to the actions."""
        if agent is None or not agent.is_ready():
            raise TurnFailed("no model loaded yet")
        sent = asyncio.Event()
        logging_it = asyncio.create_task(self.log_inbound(message, inbound, sent))
        logging_it.add_done_callback(lambda _: sent.set())  # answered or failed: not on its way
        if link_token_of(message.text) is None:  # a token is parsed once redeemed, not before
            try:
                # Rasa's NLU holds the event loop while it parses: the call is on its way first.
                message.parse_data = await self.parses.parse(agent.processor, message, sent)
            except BaseException:
                logging_it.cancel()
                raise
        logged = await logging_it
        if to_the_bot(logged):
            metadata = dict(message.metadata or {})
            if logged.get("duplicate") is True:
                metadata[RETRY_KEY] = True
            if isinstance(logged.get("arm_key"), str):
                metadata["arm"] = logged["arm_key"]
            message.metadata = metadata
        return logged

    async def log_inbound(
        self, message: UserMessage, inbound: dict[str, Any], sent: asyncio.Event | None = None
    ) -> dict[str, Any]:
        """The backend's answer to `/inbound` for this message, or {"error": "unavailable"}
        (no answer, 5xx, nonsense) or {"error": "refused", "status": N} (4xx). `sent` is set
        once the request's body is written."""
        channel, sep, user_id = (message.sender_id or "").partition(":")
        if not (sep and channel in CHANNELS and user_id):  # not a chat the gateway names so
            return {"error": "unavailable"}
        logged = {key: inbound.get(key) for key in INBOUND_FIELDS}
        logged.update(channel=channel, user_id=user_id)
        if (request_id := request_id_of(message.metadata or {})) is not None:
            logged["request_id"] = request_id
        return await self.inbound_log.log(logged, sent)

    async def turn(self, agent: Any, message: UserMessage) -> Turn:
        """One message's turn (turns.py runs it once, under the conversation's lock)."""
        if agent is None or not agent.is_ready():
            raise TurnFailed("no model loaded yet")
        process = self._redeeming_link_tokens(_parsed_once(agent.processor, self.parses))
        return await run_once(agent.lock_store, agent.tracker_store.retrieve, message, process)

    def _redeeming_link_tokens(
        self, on_new_message: Callable[[UserMessage], Awaitable[T]]
    ) -> Callable[[UserMessage], Awaitable[T]]:
        async def handle(message: UserMessage) -> T:
            found = link_token_of(message.text)
            metadata = dict(message.metadata or {})
            forged = metadata.pop(METADATA_KEY, None) is not None  # only this channel says it
            if found is None and not forged:
                return await on_new_message(message)
            if found is not None:
                request_id = request_id_of(metadata)
                metadata[METADATA_KEY] = await self.redeem(message.sender_id, found[0], request_id)
            return await on_new_message(
                UserMessage(
                    message.text if found is None else "/" + LINK_INTENT,
                    message.output_channel,
                    message.sender_id,
                    input_channel=message.input_channel,
                    message_id=message.message_id,
                    metadata=metadata,
                )
            )

        return handle

    async def redeem(
        self, sender_id: str, token: str, request_id: str | None = None
    ) -> dict[str, Any]:
        """The backend's answer for this chat and token, or {"status": "failed"} (no token, or
        one the backend cannot read), "refused" (another refusal) or "unavailable".
        `request_id`: the gateway's for this message, sent on so the backend logs it."""
        if not token:
            return {"status": "failed"}
        channel, user_id = chat_of(sender_id)
        url = (
            f"{self.backend_url}/api/v1/conversations/{quote(channel, safe='')}/"
            f"{quote(user_id, safe='')}/verify/link-token"
        )
        headers = {"Authorization": f"Bearer {self.service_token}", "X-Service-Name": "rasa"}
        if request_id:
            headers["X-Request-ID"] = request_id
        timeout = aiohttp.ClientTimeout(total=10)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.post(url, json={"token": token}, headers=headers) as answer,
            ):
                status = answer.status
                body = await answer.json() if status < 400 else None
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            log.warning("link token: the backend is unavailable (%s)", type(exc).__name__)
            return {"status": "unavailable"}
        return _answer(status, body)


def _parsed_once(
    processor: Any, parses: ParsedTogether
) -> Callable[[UserMessage], Awaitable[dict[str, Any] | None]]:
    """Rasa's turn for a message, with the message parsed first so that its reading is at hand:
    the processor takes a message's `parse_data` instead of parsing it again. Rasa's NLU graph
    does not read the tracker, so the parse is the one the processor would make (its own
    /model/parse parses the same way)."""

    async def handle(message: UserMessage) -> dict[str, Any] | None:
        if getattr(message, "parse_data", None) is None:  # parsed already beside the backend
            message.parse_data = await parses.parse(processor, message)
        await processor.handle_message(message)
        return message.parse_data

    return handle


async def _body_sent(_: Any, context: Any, __: Any) -> None:
    """aiohttp's trace signal: a request's body is written (its `trace_request_ctx`: the Events
    of the messages it carries)."""
    for event in context.trace_request_ctx or ():
        if isinstance(event, asyncio.Event):
            event.set()


def to_the_bot(logged: dict[str, Any]) -> bool:
    """Whether the backend's answer to /inbound lets the assistant run the turn."""
    return "error" not in logged and logged.get("mode") == "bot" and not logged.get("opted_out")


def reading_of(parse: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the gateway stores of a parse: the intent, its confidence, and the entities."""
    if not isinstance(parse, dict):
        return None
    intent = parse.get("intent") if isinstance(parse.get("intent"), dict) else {}
    entities = [
        {k: e.get(k) for k in ("entity", "value", "start", "end", "extractor")}
        for e in parse.get("entities") or []
        if isinstance(e, dict)
    ]
    return {
        "intent": intent.get("name"),
        "confidence": intent.get("confidence"),
        "entities": entities,
    }


def _cause(exc: BaseException) -> str:
    """An exception's kind and the kinds it came from (a LockError from a ConnectionError)."""
    kinds: list[str] = []
    seen: BaseException | None = exc
    while seen is not None and len(kinds) < 4:
        kinds.append(type(seen).__name__)
        seen = seen.__cause__ or seen.__context__
    return " from ".join(kinds)


def _answer(status: int, body: Any) -> dict[str, Any]:
    """What the action needs of the backend's answer (never the token, nothing else)."""
    if status == 422:  # malformed: as invalid as an unknown token
        return {"status": "failed"}
    if 400 <= status < 500:
        log.warning("link token: the backend refused (%s)", status)
        return {"status": "refused"}
    if status >= 500 or not isinstance(body, dict) or not isinstance(body.get("status"), str):
        log.warning("link token: the backend answered %s", status)
        return {"status": "unavailable"}
    return {key: body.get(key) for key in _ANSWER}
