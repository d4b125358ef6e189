"""nlu/serve.py's changes to how Rasa runs a turn, for speed, with Rasa's own results: its
action server calls share one kept-alive connection pool, an event's class is looked up by name
in a table instead of by walking every Event subclass, and the rules that fit a conversation are
found among those whose last state can fit it."""

from __future__ import annotations

import copy
import importlib
import json
import random
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.core.constants import (
    ACTIVE_LOOP,
    LOOP_NAME,
    PREVIOUS_ACTION,
    SHOULD_NOT_BE_SET,
    SLOTS,
    USER,
)
from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered
from rasa.shared.nlu.constants import ACTION_NAME, ACTION_TEXT, INTENT, TEXT
from rasa.shared.utils import common
from rasa.utils.endpoints import ClientResponseError, EndpointConfig

NLU = Path(__file__).resolve().parents[2] / "nlu"
sys.path.insert(0, str(NLU))  # as Rasa runs from nlu/
serve = importlib.import_module("serve")


class ActionServer:
    """A stand-in action server that notes each call's client port (one per TCP connection),
    headers and query."""

    def __init__(self) -> None:
        self.ports: list[int] = []
        self.calls: list[dict[str, Any]] = []

    async def webhook(self, request: web.Request) -> web.Response:
        self.ports.append(request.transport.get_extra_info("peername")[1])  # type: ignore[union-attr]
        body = await request.json()
        self.calls.append(
            {"headers": dict(request.headers), "query": dict(request.query), "body": body}
        )
        if body.get("next_action") == "action_broken":
            return web.json_response({"error": "no such action"}, status=404)
        return web.json_response({"events": [], "responses": [{"text": body["next_action"]}]})


