"""`python -m bot serve`: the gateway (web chat, Telegram, outbound sender).
`python -m bot chat`: a terminal chat with the running stack."""

from __future__ import annotations

import logging
import sys

import uvicorn


def serve() -> int:
    from bot.config import get_settings
    from bot.main import create_app

    settings = get_settings()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its lines carry chat ids and tokens
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
        access_log=False,  # no request lines: nothing about a chat in the logs
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
