"""The REST channel the gateway talks to (nlu/channels.py) and Rasa's start-up checks
(nlu/serve.py), with Rasa's own code: the bearer check, the link token taken out of the message
before Rasa stores it, and the refusals before Rasa serves."""

from __future__ import annotations

import asyncio
import importlib
import json
import re
import secrets
import sys
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml
from aiohttp import web
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.shared.exceptions import RasaException

from tests import ports

NLU = Path(__file__).resolve().parents[2] / "nlu"
sys.path.insert(0, str(NLU))  # as Rasa runs from nlu/ (credentials.yml: channels.GatewayInput)
channels = importlib.import_module("channels")
serve = importlib.import_module("serve")
GatewayInput = channels.GatewayInput


class TestBearer:
    def test_only_the_exact_secret_passes(self) -> None:
        assert channels.bearer_matches("Bearer s3cret-token", "s3cret-token")
        assert channels.bearer_matches("bearer s3cret-token", "s3cret-token")
        for header in (None, "", "s3cret-token", "Basic s3cret-token", "Bearer s3cret",
                       "Bearer s3cret-token-and-more", "Bearer "):  # fmt: skip
            assert not channels.bearer_matches(header, "s3cret-token"), header

    def test_an_empty_secret_lets_nobody_in(self) -> None:
        assert not channels.bearer_matches("Bearer ", "")


class TestLinkTokenOf:
    @pytest.mark.parametrize(
        "text",
        [
            '/verify_token{"token": "Secret-1"}',
            ' /verify_token{"token":"Secret-1"} ',
            '/ verify_token{"token": "Secret-1"}',
            '/verify_token @1.0{"token": "Secret-1"}',
            '/verify_token@0.5{"token": "Secret-1"}',
        ],
    )
    def test_every_spelling_rasa_reads_as_the_intent(self, text: str) -> None:
        assert channels.link_token_of(text) == ("Secret-1",)

    @pytest.mark.parametrize(
        "text", ["/verify_token", "/verify_token{not json}", '/verify_token{"token": 5}']
    )
    def test_without_a_readable_token_it_is_still_the_intent(self, text: str) -> None:
        assert channels.link_token_of(text) == ("",)

    @pytest.mark.parametrize(
        "text", [None, "", "hello", "/greet", '/choose_offer{"offer_id": "x"}', "verify_token"]
    )
    def test_anything_else_passes_untouched(self, text: str | None) -> None:
        assert channels.link_token_of(text) is None


def channel() -> Any:
    return GatewayInput.from_credentials(
        {"token": "gateway-secret", "backend_url": "http://backend", "service_token": "svc"}
    )


def test_the_channel_keeps_rasas_rest_path_and_needs_every_credential() -> None:
    assert channel().url_prefix() == "rest"  # /webhooks/rest/webhook, as before
    with pytest.raises(RasaException, match="token"):
        GatewayInput.from_credentials({"backend_url": "http://b", "service_token": "s"})


