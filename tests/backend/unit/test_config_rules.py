"""The rules every process applies to its configuration before it starts (config_rules.py, one
file copied into backend/, bot/, actions/ and nlu/): the APP_ENV values there are, and the
secrets production refuses, each with one line that names the variable and what to do."""

from __future__ import annotations

import base64
import random
import string

import pytest

from backend.config_rules import (
    APP_ENVS,
    MIN_SECRET_BITS,
    app_env_problem,
    estimated_bits,
    secret_problem,
    setting_problems,
    url_password,
)

SEEDED = random.Random(16)  # generated secrets, the same every run


class TestAppEnv:
    @pytest.mark.parametrize("value", APP_ENVS)
    def test_the_three_are_known(self, value: str) -> None:
        assert app_env_problem(value) is None

    @pytest.mark.parametrize(
        "value", ["Production", "prod", " production", "production ", "PRODUCTION", "", "dev"]
    )
    def test_anything_else_is_refused_with_the_accepted_values(self, value: str) -> None:
        problem = app_env_problem(value) or ""
        assert problem.startswith(f"APP_ENV={value!r} is not known")
        assert "development, test, production" in problem
        assert "\n" not in problem


class TestSecrets:
    @pytest.mark.parametrize(
        "weak",
        [
            "aaaaaaaaaaaaaaaaaaaa",
            "1234567890123456",
            "passwordpassword",
            "abcdefghijklmnopqrstuvwxyz",
            "zyxwvutsrqponmlkjihgfedcba",
            "qwertyuiopasdfgh",
            "Password12345678",
            "mysupersecretkey",
            "changeme-changeme-changeme",
            "abcabcabcabcabcabcabc",
            "s" * 32,
            "0000000000000000000000000000000000000000",
        ],
    )
    def test_guessable_ones_are_refused(self, weak: str) -> None:
        assert estimated_bits(weak) < MIN_SECRET_BITS
        problem = secret_problem("SERVICE_TOKEN", weak) or ""
        assert problem.startswith("production refuses SERVICE_TOKEN: it is easy to guess")
        assert "openssl rand -hex 32" in problem  # what to do
        assert weak not in problem  # never the secret itself

    def test_generated_ones_pass(self) -> None:
        generated = [
            *(SEEDED.randbytes(32).hex() for _ in range(200)),  # openssl rand -hex 32
            *(SEEDED.randbytes(16).hex() for _ in range(200)),  # openssl rand -hex 16
            *(base64.urlsafe_b64encode(SEEDED.randbytes(32)).decode() for _ in range(200)),
            *("".join(SEEDED.choices(string.ascii_lowercase, k=16)) for _ in range(500)),
        ]
        assert [s for s in generated if secret_problem("SERVICE_TOKEN", s)] == []

    def test_the_shortest_random_secrets_nearly_always_pass(self) -> None:
        """`openssl rand -hex 8` carries 64 bits, the floor itself: one or two in a thousand look
        like a pattern (all digits, or a stretch seen twice) and are refused; generate again."""
        generated = [SEEDED.randbytes(8).hex() for _ in range(5000)]
        refused = [s for s in generated if secret_problem("SERVICE_TOKEN", s)]
        assert len(refused) <= 5000 * 0.004

    def test_development_defaults_are_named_so(self) -> None:
        problem = secret_problem("RASA_TOKEN", "dev-rasa-token-that-is-long-enough")
        assert problem == (
            "production refuses RASA_TOKEN: it is a development default (dev-...); "
            "set a random one, e.g. from `openssl rand -hex 32`"
        )

    def test_the_minimum_length_is_the_settings(self) -> None:
        secret = SEEDED.randbytes(10).hex()  # 20 characters
        assert secret_problem("SERVICE_TOKEN", secret) is None
        problem = secret_problem("WEBCHAT_SECRET", secret, min_length=32) or ""
        assert "WEBCHAT_SECRET: it is shorter than 32 characters" in problem

    def test_an_empty_one_is_not_set(self) -> None:
        assert "ACTION_SERVER_TOKEN: it is not set;" in (secret_problem("ACTION_SERVER_TOKEN", ""))

    def test_the_estimate_counts_a_random_string_whole_and_a_pattern_once(self) -> None:
        assert estimated_bits("k7Qm") == pytest.approx(4 * 5.954, abs=0.01)  # log2(62) each
        assert estimated_bits("k7Qmk7Qmk7Qm") == estimated_bits("k7Qm" + "x")  # a repeat is one
        assert estimated_bits("abcdefgh") == estimated_bits("ab")  # a run costs its first step


def test_a_urls_password_is_found() -> None:
    assert url_password("postgresql+psycopg://lender:s%40cret@db:5432/lender") == "s@cret"
    assert url_password("postgresql+psycopg://postgres@127.0.0.1:5432/test") is None
    assert url_password("sqlite:///var/backend.db") is None
    assert url_password(None) is None


def test_pydantic_errors_become_one_line_each_without_values() -> None:
    errors = [
        {"type": "int_parsing", "loc": ("backend_port",), "msg": "Input should be a valid integer",
         "input": "secret-looking"},
        {"type": "value_error", "loc": (), "msg": "Value error, first problem\nsecond problem",
         "input": {}},
    ]  # fmt: skip
    assert setting_problems(errors) == [
        "BACKEND_PORT: Input should be a valid integer",
        "first problem",
        "second problem",
    ]
