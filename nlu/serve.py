"""Rasa's server, with these changes: `python serve.py run ...` takes `rasa run`'s arguments.
Run from nlu/ with the Rasa virtualenv's Python.

- A model fetched from the model server (the backend, nlu/endpoints.yml) is loaded in a worker
  thread and swapped in when it is ready. Rasa 3.6 loads it on its event loop, so every
  borrower would wait out the load (seconds, or tens of seconds on a busy machine, past the
  gateway's timeout); this way the running model keeps answering meanwhile. The swap itself is
  Rasa's own (`Agent.load_model` replaces the processor in one step).
- Rasa's SQL tracker store (PostgreSQL in production) checks a pooled connection before it
  uses it, as the backend does: after a database restart every pooled connection is dead, and
  each would fail a turn.
- A tracker that cannot be read or saved fails the turn, which the gateway then sends again
  (channels.py answers 503). Rasa would run it on an empty tracker kept in this replica's
  memory: the borrower answered as a stranger, the turn unseen by the other replicas.
- The action server's answers are checked against their format by JSON Schema validators
  made once. Rasa calls `jsonschema.validate` for each answer, which checks the format itself
  against JSON Schema's metaschema first: two thirds of Rasa's time for a turn went there
  (`make profile PART=rasa`). Each event is checked against its own kind's schema, not tried
  against all 23 (`by_event_name`). An answer that fails the check still gets Rasa's own error.
- Rasa's calls to the action server go over one kept-alive connection pool per endpoint. Rasa
  opens a new HTTP session, so a new TCP connection, for every action it runs.
- An action the action server cannot run ends the turn unsaved, in a turn the gateway's channel
  runs (turns.py): Rasa would log it, go on to listen and save a turn with no answer, so the
  borrower got nothing and a try again found nothing to send. The channel then answers 503 (the
  server was not reached: the gateway sends the message again) or 500 (it answered with an
  error: the gateway tells the borrower).
- The rules that fit a conversation are found among those whose last state fits its last
  state (the same previous action and intent, or none needed), each rule read once: Rasa parses
  and checks every rule at every prediction (`rules_indexed`).
- A message's sparse features are joined side by side directly, not by scipy's `hstack`,
  whose checks cost 7% of Rasa's CPU for a message (`sparse_joined_directly`).
- Rasa's graphs (a message's parse, each prediction) run on dask's plain scheduler, not on
  its threaded one, whose bookkeeping cost 8% of Rasa's CPU for a message (`graphs_run_plainly`).
- A conversation's past states are worked out once for the policies of one prediction, not
  once by each: every time, Rasa replays the conversation from its first event
  (`prior_states_shared`).
- DIET's and TED's predictions call their TensorFlow function's concrete function directly:
  the `tf.function` binds and converts its inputs and looks the function up again at every
  call, about a millisecond a message (`predictions_called_directly`).
- DIET predicts the messages of one parse in one call (`diet_predicts_together`): Rasa calls it
  once a message. Rasa parses one message at a time; the gateway's channel parses the messages
  that arrive together in one run (parses.py), where this halves DIET's CPU a message at four
  messages and quarters it at sixteen.
- An event's class is looked up by its name in a table. Rasa walks every Event subclass for
  each event of every tracker it reads: 6% of its CPU for a turn, most of reading a tracker.

And `run` is never open: it needs RASA_TOKEN, which becomes Rasa's `--auth-token` (its HTTP
API) and the REST channel's bearer secret (credentials.yml, channels.py). The token is added
to Rasa's arguments here rather than on the command line, where `ps` would show it. An unknown
APP_ENV stops it at once, and so, with APP_ENV=production, does a development, short or
guessable secret (config_rules.py): one line for each problem."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from config_rules import app_env_problem, secret_problem  # beside this file, as Rasa runs it

# Rasa is imported only once the checks have passed: importing it starts TensorFlow, whose
# lines on stderr would bury a refusal's.
if TYPE_CHECKING:
    from rasa.core.agent import Agent
    from rasa.utils.endpoints import EndpointConfig

log = logging.getLogger(__name__)

# What production checks (config_rules.py): Rasa's own token, the action server's and the
# backend's it calls with (endpoints.yml, credentials.yml), and the tracker store's database
# password when deploy-endpoints.yml uses it.
PRODUCTION_SECRETS = ("RASA_TOKEN", "ACTION_SERVER_TOKEN", "SERVICE_TOKEN")


def refusals(env: Mapping[str, str]) -> list[str]:
    """Why Rasa must not serve with this environment, one line each; empty when it may."""
    app_env = env.get("APP_ENV", "development")
    if (unknown := app_env_problem(app_env)) is not None:
        return [unknown]
    if app_env == "production":
        names = list(PRODUCTION_SECRETS)
        if env.get("POSTGRES_PASSWORD"):
            names.append("POSTGRES_PASSWORD")
        found = (secret_problem(name, env.get(name, "")) for name in names)
        return [problem for problem in found if problem]
    if not env.get("RASA_TOKEN"):
        return ["RASA_TOKEN is not set: Rasa's HTTP API and REST channel would be open to anyone"]
    return []


async def update_model_from_server(model_server: EndpointConfig, agent: Agent) -> None:
    """`rasa.core.agent._update_model_from_server`, with the load off the event loop."""
    import aiohttp
    from rasa.core import agent as rasa_agent
    from rasa.nlu.utils import is_url
    from rasa.utils.common import TempDirectoryPath, get_temp_dir_name

    if not is_url(model_server.url):
        raise aiohttp.InvalidURL(model_server.url)
    with TempDirectoryPath(get_temp_dir_name()) as folder:
        try:
            fingerprint = await rasa_agent._pull_model_and_fingerprint(
                model_server, agent.fingerprint, folder
            )
            if fingerprint:
                log.info("loading model %s beside the running one", fingerprint)
                await asyncio.to_thread(
                    rasa_agent._load_and_set_updated_model, agent, folder, fingerprint
                )
                log.info("model %s is now answering", fingerprint)
        except Exception:
            log.exception("Failed to update model. The previous model will stay loaded instead.")


def pinging(engine_kwargs: Callable[[Any], dict[str, Any]]) -> Callable[[Any], dict[str, Any]]:
    """Rasa's `create_engine_kwargs` for its SQL tracker store, with `pool_pre_ping`."""

    def with_ping(url: Any) -> dict[str, Any]:
        return {**engine_kwargs(url), "pool_pre_ping": True}

    return with_ping


