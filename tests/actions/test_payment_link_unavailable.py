"""A borrower who asks for a payment link where the backend has no payment provider (production
without the hosted checkout) is told so plainly, in their language, and offered a person: no
link, no "here is a link for what is due", no stack trace. The real backend, as a second process
on the demo database with the sandbox off and no PAYMENT_CHECKOUT_URL."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from itertools import count

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import backend as api
from actions.messages import buttons, say
from actions.payments import ActionPaymentLink
from tests.actions.conftest import (
    BACKEND_PYTHON,
    ROOT,
    RunningBackend,
    _wait_healthy,
    free_port,
)

pytestmark = pytest.mark.asyncio
_chats = count(1)


@pytest.fixture(scope="module")
def no_provider(
    backend: RunningBackend, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningBackend]:
    """The same database and token as `backend`, served with no payment provider at all."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **backend.env,
        "BACKEND_PORT": str(port),
        "PUBLIC_BASE_URL": url,
        "SANDBOX_PAYMENTS": "false",
        "PAYMENT_CHECKOUT_URL": "",
        "PAYMENT_WEBHOOK_SECRET": "",
    }
    log = tmp_path_factory.mktemp("no-provider-log") / "backend.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(BACKEND_PYTHON), "-m", "backend", "serve"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_healthy(url, proc, log)
        yield RunningBackend(url=url, token=backend.token, env=env)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def served(no_provider: RunningBackend, monkeypatch: pytest.MonkeyPatch) -> RunningBackend:
    """Actions make their own client from the environment, as in the action server."""
    monkeypatch.setenv("BACKEND_URL", no_provider.url)
    monkeypatch.setenv("SERVICE_TOKEN", no_provider.token)
    return no_provider


async def verified_tracker(served: RunningBackend, lang: str, amount: str | None) -> Tracker:
    sender = f"telegram:no-provider-{next(_chats)}"
    channel, user_id = api.conversation_of(sender)
    async with api.Backend(served.url, served.token) as client:
        verified = await client.verify_link_token(channel, user_id, served.link_token("DEMO-03"))
        assert verified.status == "verified"
    return Tracker(
        sender_id=sender,
        slots={"language": lang, "amount": amount},
        latest_message={"text": "/make_payment", "intent": {"name": "make_payment"}},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=None,
    )


class TestNoPaymentProvider:
    async def test_the_backend_says_why_with_its_own_code(self, served: RunningBackend) -> None:
        t = await verified_tracker(served, "en", None)
        channel, user_id = api.conversation_of(t.sender_id)
        async with api.Backend(served.url, served.token) as client:
            with pytest.raises(api.Refused) as refused:
                await client.payment_link(channel, user_id, "L-DEMO-03")
        assert (refused.value.status, refused.value.code) == (409, "payment_links_unavailable")

    @pytest.mark.parametrize("lang", ["zh", "en"])
    @pytest.mark.parametrize("amount", [None, "300"])
    async def test_the_borrower_is_told_plainly_and_offered_a_person(
        self, served: RunningBackend, lang: str, amount: str | None
    ) -> None:
        dispatcher = CollectingDispatcher()
        await ActionPaymentLink().run(dispatcher, await verified_tracker(served, lang, amount), {})
        assert [(m.get("text"), m.get("buttons")) for m in dispatcher.messages] == [
            (
                say(lang, "link_refused.payment_links_unavailable"),
                buttons(lang, "/request_human"),
            )
        ]
        assert "http" not in dispatcher.messages[0]["text"]  # no dead link
