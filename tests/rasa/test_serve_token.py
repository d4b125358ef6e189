"""nlu/serve.py hands RASA_TOKEN to `rasa run` as `--auth-token=TOKEN`: a generated URL-safe
token starts with "-" one time in 64, and Rasa's argument parser must still read it as the
token (it once refused to start with "expected one argument")."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from rasa.cli.arguments.run import add_server_arguments

NLU = Path(__file__).resolve().parents[2] / "nlu"
sys.path.insert(0, str(NLU))  # as Rasa runs from nlu/
serve = importlib.import_module("serve")


def parsed_token(argv: list[str]) -> str:
    import argparse

    parser = argparse.ArgumentParser()
    add_server_arguments(parser)
    return str(parser.parse_args(argv).auth_token)


def test_a_token_that_starts_with_a_dash_reaches_rasa_whole() -> None:
    argv = serve.with_auth_token(["--enable-api", "--port", "5005"], "-Xy_9-token")
    assert parsed_token(argv) == "-Xy_9-token"


def test_a_token_given_on_the_command_line_is_kept() -> None:
    for given in (["--auth-token", "mine"], ["-t", "mine"], ["--auth-token=mine"]):
        argv = serve.with_auth_token(["--enable-api", *given], "from-the-environment")
        assert argv == ["--enable-api", *given]
        assert parsed_token(argv) == "mine"