def strict(fail_safe: type[Any]) -> None:
    """Rasa's FailSafeTrackerStore (`fail_safe`) reading and saving through the store it wraps,
    failing when that fails, instead of falling back to memory."""

    async def retrieve(self: Any, sender_id: str) -> Any:
        return await self._tracker_store.retrieve(sender_id)

    async def save(self: Any, tracker: Any) -> None:
        await self._tracker_store.save(tracker)

    fail_safe.retrieve = retrieve
    fail_safe.save = save


def validated_once(remote_action: type[Any]) -> None:
    """Rasa's RemoteAction checking the action server's answers with validators made once."""
    from jsonschema.validators import validator_for

    schema = remote_action.action_response_format_spec()
    kind = validator_for(schema)
    kind.check_schema(schema)
    is_valid = by_event_name(schema, kind) or kind(schema).is_valid
    rasas = remote_action._validate_action_result

    def validate(self: Any, result: dict[str, Any]) -> bool:
        if is_valid(result):
            return True
        return bool(rasas(self, result))  # raises Rasa's own error, with its explanation

    remote_action._validate_action_result = validate


def by_event_name(schema: dict[str, Any], kind: Any) -> Callable[[Any], bool] | None:
    """The answer format's check, each event checked against its own kind's schema only.
    Rasa's format says an event is `oneOf` 23 kinds, each fixing `event` to its name: a
    validator tries every kind for every event (3.5 ms for an answer that sets six slots). As
    `event` is required and each kind names another, the one kind that can match is the one
    named, so checking that kind alone is the same check. None when the format is not so
    (another Rasa): the whole format is then checked as it is."""
    try:
        events = schema["properties"]["events"]
        item = events["items"]
        kinds = {branch["properties"]["event"]["const"]: branch for branch in item["oneOf"]}
    except (KeyError, TypeError):
        return None
    if (
        events.get("type") != "array"
        or "event" not in item.get("required", [])
        or len(kinds) != len(item["oneOf"])
    ):
        return None
    answer = kind({**schema, "properties": {**schema["properties"], "events": {"type": "array"}}})
    every_event = kind({key: value for key, value in item.items() if key != "oneOf"})
    each_kind = {name: kind(branch) for name, branch in kinds.items()}

    def is_valid(result: Any) -> bool:
        if not answer.is_valid(result):
            return False
        for event in result.get("events") or []:
            if not every_event.is_valid(event):
                return False
            own = each_kind.get(event["event"])
            if own is None or not own.is_valid(event):
                return False
        return True

    return is_valid