@pytest_asyncio.fixture
async def action_server() -> AsyncIterator[tuple[ActionServer, str]]:
    server = ActionServer()
    app = web.Application()
    app.router.add_post("/webhook", server.webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield server, f"http://127.0.0.1:{port}/webhook"
    await runner.cleanup()


@pytest_asyncio.fixture
async def endpoint_class() -> AsyncIterator[type[Any]]:
    class Endpoint(EndpointConfig):  # patched alone: EndpointConfig itself stays Rasa's
        pass

    close = serve.pooled(Endpoint)
    yield Endpoint
    await close()


@pytest.mark.asyncio
async def test_action_calls_share_one_connection_and_answer_as_rasas(
    action_server: tuple[ActionServer, str], endpoint_class: type[Any]
) -> None:
    server, url = action_server
    endpoint = endpoint_class(url, headers={"Authorization": "Bearer secret"}, token="t")
    answers = [
        await endpoint.request(json={"next_action": f"action_{i}"}, method="post", timeout=5)
        for i in range(5)
    ]
    assert answers == [{"events": [], "responses": [{"text": f"action_{i}"}]} for i in range(5)]
    assert len(set(server.ports)) == 1  # Rasa's own opens one per call
    assert all(call["headers"]["Authorization"] == "Bearer secret" for call in server.calls)
    assert all(call["headers"]["Content-Type"] == "application/json" for call in server.calls)
    assert all(call["query"] == {"token": "t"} for call in server.calls)


@pytest.mark.asyncio
async def test_an_error_status_is_rasas_error(
    action_server: tuple[ActionServer, str], endpoint_class: type[Any]
) -> None:
    _, url = action_server
    with pytest.raises(ClientResponseError) as raised:
        await endpoint_class(url).request(json={"next_action": "action_broken"}, method="post")
    assert raised.value.status == 404
    assert b"no such action" in raised.value.text


@pytest.mark.asyncio
async def test_a_server_that_is_gone_is_a_connection_error(endpoint_class: type[Any]) -> None:
    with pytest.raises(aiohttp.ClientConnectionError):
        await endpoint_class("http://127.0.0.1:9/webhook").request(json={}, method="post")


@pytest.mark.asyncio
async def test_the_pool_is_closed_when_rasa_closes_its_resources() -> None:
    order: list[str] = []

    async def rasas(*args: Any) -> None:
        order.append(f"rasa's {len(args)}")
        raise RuntimeError("Rasa's failed")

    async def ours() -> None:
        order.append("ours")

    with pytest.raises(RuntimeError):
        await serve.closing_too(rasas, ours)("app", "loop")
    assert order == ["rasa's 2", "ours"]


@pytest.fixture
def event_class() -> type[Any]:
    class Events(Event):  # patched alone: Event itself stays Rasa's
        type_name = "speedups_test_only"

    serve.types_resolved_once(Events)
    return Events


def test_each_event_name_is_resolved_once(
    event_class: type[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    names = {"user": UserUttered, "action": ActionExecuted, "slot": SlotSet}
    for name, cls in names.items():
        assert event_class.resolve_by_type(name) is cls is Event.resolve_by_type(name)

    def walked(*_: Any) -> Any:
        raise AssertionError("all Event subclasses walked again")

    monkeypatch.setattr(common, "all_subclasses", walked)
    for name, cls in names.items():
        assert event_class.resolve_by_type(name) is cls


def test_an_unknown_name_gets_rasas_answer_every_time(event_class: type[Any]) -> None:
    with pytest.raises(ValueError, match="Unknown event name"):
        event_class.resolve_by_type("no_such_event")
    assert event_class.resolve_by_type("no_such_event", SlotSet) is SlotSet
    assert event_class.resolve_by_type("no_such_event", UserUttered) is UserUttered
    assert event_class.resolve_by_type("topic") is None  # Rasa's old name it ignores


def random_state(rng: random.Random, start: bool = False) -> dict[str, Any]:
    """A state as Rasa's featurizers make them, from a small vocabulary so that rules fit."""
    state: dict[str, Any] = {}
    if not start:
        action = rng.choice(["action_listen", "action_a", "action_b", SHOULD_NOT_BE_SET, ""])
        state[PREVIOUS_ACTION] = (
            {ACTION_NAME: action} if rng.random() < 0.9 else {ACTION_TEXT: "hello"}
        )
    if rng.random() < 0.7:
        user = {INTENT: rng.choice(["greet", "inform", "deny", SHOULD_NOT_BE_SET])}
        if rng.random() < 0.2:
            user = {TEXT: "hi"}
        state[USER] = user
    if rng.random() < 0.5:
        state[SLOTS] = {"verified": rng.choice([(1.0,), (0.0,), SHOULD_NOT_BE_SET])}
    if rng.random() < 0.3:
        state[ACTIVE_LOOP] = {LOOP_NAME: rng.choice(["a_form", SHOULD_NOT_BE_SET])}
    return state


def random_states(rng: random.Random, most: int) -> list[dict[str, Any]]:
    count = rng.randint(1, most)
    return [random_state(rng, start=i == 0 and rng.random() < 0.5) for i in range(count)]


def test_the_rules_found_are_rasas() -> None:
    rasas = RulePolicy._get_possible_keys
    indexed = type("Indexed", (RulePolicy,), {})
    serve.rules_indexed(indexed)
    policy, faster = object.__new__(RulePolicy), object.__new__(indexed)
    rng = random.Random(7)
    found = 0
    for _ in range(300):
        lookup = {json.dumps(random_states(rng, 3)): "action_x" for _ in range(40)}
        for _ in range(20):
            states = random_states(rng, 5)
            expected = rasas(policy, lookup, states)
            assert faster._get_possible_keys(lookup, states) == expected, (lookup, states)
            found += len(expected)
    assert found > 1000  # the cases have rules that fit, not only empty answers
    assert faster._get_possible_keys(lookup, []) == set(lookup)


def random_sparse(rng: random.Random, rows: int, fmt: str = "coo") -> Any:
    import numpy as np
    from scipy import sparse

    dtype = rng.choice([np.float32, np.float64, np.int64])
    columns = rng.choice([1, 7, 300, 12_000])
    density = rng.choice([0.0, 0.01, 0.2, 1.0])
    return sparse.random(
        rows, columns, density=density, format=fmt, dtype=dtype, random_state=rng.randrange(9999)
    )


def test_sparse_features_are_joined_as_rasa_joins_them() -> None:
    import numpy as np
    from rasa.shared.nlu.training_data.features import Features

    joined = type("Joined", (Features,), {})
    serve.sparse_joined_directly(joined)
    rng = random.Random(11)
    for case in range(400):
        rows = rng.choice([1, 2, 9])
        # mostly COO, as Rasa's featurizers make them; now and then another format
        fmts = ["coo", "coo"] if case % 10 else [rng.choice(["coo", "csr"]), "csr"]
        parts = [random_sparse(rng, rows, fmt) for fmt in [*fmts, "coo"]]
        rasas = Features(parts[0], "sequence", TEXT, "a")
        ours = joined(parts[0].copy(), "sequence", TEXT, "a")
        for part in parts[1:]:
            rasas.combine_with_features(Features(part, "sequence", TEXT, "b"))
            ours.combine_with_features(Features(part.copy(), "sequence", TEXT, "b"))
        expected, got = rasas.features, ours.features
        assert (type(got), got.shape, got.dtype) == (type(expected), expected.shape, expected.dtype)
        if expected.format == "coo":
            for name in ("row", "col", "data"):  # the same entries in the same order
                want, have = getattr(expected, name), getattr(got, name)
                assert have.dtype == want.dtype and np.array_equal(have, want), (case, name)
        assert (got != expected).nnz == 0
        assert ours.fingerprint() == rasas.fingerprint()


def test_sparse_features_of_other_lengths_get_rasas_error() -> None:
    from rasa.shared.nlu.training_data.features import Features

    joined = type("Joined", (Features,), {})
    serve.sparse_joined_directly(joined)
    rng = random.Random(3)
    ours = joined(random_sparse(rng, 2), "sequence", TEXT, "a")
    with pytest.raises(ValueError, match="sequence dimensions do not match"):
        ours.combine_with_features(Features(random_sparse(rng, 3), "sequence", TEXT, "b"))


class Node:
    """A graph component for the runner's tests: its result names itself and what it was given;
    it fails when its config says so."""

    @classmethod
    def create(cls, config: dict[str, Any], **_: Any) -> Node:
        node = cls()
        node.config = config
        return node

    def run(self, **given: Any) -> Any:
        if self.config.get("fails"):
            raise ValueError(f"{self.config['name']} failed")
        return [self.config["name"], sorted(given.items(), key=lambda kv: kv[0])]


def random_graph(rng: random.Random, size: int) -> Any:
    from rasa.engine.graph import GraphComponent, GraphSchema, SchemaNode

    component = type("Component", (Node, GraphComponent), {})
    nodes = {}
    # At most one node fails: with two, which one fails first depends on the order in which
    # independent nodes run, which neither scheduler promises.
    failing = rng.randrange(size) if rng.random() < 0.3 else None
    for i in range(size):
        earlier = [*(f"n{j}" for j in range(i)), "__input__"]
        needs = {f"p{k}": rng.choice(earlier) for k in range(rng.randint(0, min(3, i + 1)))}
        config = {"name": f"n{i}", "fails": i == failing}
        nodes[f"n{i}"] = SchemaNode(needs, component, "create", "run", config)
    return GraphSchema(nodes)


def test_graphs_run_plainly_give_rasas_results(tmp_path: Path) -> None:
    from rasa.engine.graph import ExecutionContext, GraphComponentException
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.engine.storage.local_model_storage import LocalModelStorage

    plain = type("Plain", (DaskGraphRunner,), {})
    serve.graphs_run_plainly(plain)
    rng = random.Random(5)
    compared = failed = 0
    for _ in range(60):
        schema = random_graph(rng, rng.randint(1, 12))
        storage = LocalModelStorage(tmp_path)
        context = ExecutionContext(schema, "m")
        rasas, ours = DaskGraphRunner(schema, storage, context), plain(schema, storage, context)
        for _ in range(5):
            targets = rng.sample(sorted(schema.nodes), rng.randint(1, min(3, len(schema.nodes))))
            inputs = {"__input__": rng.randint(0, 9)}
            try:
                expected = rasas.run(inputs, targets)
            except GraphComponentException as error:
                with pytest.raises(GraphComponentException) as raised:
                    ours.run(inputs, targets)
                assert str(raised.value) == str(error)
                failed += 1
                continue
            for _ in range(2):  # the second time from the part of the graph worked out once
                assert ours.run(inputs, targets) == expected
            compared += 1
    assert compared > 150 and failed > 10  # results and failures both compared


def random_events(rng: random.Random, domain: Any, count: int) -> list[Event]:
    """A conversation's events from the shipped domain: messages, actions (some hidden by
    rules), slots, loops and follow-ups, and the events that undo or restart."""
    from rasa.shared.core.events import (
        ActionReverted,
        ActiveLoop,
        FollowupAction,
        Restarted,
        UserUtteranceReverted,
    )

    slots = {slot.name: slot for slot in domain.slots}
    samples: dict[str, list[Any]] = {
        "language": ["zh", "en", "fr", None],
        "offers_shown": [["a"], [], None],
        "misunderstood": [0.0, 1.0, 2.0, None],
    }
    events: list[Event] = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.3:
            events.append(ActionExecuted("action_listen"))
            intent = rng.choice(domain.intents)
            entities = [
                {"entity": rng.choice(domain.entities), "value": "1"}
                for _ in range(rng.choice([0, 0, 1, 2]))
            ]
            events.append(
                UserUttered("text", {"name": intent, "confidence": 1.0}, entities=entities)
            )
        elif roll < 0.6:
            name = rng.choice(domain.action_names_or_texts)
            events.append(ActionExecuted(name, hide_rule_turn=rng.random() < 0.3))
        elif roll < 0.8:
            name = rng.choice(list(slots))
            kind = type(slots[name]).__name__
            value = rng.choice(
                samples.get(name)
                or ([True, False, None] if kind == "BooleanSlot" else ["x", "y", None])
            )
            events.append(SlotSet(name, value))
        elif roll < 0.9:
            form = rng.choice([*domain.form_names, None])
            events.append(ActiveLoop(form))
            if form and rng.random() < 0.7:
                events.append(ActionExecuted(form, hide_rule_turn=rng.random() < 0.5))
        elif roll < 0.95:
            events.append(FollowupAction(rng.choice(domain.action_names_or_texts)))
        else:
            events.append(rng.choice([UserUtteranceReverted(), ActionReverted(), Restarted()]))
    return events


def test_prior_states_shared_are_rasas() -> None:
    from rasa.shared.core.constants import RULE_ONLY_LOOPS, RULE_ONLY_SLOTS
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = Domain.load(str(NLU / "domain"))
    shared = type("Shared", (Domain,), {})  # patched alone: Domain itself stays Rasa's
    serve.prior_states_shared(shared)
    faster = copy.copy(domain)
    faster.__class__ = shared
    rule_only = [
        None,
        {},
        {RULE_ONLY_SLOTS: ["verified", "language"], RULE_ONLY_LOOPS: ["promise_form"]},
    ]
    calls = [(o, i, r) for o in (False, True) for i in (False, True) for r in rule_only]
    rng = random.Random(11)
    hidden_seen = states_seen = 0
    for _ in range(150):
        events = random_events(rng, domain, rng.randint(0, 40))
        tracker = DialogueStateTracker.from_events("t", events, domain.slots)
        mine = DialogueStateTracker.from_events("t", events, domain.slots)
        # in a random order, as the policies of a prediction ask, some twice
        for omit, ignore, rule_only_data in rng.sample(calls, len(calls)) * 2:
            expected = domain.states_for_tracker_history(tracker, omit, ignore, rule_only_data)
            got = faster.states_for_tracker_history(mine, omit, ignore, rule_only_data)
            assert got == expected, (events, omit, ignore, rule_only_data)
            states_seen += len(expected)
            for state in got:  # what a policy does with its states is its own business
                state.clear()
        hidden_seen += sum(isinstance(e, ActionExecuted) and e.hide_rule_turn for e in events)
        # the next prediction: the same tracker with an event more
        extra = ActionExecuted(rng.choice(domain.action_names_or_texts))
        tracker.update(extra)
        mine.update(extra)
        for omit, ignore, rule_only_data in calls:
            expected = domain.states_for_tracker_history(tracker, omit, ignore, rule_only_data)
            assert faster.states_for_tracker_history(mine, omit, ignore, rule_only_data) == (
                expected
            )
    assert states_seen > 10_000 and hidden_seen > 100
    # as many events as before, another last one: replayed again
    first, second = ({"name": name, "confidence": 1.0} for name in domain.intents[:2])
    tracker = DialogueStateTracker.from_events(
        "t", [ActionExecuted("action_listen"), UserUttered("a", first)], domain.slots
    )
    faster.states_for_tracker_history(tracker)
    tracker.events[-1] = UserUttered("b", second)
    assert faster.states_for_tracker_history(tracker) == domain.states_for_tracker_history(tracker)


def tiny_model(kind: type[Any]) -> Any:
    """A RasaModel of `kind` whose prediction uses a variable, three inputs of different
    dtypes and ranks, and diagnostic data (an empty one, which Rasa makes None)."""
    import tensorflow as tf
    from rasa.shared.constants import DIAGNOSTIC_DATA

    class Tiny(kind):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__(random_seed=1)
            self.scale = tf.Variable([[1.5, -2.0, 0.25]])
            self.prepared_for_prediction = True

        def batch_predict(self, batch_in: Any) -> dict[str, Any]:
            dense, indices, counts = batch_in
            return {
                "scores": tf.reduce_sum(dense * self.scale, axis=-1)
                + tf.cast(tf.reduce_sum(indices), tf.float32),
                "counts": counts * 2.0,
                DIAGNOSTIC_DATA: {"nothing": tf.zeros((0,)), "dense": dense},
            }

    return Tiny()


def random_batch(rng: random.Random) -> tuple[Any, ...]:
    import numpy as np
    from rasa.utils.tensorflow.feature_array import FeatureArray

    n, m, k = rng.randint(0, 6), rng.randint(0, 9), rng.randint(1, 5)
    dense = np.array([[rng.uniform(-5, 5) for _ in range(3)] for _ in range(n)], np.float32)
    indices = np.array([[rng.randint(0, 99) for _ in range(2)] for _ in range(m)], np.int64)
    indices = indices.reshape(m, 2)
    counts = FeatureArray(np.array([rng.random() for _ in range(k)], np.float32), 1)
    return dense.reshape(n, 3), indices, counts


def outputs_equal(got: Any, expected: Any) -> bool:
    import numpy as np

    if isinstance(expected, dict):
        return (
            isinstance(got, dict)
            and got.keys() == expected.keys()
            and all(outputs_equal(got[key], value) for key, value in expected.items())
        )
    if isinstance(expected, np.ndarray):
        return (
            isinstance(got, np.ndarray)
            and got.dtype == expected.dtype
            and np.array_equal(got, expected)
        )
    return bool(got == expected)


def test_predictions_called_directly_are_rasas() -> None:
    import numpy as np
    from rasa.utils.tensorflow.models import RasaModel

    by_rasa: list[Any] = []

    class Counted(RasaModel):  # notes each call the patched model leaves to Rasa
        def _rasa_predict(self, batch_in: Any) -> Any:
            by_rasa.append(batch_in)
            return super()._rasa_predict(batch_in)

    direct = type("Direct", (Counted,), {})  # patched alone: RasaModel itself stays Rasa's
    serve.predictions_called_directly(direct)
    theirs, ours = tiny_model(RasaModel), tiny_model(direct)
    rng = random.Random(5)
    for _ in range(200):
        batch = random_batch(rng)
        expected = theirs._rasa_predict(batch)
        assert outputs_equal(ours._rasa_predict(batch), expected), batch
    assert expected["diagnostic_data"]["nothing"] is None
    assert len(by_rasa) == 1  # the first call, which traces the function

    # what does not fit the signature goes Rasa's way, with Rasa's answer or error
    dense, indices, counts = random_batch(rng)
    for odd in (
        (dense.astype(np.float64), indices, counts),  # another dtype, which Rasa converts
        (dense.tolist(), indices, counts),  # not an array
    ):
        assert outputs_equal(ours._rasa_predict(odd), theirs._rasa_predict(odd))
    for wrong in (
        (np.zeros((2, 4), np.float32), indices, counts),  # another last dimension
        (dense[None], indices, counts),  # another rank
        (dense, indices),  # an input short
    ):
        with pytest.raises(ValueError) as rasa_error:
            theirs._rasa_predict(wrong)
        with pytest.raises(ValueError) as our_error:
            ours._rasa_predict(wrong)
        assert str(our_error.value) == str(rasa_error.value)
    assert len(by_rasa) == 1 + 2 + 3
