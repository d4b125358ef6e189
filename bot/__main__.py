"""`python -m bot serve`: the gateway (web chat, Telegram, outbound sender).
`python -m bot chat`: a terminal chat with the running stack."""

from __future__ import annotations

import sys

import uvicorn
from uvicorn.config import LOGGING_CONFIG

# How long an idle connection stays open (uvicorn's default is 5 s), as the backend's: nginx
# keeps its connections to the gateway 60 s, and a request sent on one just as the gateway
# closes it fails (a borrower's message answered 502; nginx sends no POST twice).
KEEP_ALIVE_SECONDS = 75


def serve() -> int:
    from pydantic import ValidationError

    from bot import logs
    from bot.config import get_settings
    from bot.config_rules import setting_problems
    from bot.main import create_app

    try:
        settings = get_settings()
    except ValidationError as exc:  # unsafe settings: one line each, no traceback
        sys.exit("\n".join(setting_problems(exc.errors())))
    # JSON lines in production; httpx's lines carry chat ids and tokens: configure quiets it.
    logs.configure(
        as_json=settings.logs_as_json,
        text_format="%(levelname)s %(name)s: %(message)s",
        together=True,  # a line a message: one write for the lines of a tenth of a second
    )
    base = f"http://{settings.gateway_host}:{settings.gateway_port}"
    telegram = (
        f"Telegram {settings.telegram_mode}" if settings.telegram_bot_token else "Telegram off"
    )
    print(f"gateway: web chat {base}/webchat ({telegram})", flush=True)
    uvicorn.run(
        create_app(settings),
        host=settings.gateway_host,
        port=settings.gateway_port,
        log_level="warning",
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        access_log=False,  # bot/observe.py writes them: route templates, nothing about a chat
        # JSON: uvicorn's own lines go through the root logger's handler like every other.
        log_config=None if settings.logs_as_json else LOGGING_CONFIG,
    )
    return 0


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command == "serve":
        return serve()
    if command == "chat":
        from bot.chat import main as chat

        return chat(argv[1:])
    print("usage: python -m bot serve | urls | chat [--url URL] [--lang zh|en] [--start TOKEN]")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