# What a failed call to the action server ends with when it failed on the way: nginx's answers
# for "no replica now" or "none in time".
_ON_THE_WAY = frozenset({502, 503, 504})


def failing_the_turn(remote_action: type[Any]) -> None:
    """Rasa's RemoteAction raising ActionFailed, in a turn run by turns.run_once, when the
    action could not be run; elsewhere (and for a form's rejection, which is dialogue) it is
    Rasa's as it was."""
    from rasa.core.actions.action import ActionExecutionRejection
    from turns import ActionFailed, running_a_turn  # beside this file; it imports Rasa

    rasas = remote_action.run

    async def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await rasas(self, *args, **kwargs)
        except ActionExecutionRejection:
            raise
        except Exception as exc:
            if not running_a_turn():
                raise
            raise ActionFailed(self.name(), again=failed_on_the_way(exc)) from exc

    remote_action.run = run


def failed_on_the_way(exc: BaseException) -> bool:
    """Whether an action call failed before the action server answered for itself: no server
    reached, a connection lost, no answer in time, or nginx's 502/503/504 (Rasa raises its
    own error from these, so the chain is read)."""
    import aiohttp
    from rasa.utils.endpoints import ClientResponseError

    seen: BaseException | None = exc
    for _ in range(4):
        if seen is None:
            break
        if isinstance(seen, aiohttp.ClientConnectionError | asyncio.TimeoutError):
            return True
        if isinstance(seen, ClientResponseError) and seen.status in _ON_THE_WAY:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


# Well under the keep-alive of what Rasa calls (the action server's 75 s, actions/serve.py;
# nginx's 65 s in production): a pooled connection is given up before the server closes it, so
# a call never goes out on a connection the server is closing.
ACTION_KEEPALIVE_SECONDS = 4.0


