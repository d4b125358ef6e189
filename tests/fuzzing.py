"""Schemathesis, the way the tests run it: one operation at a time, valid requests then invalid
ones, every check, the examples bounded and derandomized (a red run replays the same requests)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import hypothesis
import hypothesis.errors
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from backend.text_fields import has_unstorable

# Examples per operation and mode: about 60 operations run in well under a minute per database
# on two cores. FUZZ_EXAMPLES=200 for a longer hunt.
MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)


def schema_valid_data_is_read(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    """Schemathesis's positive_data_acceptance, except that a business rule's 422 (any code
    but invalid_request) is a fair answer to a request the schema allows: a promise date out
    of the policy's window is well formed and still refused. A 422 invalid_request is not: the
    server could not read what the schema says it reads."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    status = response.status_code
    if status < 400 or status in (401, 403, 404, 409, 429):
        return
    if status == 422 and response.json().get("code") != "invalid_request":
        return
    if status == 422 and _unstorable(case.body):
        # The document forbids these characters (a pattern), but Schemathesis does not always
        # keep to a pattern beside length limits; cleaned text may also end up too short.
        return
    raise AssertionError(f"a request the schema allows was refused: {status} {response.text}")


def invalid_data_is_refused(ctx: Any, response: Any, case: schemathesis.Case) -> Any:
    """Schemathesis's negative_data_rejection, except for two fair answers it does not know:
    413 (the body is past the size limit: refused before it is read), and taking a text the
    schema calls too long only because it holds NULs or lone surrogates, which the server drops
    before it measures the text (text_fields.py)."""
    if response.status_code == 413:
        return None
    if response.status_code < 400 and _unstorable(case.body):
        return None
    return negative_data_rejection(ctx, response, case)


def _unstorable(value: Any) -> bool:
    """A NUL or a lone surrogate anywhere in a JSON value (keys too)."""
    if isinstance(value, str):
        return has_unstorable(value)
    if isinstance(value, list):
        return any(_unstorable(v) for v in value)
    if isinstance(value, dict):
        return any(_unstorable(k) or _unstorable(v) for k, v in value.items())
    return False


def fuzz(
    operation: Any,
    mode: GenerationMode,
    *,
    prepare: Callable[[schemathesis.Case, bool], None] | None = None,
    headers: dict[str, str] | None = None,
) -> str | None:
    """Run one operation's examples; the first failure, as Schemathesis reports it. `prepare`
    may point a valid case at things that exist (its flag: a coin Hypothesis tosses)."""
    load_all_checks()
    replaced = (positive_data_acceptance, negative_data_rejection)
    checks = [c for c in CHECKS.get_all() if c not in replaced]
    checks += [schema_valid_data_is_read, invalid_data_is_refused]

    @hypothesis.given(case=operation.as_strategy(mode), known=st.booleans())
    @hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def run(case: schemathesis.Case, known: bool) -> None:
        # Only valid requests are pointed at what exists: a negated value stays negated.
        if prepare is not None and mode.is_positive:
            prepare(case, known)
        case.call_and_validate(checks=checks, headers=headers)

    try:
        run()
    except hypothesis.errors.Unsatisfiable:
        return None  # nothing to negate: an operation without parameters or body
    except (Exception, BaseExceptionGroup) as exc:  # Schemathesis reports a group
        return f"{mode.value} {operation.label}: {exc}\n{_details(exc)}"
    return None


def _details(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "\n".join(str(e) for e in exc.exceptions)
    return ""


def fuzz_all(schema: Any, skip: Callable[[Any], bool] = lambda _: False, **kwargs: Any) -> None:
    """Every operation of the schema in both modes; one assertion listing every failure."""
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if skip(operation):
            continue
        for mode in MODES:
            failure = fuzz(operation, mode, **kwargs)
            if failure:
                failures.append(failure)
    assert not failures, f"{len(failures)} failures:\n\n" + "\n\n".join(failures)
