"""The action server says the texts version the backend runs: a new version is taken up on the
next refresh; an override is said with the figures filled in; a backend that is down, answers
nonsense or says 304 changes nothing; and the shipped texts stay the fallback."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from actions import messages
from actions.running_texts import PATH, RunningTexts

pytestmark = pytest.mark.asyncio

SHIPPED_EN = messages.TEXTS["verified"]["en"]


@pytest.fixture(autouse=True)
def shipped() -> Iterator[None]:
    messages.use_running(0, {}, {})
    yield
    messages.use_running(0, {}, {})


def backend(answer: Callable[[httpx.Request], httpx.Response]) -> RunningTexts:
    return RunningTexts("http://backend", "token", every=0, transport=httpx.MockTransport(answer))


def version(number: int, texts: dict, buttons: dict | None = None) -> httpx.Response:
    body = {"version": number, "texts": texts, "buttons": buttons or {}}
    return httpx.Response(200, json=body, headers={"ETag": f'"texts-{number}"'})


async def test_a_new_version_is_said_with_its_figures_and_button_titles() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return version(
            4,
            {"verified": {"en": "That's you, {name}. Thanks!"}, "not_a_text_we_ship": {"en": "x"}},
            {"/request_human": {"zh": "找人工"}},
        )

    assert await backend(answer).refresh()
    assert seen[0].url.path == PATH
    assert seen[0].headers["Authorization"] == "Bearer token"
    assert messages.running_version() == 4
    assert messages.say("en", "verified", name="Li Wei") == "That's you, Li Wei. Thanks!"
    # Chinese is not overridden: as shipped.
    assert messages.say("zh", "verified", name="李伟") == "身份核实成功，李伟，谢谢。"
    assert messages.buttons("zh", "/request_human") == [
        {"title": "找人工", "payload": "/request_human"}
    ]
    assert messages.buttons("en", "/request_human")[0]["title"] == "Talk to a person"


async def test_unchanged_down_or_nonsense_keeps_what_is_said() -> None:
    answers = iter(
        [
            version(2, {"verified": {"en": "Verified, {name}."}}),
            httpx.Response(304),
            httpx.Response(503),
            httpx.Response(200, text="<html>proxy error</html>"),
            httpx.ConnectError("refused"),
        ]
    )
    etags: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        etags.append(request.headers.get("If-None-Match"))
        found = next(answers)
        if isinstance(found, Exception):
            raise found
        return found

    follower = backend(answer)
    assert [await follower.refresh() for _ in range(5)] == [True, True, False, False, False]
    assert etags == [None, '"texts-2"', '"texts-2"', '"texts-2"', '"texts-2"']
    assert messages.say("en", "verified", name="Ann") == "Verified, Ann."


async def test_back_to_the_shipped_texts_when_the_backend_runs_version_0_again() -> None:
    answers = iter([version(1, {"verified": {"en": "Hi {name}"}}), version(0, {})])
    follower = backend(lambda request: next(answers))
    await follower.refresh()
    await follower.refresh()
    assert messages.say("en", "verified", name="Ann") == SHIPPED_EN.format(name="Ann")


async def test_an_override_that_cannot_be_filled_in_is_said_as_shipped() -> None:
    # The backend refuses such a text before it runs; this guards one that slipped past.
    messages.use_running(9, {"verified": {"en": "Hi {nmae}", "zh": "你好 {"}}, {})
    assert messages.say("en", "verified", name="Ann") == SHIPPED_EN.format(name="Ann")
    assert messages.say("zh", "verified", name="安") == "身份核实成功，安，谢谢。"


TRIED = {
    "verified": {"zh": "好的，{name}，已核实。", "en": "Done, {name}: verified.", "share": 0.5}
}


async def test_a_text_under_experiment_is_said_to_each_borrower_in_one_wording() -> None:
    messages.use_running(3, {}, {}, TRIED)
    wordings = {}
    for arm in (f"borrower-{n}" for n in range(200)):
        messages.begin_turn(arm)
        first = messages.say("en", "verified", name="Ann")
        assert messages.say("en", "verified", name="Ann") == first  # the same, every time
        variant = messages.variant_for("verified", arm, 0.5)
        assert first == (
            "Done, Ann: verified." if variant == "challenger" else SHIPPED_EN.format(name="Ann")
        )
        assert messages.said_in_turn() == [("verified", variant)]  # once, however often said
        wordings[arm] = variant
    challengers = sum(v == "challenger" for v in wordings.values())
    assert 70 <= challengers <= 130  # about half of 200


async def test_no_borrower_key_no_experiment() -> None:
    """An unverified chat (no `arm` from the gateway) is said the wording in force, and
    nothing is counted: it cannot be followed to a payment."""
    messages.use_running(3, {}, {}, TRIED)
    messages.begin_turn(None)
    assert messages.say("en", "verified", name="Ann") == SHIPPED_EN.format(name="Ann")
    assert messages.said_in_turn() == []


async def test_the_running_version_brings_and_ends_an_experiment() -> None:
    bodies = iter(
        [
            {"version": 5, "texts": {}, "buttons": {}, "experiments": TRIED},
            {"version": 6, "texts": {}, "buttons": {}},  # an older backend: no experiments
        ]
    )
    follower = backend(lambda request: httpx.Response(200, json=next(bodies)))
    arms = (f"b{n}" for n in range(100))
    arm = next(a for a in arms if messages.variant_for("verified", a, 0.5) == "challenger")
    await follower.refresh()
    messages.begin_turn(arm)
    assert messages.say("en", "verified", name="Ann") == "Done, Ann: verified."
    await follower.refresh()
    messages.begin_turn(arm)
    assert messages.say("en", "verified", name="Ann") == SHIPPED_EN.format(name="Ann")