def pooled(endpoint_config: type[Any]) -> Callable[[], Awaitable[None]]:
    """Rasa's `EndpointConfig.request` (its action server calls) on one aiohttp session per
    endpoint and event loop, kept open, instead of a session and a connection per call. The
    answer, the errors and the timeout are Rasa's. Returns what closes the sessions."""
    import aiohttp
    from rasa.utils import endpoints

    sessions: dict[tuple[Any, ...], aiohttp.ClientSession] = {}

    def session_for(endpoint: Any) -> aiohttp.ClientSession:
        auth = endpoint.basic_auth
        key = (
            id(asyncio.get_running_loop()),
            tuple(sorted((endpoint.headers or {}).items())),
            (auth["username"], auth["password"]) if auth else None,
        )
        session = sessions.get(key)
        if session is None or session.closed:
            session = sessions[key] = aiohttp.ClientSession(
                headers=endpoint.headers,
                auth=aiohttp.BasicAuth(auth["username"], auth["password"]) if auth else None,
                timeout=aiohttp.ClientTimeout(total=endpoints.DEFAULT_REQUEST_TIMEOUT),
                connector=aiohttp.TCPConnector(keepalive_timeout=ACTION_KEEPALIVE_SECONDS),
            )
        return session

    async def request(
        self: Any,
        method: str = "post",
        subpath: str | None = None,
        content_type: str | None = "application/json",
        compress: bool = False,
        **kwargs: Any,
    ) -> Any:
        headers = {"Content-Type": content_type} if content_type else {}
        headers.update(kwargs.pop("headers", None) or {})
        headers.update(self.headers or {})
        ssl = None
        if self.cafile:
            import ssl as ssl_module

            ssl = ssl_module.create_default_context(cafile=self.cafile)
        async with session_for(self).request(
            method,
            endpoints.concat_url(self.url, subpath),
            headers=headers,
            params=self.combine_parameters(kwargs),
            compress=compress,
            ssl=ssl,
            **kwargs,
        ) as response:
            if response.status >= 400:
                raise endpoints.ClientResponseError(
                    response.status, response.reason, await response.content.read()
                )
            try:
                return await response.json()
            except aiohttp.ContentTypeError:
                return None

    async def close() -> None:
        while sessions:
            await sessions.popitem()[1].close()

    endpoint_config.request = request
    return close


def closing_too(
    close_resources: Callable[..., Awaitable[None]], close: Callable[[], Awaitable[None]]
) -> Callable[..., Awaitable[None]]:
    """Rasa's `close_resources` (run when its server stops), then `close`."""

    async def close_all(*args: Any) -> None:
        try:
            await close_resources(*args)
        finally:
            await close()

    return close_all


def types_resolved_once(event: type[Any]) -> None:
    """Rasa's `Event.resolve_by_type` from a table of the names it has resolved."""
    rasas = event.resolve_by_type
    known: dict[str, type[Any]] = {}

    def resolve_by_type(type_name: str, default: type[Any] | None = None) -> type[Any] | None:
        found = known.get(type_name)
        if found is None:
            found = rasas(type_name, default)  # Rasa's answer (or error) for a name it lacks
            if found is not None and getattr(found, "type_name", None) == type_name:
                known[type_name] = found
        return found

    event.resolve_by_type = staticmethod(resolve_by_type)