class TestTheMessageRasaGets:
    """What reaches Rasa (and so its tracker) from what the gateway sent."""

    def run(self, text: str, metadata: dict[str, Any] | None = None) -> tuple[UserMessage, list]:
        self.request_ids: list[str | None] = []
        reached: list[UserMessage] = []
        redeemed: list[tuple[str, str]] = []
        gateway = channel()

        async def redeem(
            sender_id: str, token: str, request_id: str | None = None
        ) -> dict[str, Any]:
            redeemed.append((sender_id, token))
            self.request_ids.append(request_id)
            return {"status": "verified", "attempts_left": 3, "language": "zh", "first_name": "强"}

        async def on_new_message(message: UserMessage) -> None:
            reached.append(message)

        gateway.redeem = redeem
        handle = gateway._redeeming_link_tokens(on_new_message)
        message = UserMessage(
            text, CollectingOutputChannel(), "telegram:42", input_channel="rest", metadata=metadata
        )
        asyncio.run(handle(message))
        (only,) = reached
        return only, redeemed

    def test_a_link_token_is_redeemed_and_never_passed_on(self) -> None:
        reached, redeemed = self.run(
            '/verify_token{"token": "Secret-Token-1"}', {"channel": "telegram"}
        )
        assert redeemed == [("telegram:42", "Secret-Token-1")]
        assert reached.text == "/verify_token"
        assert reached.sender_id == "telegram:42"
        assert reached.metadata == {
            "channel": "telegram",
            "link_verification": {
                "status": "verified", "attempts_left": 3, "language": "zh", "first_name": "强"
            },
        }  # fmt: skip
        assert "Secret-Token-1" not in json.dumps(reached.metadata, ensure_ascii=False)

    def test_other_messages_pass_untouched(self) -> None:
        reached, redeemed = self.run("我还欠多少钱", {"channel": "webchat"})
        assert (reached.text, reached.metadata, redeemed) == (
            "我还欠多少钱", {"channel": "webchat"}, []
        )  # fmt: skip

    def test_the_messages_request_id_goes_with_the_redemption(self) -> None:
        given = "0123456789abcdef0123456789abcdef"
        metadata = {"channel": "telegram", "request_id": given}
        reached, _ = self.run('/verify_token{"token": "Secret-Token-1"}', metadata)
        assert self.request_ids == [given] and reached.metadata["request_id"] == given
        self.run('/verify_token{"token": "Secret-Token-1"}', {"request_id": "13800138000"})
        assert self.request_ids == [None]  # not an id: not sent on

    def test_a_caller_cannot_claim_the_answer_itself(self) -> None:
        forged = {"link_verification": {"status": "verified"}, "channel": "webchat"}
        reached, redeemed = self.run("hello", forged)
        assert reached.metadata == {"channel": "webchat"} and redeemed == []


def free_port() -> int:
    return ports.free_port("rasa")


def redeem_against(
    status: int, body: Any, token: str = "Secret-2", request_id: str | None = None
) -> tuple[dict, list]:
    """The channel's redemption against a stand-in backend answering `status` and `body`."""
    calls: list[dict[str, Any]] = []

    async def verify(request: web.Request) -> web.Response:
        calls.append(
            {
                "path": request.path,
                "authorization": request.headers.get("Authorization"),
                "request_id": request.headers.get("X-Request-ID"),
                "body": await request.json(),
            }
        )
        return web.json_response(body, status=status)

    async def scenario() -> dict[str, Any]:
        app = web.Application()
        app.router.add_post("/api/v1/conversations/{channel}/{user}/verify/link-token", verify)
        runner = web.AppRunner(app)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            gateway = GatewayInput("gateway-secret", f"http://127.0.0.1:{port}", "svc-token")
            return await gateway.redeem("webchat:abc", token, request_id)
        finally:
            await runner.cleanup()

    return asyncio.run(scenario()), calls


class TestRedeem:
    def test_the_backends_answer_without_anything_else(self) -> None:
        answer = {"status": "verified", "attempts_left": 3, "locked_until": None,
                  "offer_human": False, "language": "en", "first_name": "Emily"}  # fmt: skip
        result, calls = redeem_against(200, answer)
        assert result == {
            "status": "verified", "attempts_left": 3, "language": "en", "first_name": "Emily"
        }  # fmt: skip
        assert calls == [
            {
                "path": "/api/v1/conversations/webchat/abc/verify/link-token",
                "authorization": "Bearer svc-token",
                "request_id": None,
                "body": {"token": "Secret-2"},
            }
        ]

    @pytest.mark.parametrize(
        ("status", "outcome"), [(422, "failed"), (404, "refused"), (500, "unavailable")]
    )
    def test_a_refusal_or_failure_is_named(self, status: int, outcome: str) -> None:
        assert redeem_against(status, {"detail": "no"})[0] == {"status": outcome}

    def test_the_request_id_is_sent_as_x_request_id(self) -> None:
        given = "0123456789abcdef0123456789abcdef"
        _, calls = redeem_against(200, {"status": "failed"}, request_id=given)
        assert calls[0]["request_id"] == given

    def test_no_token_asks_nothing(self) -> None:
        assert redeem_against(200, {}, token="") == ({"status": "failed"}, [])

    def test_an_unreachable_backend_is_unavailable(self) -> None:
        gateway = GatewayInput("gateway-secret", f"http://127.0.0.1:{free_port()}", "svc")
        assert asyncio.run(gateway.redeem("webchat:abc", "Secret-3")) == {"status": "unavailable"}