def rules_indexed(rule_policy: type[Any]) -> None:
    """Rasa's `RulePolicy._get_possible_keys`, the rules that fit a conversation's states, with
    the rules read once and looked up by what their last state needs. Rasa parses and reverses
    every rule (283 here) and checks each against the conversation's last state, twice at each
    prediction; a rule whose last state needs another previous action or another intent than
    the conversation's cannot fit, nor one that starts a conversation where the conversation
    does not (or the other way round), so only the others are checked, with Rasa's own check,
    in Rasa's order of turns. About 5% of Rasa's CPU for a message (an in-process timing, the same
    replies)."""
    from rasa.shared.core.constants import PREVIOUS_ACTION, SHOULD_NOT_BE_SET, USER
    from rasa.shared.nlu.constants import ACTION_NAME, INTENT

    def needed(sub_state: Any, key: str) -> str | None:
        """The value a rule's sub-state needs (one Rasa's check compares), else None."""
        value = sub_state.get(key) if isinstance(sub_state, dict) else None
        return value if isinstance(value, str) and value and value != SHOULD_NOT_BE_SET else None

    def last_needs(state: dict[str, Any]) -> tuple[str | None, str | None]:
        return needed(state.get(PREVIOUS_ACTION), ACTION_NAME), needed(state.get(USER), INTENT)

    starts = ("start",)  # the group of the rules that start a conversation

    read: dict[int, tuple[dict[str, Any], dict[str, Any], dict[Any, list[str]]]] = {}

    def rules_of(lookup: dict[str, Any]) -> tuple[dict[str, Any], dict[Any, list[str]]]:
        held = read.get(id(lookup))
        if held is None or held[0] is not lookup or len(held[1]) != len(lookup):
            if len(read) >= 8:  # lookups of models swapped out since
                read.clear()
            rules = {key: list(reversed(json.loads(key))) for key in lookup}
            by_need: dict[Any, list[str]] = {}
            for key, states in rules.items():
                # A rule whose last state has no previous action fits any state without one,
                # whatever else either holds (Rasa checks nothing more then).
                need = last_needs(states[0]) if states[0].get(PREVIOUS_ACTION) else starts
                by_need.setdefault(need, []).append(key)
            held = (lookup, rules, by_need)  # the lookup kept: its id is not reused meanwhile
            read[id(lookup)] = held
        return held[1], held[2]

    def _get_possible_keys(self: Any, lookup: dict[str, Any], states: list[Any]) -> set[str]:
        if not states:
            return set(lookup)
        rules, by_need = rules_of(lookup)
        if states[-1].get(PREVIOUS_ACTION):
            action, intent = last_needs(states[-1])
            needs = dict.fromkeys(((action, intent), (action, None), (None, intent), (None, None)))
        else:
            needs = {starts: None}
        possible = [key for need in needs for key in by_need.get(need, ())]
        matches = self._does_rule_match_state

        def fits(rule: list[dict[str, Any]], turn: int, state: dict[str, Any]) -> bool:
            """Rasa's _is_rule_applicable, on a rule read once."""
            if turn >= len(rule):  # the rule is shorter: nothing left to contradict it
                return True
            rule_previous = rule[turn].get(PREVIOUS_ACTION)
            previous = state.get(PREVIOUS_ACTION)
            if not rule_previous and not previous:  # both start a conversation
                return True
            return bool(rule_previous and previous and matches(rule[turn], state))

        for turn, state in enumerate(reversed(states)):
            if not possible:
                break
            possible = [key for key in possible if fits(rules[key], turn, state)]
        return set(possible)

    rule_policy._get_possible_keys = _get_possible_keys


def sparse_joined_directly(features: type[Any]) -> None:
    """Rasa's `Features._combine_sparse_features`, which joins a message's sparse features side
    by side (the regex, lexical and two count-vector featurizers: five joins a message, for its
    tokens and for the whole sentence), with scipy's `hstack` on two COO matrices done
    directly: their entries concatenated, the second's columns shifted. `hstack` spends most of
    its time checking its blocks (about 130 against 30 microseconds a join, 7% of Rasa's CPU
    for a message in a py-spy profile); the matrix is the same, entries in the same order, and
    so the same dtypes. Any other pair is left to Rasa's."""
    import numpy as np
    from scipy.sparse import coo_matrix

    rasas = features._combine_sparse_features
    widest = np.iinfo(np.int32).max  # shifted int32 columns must not wrap

    def _combine_sparse_features(self: Any, additional: Any) -> None:
        left, right = self.features, additional.features
        if (
            type(left) is not coo_matrix
            or type(right) is not coo_matrix
            or left.shape[0] != right.shape[0]
            or left.shape[1] + right.shape[1] > widest
        ):
            rasas(self, additional)  # Rasa's join, or its error for rows that differ
            return
        self.features = coo_matrix(
            (
                np.concatenate([left.data, right.data]),
                (
                    np.concatenate([left.row, right.row]),
                    np.concatenate([left.col, right.col + left.shape[1]]),
                ),
            ),
            shape=(left.shape[0], left.shape[1] + right.shape[1]),
        )
        self._cached_fingerprint = None

    features._combine_sparse_features = _combine_sparse_features


def graphs_run_plainly(runner: type[Any]) -> None:
    """Rasa's `DaskGraphRunner.run` with dask's plain scheduler, `dask.core.get` (the tasks in
    dependency order, one after the other, each given its dependencies' results), instead of
    `dask.get`, the threaded scheduler on a synchronous executor, whose ordering, queues and
    callbacks cost 8% of Rasa's CPU for a message (a py-spy profile; a message runs a graph
    three or four times: its parse, then each prediction). Each target's part of the graph is
    worked out once, and the debug line is formatted only when it is logged."""
    import dask.core
    from rasa.engine.exceptions import GraphRunError
    from rasa.engine.runner import dask as rasa_dask

    def run(
        self: Any, inputs: dict[str, Any] | None = None, targets: list[str] | None = None
    ) -> dict[str, Any]:
        run_targets = list(targets if targets else self._graph_schema.target_names)
        parts = self.__dict__.setdefault("_parts_by_targets", {})
        part = parts.get(tuple(run_targets))
        if part is None:
            part = parts[tuple(run_targets)] = self._graph_schema.minimal_graph_schema(run_targets)
        run_graph = self._build_dask_graph(part)
        if inputs:
            self._add_inputs_to_graph(inputs, run_graph)
        rasa_dask.logger.debug(
            "Running graph with inputs: %s, targets: %s and %s.",
            inputs,
            targets,
            self._execution_context,
        )
        try:
            return dict(dask.core.get(run_graph, run_targets))
        except RuntimeError as e:
            raise GraphRunError("Error running runner.") from e

    runner.run = run