class TestServeRefuses:
    PRODUCTION: ClassVar[dict[str, str]] = {
        "APP_ENV": "production",
        **{name: secrets.token_hex(32) for name in serve.PRODUCTION_SECRETS},
    }

    def test_no_token(self) -> None:
        assert "RASA_TOKEN is not set" in serve.refusals({})[0]

    def test_development_short_or_guessable_secrets_in_production(self) -> None:
        assert serve.refusals(self.PRODUCTION) == []
        for name in serve.PRODUCTION_SECRETS:
            for weak in ("dev-rasa-token", "x", "passwordpassword", ""):
                (line,) = serve.refusals({**self.PRODUCTION, name: weak})
                assert line.startswith(f"production refuses {name}: "), (name, weak)
        assert serve.refusals({"RASA_TOKEN": "dev-rasa-token"}) == []  # development

    def test_the_tracker_stores_password_when_it_is_set(self) -> None:
        (line,) = serve.refusals({**self.PRODUCTION, "POSTGRES_PASSWORD": "lender"})
        assert line.startswith("production refuses POSTGRES_PASSWORD: it is shorter than 16")
        assert serve.refusals({**self.PRODUCTION, "POSTGRES_PASSWORD": secrets.token_hex()}) == []

    @pytest.mark.parametrize("app_env", ["Production", "prod", " production"])
    def test_an_unknown_app_env(self, app_env: str) -> None:
        assert serve.refusals({**self.PRODUCTION, "APP_ENV": app_env}) == [
            f"APP_ENV={app_env!r} is not known: set it to one of development, test, production "
            "(exactly)"
        ]

    def test_docker_compose_gives_it_what_production_needs(self) -> None:
        """Rasa's and the trainer's environments in docker-compose.yml, every ${VAR} a
        generated secret, pass."""
        services = yaml.safe_load((NLU.parent / "docker-compose.yml").read_text())["services"]
        for name in ("rasa", "rasa-trainer"):
            env = {
                key: re.sub(r"\$\{[A-Z_]+(:[?-][^}]*)?\}", lambda _: secrets.token_hex(32), str(v))
                for key, v in services[name]["environment"].items()
            }
            assert env["APP_ENV"] == "production"
            assert serve.refusals(env) == [], name

    def test_run_stops_with_one_line_per_problem(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(sys, "argv", ["serve.py", "run", "--enable-api"])
        for name, value in {**self.PRODUCTION, "RASA_TOKEN": "dev-rasa-token"}.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("ACTION_SERVER_TOKEN", "1234567890123456")
        with pytest.raises(SystemExit) as refused:
            serve.main()
        assert str(refused.value.code).splitlines() == [
            "Rasa not started: production refuses RASA_TOKEN: it is a development default "
            "(dev-...); set a random one, e.g. from `openssl rand -hex 32`",
            "Rasa not started: production refuses ACTION_SERVER_TOKEN: it is easy to guess "
            "(repeated characters, sequences or common words); set a random one, e.g. from "
            "`openssl rand -hex 32`",
        ]

    def test_the_token_becomes_rasas_auth_token(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import rasa.__main__

        ran: list[list[str]] = []
        monkeypatch.setattr(rasa.__main__, "main", lambda: ran.append(list(sys.argv)))
        monkeypatch.setattr(sys, "argv", ["serve.py", "run", "--enable-api"])
        monkeypatch.delenv("APP_ENV", raising=False)
        monkeypatch.setenv("RASA_TOKEN", "dev-rasa-token")
        serve.main()
        assert ran == [["serve.py", "run", "--enable-api", "--auth-token=dev-rasa-token"]]


class StandInBackend:
    """The backend's `/api/v1/inbound` on a thread of its own (so it answers while Rasa's NLU
    holds the test's event loop), answering `answer` for each message (with `status`, the
    answer itself: a refusal or failure of the whole call) and noting each call and when it
    came. `answer` may be a function of the message."""

    def __init__(self, answer: Any, status: int = 200) -> None:
        self.answer, self.status = answer, status
        self.whole: Any = None  # answered as it is, when set
        self.calls: list[dict[str, Any]] = []
        self.port = free_port()
        self.ready = threading.Event()
        self.stop: asyncio.Event | None = None
        self.thread = threading.Thread(target=lambda: asyncio.run(self.serve()), daemon=True)

    async def serve(self) -> None:
        async def inbound(request: web.Request) -> web.Response:
            self.calls.append(
                {
                    "path": request.path,
                    "at": time.monotonic(),
                    "body": await request.json(),
                    "authorization": request.headers.get("Authorization"),
                }
            )
            if self.status >= 400:
                return web.json_response(self.answer, status=self.status)
            if self.whole is not None:
                return web.json_response(self.whole)
            messages = self.calls[-1]["body"]["messages"]
            answer = self.answer if callable(self.answer) else lambda _: self.answer
            return web.json_response({"results": [answer(m) for m in messages]})

        app = web.Application()
        app.router.add_post("/api/v1/inbound", inbound)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        self.stop = asyncio.Event()
        self.loop = asyncio.get_running_loop()
        self.ready.set()
        await self.stop.wait()
        await runner.cleanup()

    def __enter__(self) -> StandInBackend:
        self.thread.start()
        self.ready.wait(5)
        return self

    def __exit__(self, *_: object) -> None:
        if self.stop is not None:
            self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(5)


class FakeAgent:
    """What the channel uses of Rasa's agent: a processor whose parse holds the event loop, as
    Rasa's NLU graph does, and whose turn says one thing; a lock store; no trackers."""

    PARSE_SECONDS = 0.3

    def __init__(self) -> None:
        from rasa.core.lock_store import InMemoryLockStore

        self.lock_store = InMemoryLockStore()
        self.tracker_store = self
        self.processor = self
        self.parsed: list[tuple[str, float, float]] = []  # text, start, end
        self.handled: list[UserMessage] = []

    def is_ready(self) -> bool:
        return True

    async def retrieve(self, _: str) -> None:
        return None

    async def parse_message(self, message: UserMessage) -> dict[str, Any]:
        started = time.monotonic()
        time.sleep(self.PARSE_SECONDS)  # blocks the loop, as the NLU does
        self.parsed.append((message.text, started, time.monotonic()))
        return {"text": message.text, "intent": {"name": "greet", "confidence": 0.9},
                "entities": []}  # fmt: skip

    async def handle_message(self, message: UserMessage) -> None:
        self.handled.append(message)
        await message.output_channel.send_text_message(message.sender_id, "您好")


LOGGED = {"message_id": 7, "duplicate": False, "mode": "bot", "language": "zh",
          "verified": True, "opted_out": False, "arm_key": "arm-key-1"}  # fmt: skip
INBOUND = {"text": "你好", "external_id": "w1", "sent_at": "2026-12-05T10:00:00+00:00",
           "kind": "text"}  # fmt: skip


def answer_with(backend_url: str, agent: FakeAgent, text: str = "你好") -> tuple[int, Any]:
    gateway = GatewayInput("gateway-secret", backend_url, "svc-token")
    body = {"sender": "webchat:abc", "message": text, "inbound": INBOUND,
            "metadata": {"channel": "webchat", "turn": "w1"}}  # fmt: skip

    async def scenario() -> tuple[int, Any]:
        try:
            return await gateway.answer(agent, body, with_reading=True)
        finally:
            if gateway._backend is not None:
                await gateway._backend.close()

    return asyncio.run(scenario())


class TestLoggedBesideTheParse:
    def test_the_backend_has_the_message_while_the_nlu_reads_it_and_before_the_turn(
        self,
    ) -> None:
        agent = FakeAgent()
        with StandInBackend(LOGGED) as backend:
            status, body = answer_with(f"http://127.0.0.1:{backend.port}", agent)
        assert status == 200
        (call,) = backend.calls
        (_, _, parse_ended) = agent.parsed[0]
        assert call["at"] < parse_ended  # on its way before the parse, not after it
        assert call["path"] == "/api/v1/inbound"
        assert call["body"] == {"messages": [{**INBOUND, "channel": "webchat", "user_id": "abc"}]}
        assert call["authorization"] == "Bearer svc-token"
        assert len(agent.parsed) == 1  # parsed once: the turn takes that parse
        (turn,) = agent.handled
        assert turn.metadata == {"channel": "webchat", "turn": "w1", "arm": "arm-key-1"}
        assert body["replies"][0]["text"] == "您好"
        assert body["inbound"] == LOGGED and body["reading"]["intent"] == "greet"

    @pytest.mark.parametrize("logged", [{**LOGGED, "mode": "human"}, {**LOGGED, "opted_out": True}])
    def test_no_turn_when_a_collector_has_the_chat_or_it_opted_out(self, logged: dict) -> None:
        agent = FakeAgent()
        with StandInBackend(logged) as backend:
            status, body = answer_with(f"http://127.0.0.1:{backend.port}", agent)
        assert (status, body) == (200, {"replies": [], "reading": None, "inbound": logged})
        assert agent.handled == []

    def test_a_message_logged_before_is_a_try_again(self) -> None:
        agent = FakeAgent()
        with StandInBackend({**LOGGED, "duplicate": True}) as backend:
            answer_with(f"http://127.0.0.1:{backend.port}", agent)
        assert agent.handled[0].metadata["retry"] is True

    @pytest.mark.parametrize(
        ("status", "error"),
        [(503, {"error": "unavailable"}), (422, {"error": "refused", "status": 422})],
    )
    def test_without_the_backends_answer_no_turn_runs(self, status: int, error: dict) -> None:
        agent = FakeAgent()
        with StandInBackend({"detail": "no"}, status=status) as backend:
            assert answer_with(f"http://127.0.0.1:{backend.port}", agent) == (
                200, {"replies": [], "reading": None, "inbound": error}
            )  # fmt: skip
        assert agent.handled == []

    def test_an_unreachable_backend_runs_no_turn(self) -> None:
        agent = FakeAgent()
        status, body = answer_with(f"http://127.0.0.1:{free_port()}", agent)
        assert (status, body["inbound"], agent.handled) == (200, {"error": "unavailable"}, [])

    def test_a_sender_that_names_no_chat_is_left_to_the_gateway(self) -> None:
        with StandInBackend(LOGGED) as backend:
            gateway = GatewayInput("gateway-secret", f"http://127.0.0.1:{backend.port}", "svc")
            message = UserMessage("hi", CollectingOutputChannel(), "sms:+15005550001")
            logged = asyncio.run(gateway.log_inbound(message, INBOUND))
        assert (logged, backend.calls) == ({"error": "unavailable"}, [])

    def test_a_link_token_is_not_parsed_before_it_is_redeemed(self) -> None:
        agent = FakeAgent()
        with StandInBackend({**LOGGED, "mode": "human"}) as backend:
            answer_with(
                f"http://127.0.0.1:{backend.port}", agent, '/verify_token{"token": "Secret-9"}'
            )
        assert agent.parsed == []  # the token never reaches the NLU (nor its parse data)


def answer_together(backend: StandInBackend, texts: list[str]) -> list[tuple[int, Any]]:
    """The gateway's bodies for several chats' messages, reaching the channel at once."""
    gateway = GatewayInput("gateway-secret", f"http://127.0.0.1:{backend.port}", "svc-token")
    agent = FakeAgent()
    agent.PARSE_SECONDS = 0.01

    def body(n: int, text: str) -> dict[str, Any]:
        inbound = {**INBOUND, "text": text, "external_id": f"w{n}"}
        metadata = {"channel": "webchat", "turn": f"w{n}", "request_id": f"request-{n:08d}-id"}
        return {"sender": f"webchat:c{n}", "message": text, "inbound": inbound,
                "metadata": metadata}  # fmt: skip

    async def scenario() -> list[tuple[int, Any]]:
        try:
            return await asyncio.gather(
                *(gateway.answer(agent, body(n, text), with_reading=True)
                  for n, text in enumerate(texts))
            )  # fmt: skip
        finally:
            if gateway._backend is not None:
                await gateway._backend.close()

    return asyncio.run(scenario())


class TestLoggedTogether:
    """The messages that reach the channel together are logged in one call (inbound_log.py)."""

    def test_one_call_for_them_and_each_its_own_answer(self) -> None:
        def logged(message: dict[str, Any]) -> dict[str, Any]:
            return {**LOGGED, "message_id": int(message["external_id"][1:]) + 100}

        texts = ["你好", "hello", "我还欠多少", "转人工", "hi"]
        with StandInBackend(logged) as backend:
            answers = answer_together(backend, texts)
        (call,) = backend.calls
        assert call["body"]["messages"] == [
            {**INBOUND, "text": text, "external_id": f"w{n}", "channel": "webchat",
             "user_id": f"c{n}", "request_id": f"request-{n:08d}-id"}
            for n, text in enumerate(texts)
        ]  # fmt: skip
        for n, (status, body) in enumerate(answers):
            assert (status, body["inbound"]["message_id"]) == (200, 100 + n)
            assert body["replies"][0]["text"] == "您好"

    def test_each_message_refused_or_not_logged_alone(self) -> None:
        def logged(message: dict[str, Any]) -> dict[str, Any]:
            return {
                "w0": LOGGED,
                "w1": {"error": "refused", "status": 422},
                "w2": {"error": "unavailable"},
                "w3": {"something": "else"},
            }[message["external_id"]]

        with StandInBackend(logged) as backend:
            answers = answer_together(backend, ["a", "b", "c", "d"])
        assert len(backend.calls) == 1
        assert answers[0][1]["inbound"] == LOGGED and answers[0][1]["replies"]
        assert [body["inbound"] for _, body in answers[1:]] == [
            {"error": "refused", "status": 422}, {"error": "unavailable"}, {"error": "unavailable"}
        ]  # fmt: skip
        assert [body["replies"] for _, body in answers[1:]] == [[], [], []]  # no turn for them

    @pytest.mark.parametrize(
        ("status", "error"),
        [(503, {"error": "unavailable"}), (401, {"error": "refused", "status": 401})],
    )
    def test_a_call_refused_or_failed_whole_runs_no_turn(self, status: int, error: dict) -> None:
        with StandInBackend({"detail": "no"}, status=status) as backend:
            answers = answer_together(backend, ["a", "b", "c"])
        assert answers == [(200, {"replies": [], "reading": None, "inbound": error})] * 3

    @pytest.mark.parametrize("whole", [{"results": [LOGGED]}, {"results": "x"}, ["x", "y"]])
    def test_an_answer_that_does_not_fit_the_call_is_no_answer(self, whole: Any) -> None:
        with StandInBackend(LOGGED) as backend:
            backend.whole = whole  # one result for two messages, or none
            answers = answer_together(backend, ["a", "b"])
        assert [body["inbound"] for _, body in answers] == [{"error": "unavailable"}] * 2

    def test_at_most_most_messages_a_call(self) -> None:
        with StandInBackend(LOGGED) as backend:
            gateway = GatewayInput("s", f"http://127.0.0.1:{backend.port}", "svc-token")
            gateway.inbound_log.most = 2

            async def scenario() -> list[dict[str, Any]]:
                one = {**INBOUND, "channel": "webchat", "user_id": "c"}
                try:
                    return await asyncio.gather(*(gateway.inbound_log.log(one) for _ in range(5)))
                finally:
                    await gateway._backend.close()

            logged = asyncio.run(scenario())
        assert [len(call["body"]["messages"]) for call in backend.calls] == [2, 2, 1]
        assert logged == [LOGGED] * 5

    def test_no_caller_waits_for_ever_when_logging_stops(self) -> None:
        gateway = GatewayInput("s", f"http://127.0.0.1:{free_port()}", "svc-token")

        async def scenario() -> dict[str, Any]:
            waiting = asyncio.ensure_future(gateway.inbound_log.log({"text": "x"}))
            await asyncio.sleep(0)
            gateway.inbound_log._gathering.cancel()  # as at shutdown
            try:
                return await asyncio.wait_for(waiting, 2)
            finally:
                if gateway._backend is not None:
                    await gateway._backend.close()

        assert asyncio.run(scenario()) == {"error": "unavailable"}