def prior_states_shared(domain: type[Any]) -> None:
    """Rasa's `Domain.states_for_tracker_history` (a conversation's past states, what the
    policies predict from) with the conversation replayed once for the policies of one
    prediction. For each policy Rasa replays the tracker from its first event, copying it and
    applying every event, to read the state before each action: the memoization and rule
    policies each did so at every prediction, 13% of Rasa's CPU for a message in a py-spy
    profile. Here the first replay keeps, on the tracker, what each step's state needs, and a
    later call for the same tracker (the same events, domain and `omit_unset_slots`) builds its
    states from that, with Rasa's own rules for the turns that only rules have: the same
    states, each a new dict, as Rasa's are."""
    from rasa.shared.core.constants import PREVIOUS_ACTION

    def steps(self: Any, tracker: Any, omit_unset_slots: bool) -> list[tuple[Any, ...]]:
        """Per step of the replay: whether rules hide it, whether it may change that (no
        follow-up action, not the active loop's own action), its previous action and its
        state."""
        events = tracker.events
        last = events[-1] if events else None
        kept = tracker.__dict__.get("_prior_steps")
        if (
            kept is not None
            and kept[0] is self
            and kept[1] == (omit_unset_slots, len(events))
            and kept[2] is last
        ):
            return kept[3]
        found = [
            (
                hidden,
                not step.followup_action and step.latest_action_name != step.active_loop_name,
                self._get_prev_action_sub_state(step),
                self.get_active_state(step, omit_unset_slots=omit_unset_slots),
            )
            for step, hidden in tracker.generate_all_prior_trackers()
        ]
        tracker.__dict__["_prior_steps"] = (self, (omit_unset_slots, len(events)), last, found)
        return found

    def copied(state: dict[str, Any]) -> dict[str, Any]:
        """A state whose sub-states may be changed without touching the kept one's."""
        return {kind: dict(sub_state) for kind, sub_state in state.items()}

    def states_for_tracker_history(
        self: Any,
        tracker: Any,
        omit_unset_slots: bool = False,
        ignore_rule_only_turns: bool = False,
        rule_only_data: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        states: list[dict[str, Any]] = []
        last_ml_action_sub_state = None
        turn_was_hidden = False
        for hidden, may_hide, previous_action, kept in steps(self, tracker, omit_unset_slots):
            if ignore_rule_only_turns:
                if not turn_was_hidden:
                    last_ml_action_sub_state = previous_action
                if may_hide:
                    turn_was_hidden = hidden
                if turn_was_hidden:
                    continue
            state = copied(kept)
            if ignore_rule_only_turns:
                self._remove_rule_only_features(state, rule_only_data)
                if states:
                    self._substitute_rule_only_user_input(state, states[-1])
                if last_ml_action_sub_state:
                    state[PREVIOUS_ACTION] = dict(last_ml_action_sub_state)
            states.append(self._clean_state(state))
        return states

    domain.states_for_tracker_history = states_for_tracker_history


def predictions_called_directly(model: type[Any]) -> None:
    """Rasa's `RasaModel._rasa_predict` (DIET's and TED's predictions) with its TensorFlow
    function's one concrete function called directly. Rasa calls the `tf.function`, which at
    every call binds the inputs to its input signature, converts and checks them one by one and
    looks its concrete function up again: about 1 ms of a 2.5 ms DIET prediction, timed in
    process. Here, once Rasa's first call has traced the function, inputs that are NumPy arrays
    of the signature's dtypes and shapes become tensors as TensorFlow makes them from arrays
    (`EagerTensor`) and the concrete function runs on them: the same outputs. Any other inputs
    go Rasa's way, with its errors."""
    import numpy as np
    from keras.utils.tf_utils import sync_to_numpy_or_python_type
    from rasa.shared.constants import DIAGNOSTIC_DATA
    from tensorflow.python.eager import context
    from tensorflow.python.framework import ops

    rasas = model._rasa_predict

    def fits(value: Any, dtype: Any, dims: tuple[int | None, ...]) -> bool:
        return (
            isinstance(value, np.ndarray)  # Rasa's FeatureArray too, as TensorFlow takes it
            and value.dtype == dtype
            and len(value.shape) == len(dims)
            and all(d is None or d == n for d, n in zip(dims, value.shape, strict=True))
        )

    def _rasa_predict(self: Any, batch_in: Any) -> Any:
        direct = self.__dict__.get("_direct_predict")
        if direct is None or self._run_eagerly or not self.prepared_for_prediction:
            outputs = rasas(self, batch_in)
            step = self._tf_predict_step
            if direct is None and step is not None and step.input_signature is not None:
                specs = [
                    (s.dtype.as_numpy_dtype, tuple(s.shape.as_list()))
                    for s in step.input_signature[0]
                ]
                self.__dict__["_direct_predict"] = (step.get_concrete_function(), specs)
            return outputs
        function, specs = direct
        if len(batch_in) != len(specs) or not all(
            fits(value, dtype, dims) for value, (dtype, dims) in zip(batch_in, specs, strict=True)
        ):
            return rasas(self, batch_in)
        self._training = False
        ctx = context.context()
        ctx.ensure_initialized()
        tensors = [ops.EagerTensor(value, ctx.device_name, None) for value in batch_in]
        outputs = sync_to_numpy_or_python_type(
            function._call_flat(tensors, function.captured_inputs)
        )
        if DIAGNOSTIC_DATA in outputs:
            outputs[DIAGNOSTIC_DATA] = self._empty_lists_to_none_in_dict(outputs[DIAGNOSTIC_DATA])
        return outputs

    model._rasa_predict = _rasa_predict


def diet_predicts_together(diet: type[Any]) -> None:
    """DIETClassifier's `process` with the messages of one call predicted in one batch, each
    message's part of the outputs then read as Rasa reads a batch of one: the intent scores its
    row, the entity tags its row up to its own length (the batch pads the shorter ones). One
    message, diagnostic data asked for, or model data that is not one example a message go
    Rasa's way."""
    import numpy as np
    from rasa.shared.constants import DIAGNOSTIC_DATA
    from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
    from rasa.utils.tensorflow.constants import (
        ENTITY_RECOGNITION,
        INTENT_CLASSIFICATION,
        SEQUENCE_LENGTH,
    )

    rasas = diet.process

    def row_of(out: dict[str, Any], row: int, length: int) -> dict[str, Any]:
        """One message's outputs, as a batch of one: entity outputs ("e_...") cut to its length."""
        return {
            key: value[row : row + 1, :length] if key.startswith("e_") else value[row : row + 1]
            for key, value in out.items()
            if key != DIAGNOSTIC_DATA and isinstance(value, np.ndarray)
        }

    # Rasa's own signature and annotations: Rasa checks a component's method against the graph
    # by them when it trains (`rasa.engine.validation`), and an annotated `self` fails that.
    @functools.wraps(rasas)
    def process(self, messages):
        if len(messages) < 2 or self.model is None:
            return rasas(self, messages)
        if self._execution_context.should_add_diagnostic_data:
            return rasas(self, messages)
        data = self._create_model_data(messages, training=False)
        lengths = data.data.get(TEXT, {}).get(SEQUENCE_LENGTH)
        if data.is_empty() or data.number_of_examples() != len(messages) or not lengths:
            return rasas(self, messages)
        lengths = lengths[0]
        out = self.model.run_inference(data, batch_size=len(messages))
        for row, message in enumerate(messages):
            mine = row_of(out, row, int(lengths[row]))
            if self.component_config[INTENT_CLASSIFICATION]:
                label, ranking = self._predict_label(mine)
                message.set(INTENT, label, add_to_output=True)
                message.set("intent_ranking", ranking, add_to_output=True)
            if self.component_config[ENTITY_RECOGNITION]:
                message.set(ENTITIES, self._predict_entities(mine, message), add_to_output=True)
        return messages

    diet.process = process


def with_auth_token(argv: list[str], token: str) -> list[str]:
    """argv with `--auth-token=TOKEN` unless it names one: a single word, because a URL-safe
    token may start with "-", which argparse would read as an option of its own."""
    given = any(a in ("-t", "--auth-token") or a.startswith("--auth-token=") for a in argv)
    return argv if given else [*argv, f"--auth-token={token}"]


def apply_speedups() -> None:
    """The changes above that make Rasa faster with its own answers (`make bench-rasa`,
    bench/parse_together.py), before a model is loaded: a loaded graph keeps the methods it
    found."""
    from rasa.core.policies.rule_policy import RulePolicy
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.nlu.classifiers.diet_classifier import DIETClassifier
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import Event
    from rasa.shared.nlu.training_data.features import Features
    from rasa.utils.tensorflow.models import RasaModel

    types_resolved_once(Event)
    rules_indexed(RulePolicy)
    sparse_joined_directly(Features)
    graphs_run_plainly(DaskGraphRunner)
    prior_states_shared(Domain)
    predictions_called_directly(RasaModel)
    diet_predicts_together(DIETClassifier)


def main() -> None:
    if sys.argv[1:2] == ["run"]:
        if problems := refusals(os.environ):
            raise SystemExit("\n".join(f"Rasa not started: {p}" for p in problems))
        sys.argv = with_auth_token(sys.argv, os.environ["RASA_TOKEN"])
    from rasa.core import agent as rasa_agent
    from rasa.core import run, tracker_store
    from rasa.core.actions.action import RemoteAction
    from rasa.utils.endpoints import EndpointConfig

    # looked up by name when used (rasa.core.agent, rasa.core.tracker_store), so these replace
    # them everywhere
    rasa_agent._update_model_from_server = update_model_from_server
    tracker_store.create_engine_kwargs = pinging(tracker_store.create_engine_kwargs)
    strict(tracker_store.FailSafeTrackerStore)
    validated_once(RemoteAction)
    failing_the_turn(RemoteAction)
    run.close_resources = closing_too(run.close_resources, pooled(EndpointConfig))
    apply_speedups()
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
