"""Terminal chat with the assistant through the gateway's web chat API (`make chat`).

    .venv/bin/python -m bot chat [--url URL] [--lang zh|en] [--start TOKEN]
    make chat ARGS="--start TOKEN --lang en"

Type a message and press Enter; a number presses that button of the last reply; `/quit` or
Ctrl-D leaves. Messages pushed later (a collector's reply, a notice, a reminder) are printed as
they arrive. The pure helpers (formatting, button numbers, the SSE parser) are tested in
tests/bot/unit/test_chat_cli.py.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TextIO, TypedDict

import httpx

DEFAULT_URL = "http://127.0.0.1:8080"
PROMPT = "you> "
PREFIXES = {"bot": "bot", "collector": "collector", "system": "notice", "borrower": "you"}
QUIT = {"/quit", "/exit"}


class Button(TypedDict):
    title: str
    payload: str


# ---- pure helpers ---------------------------------------------------------------------------


def buttons_of(message: Mapping[str, Any]) -> list[Button]:
    """The usable buttons of a reply (a payload is required; the title defaults to it)."""
    found: list[Button] = []
    for raw in message.get("buttons") or []:
        if not isinstance(raw, Mapping):
            continue
        payload = raw.get("payload")
        if not isinstance(payload, str) or not payload:
            continue
        title = raw.get("title")
        found.append(
            Button(title=title if isinstance(title, str) and title else payload, payload=payload)
        )
    return found


def format_message(message: Mapping[str, Any], source: str, first_number: int = 1) -> list[str]:
    """Lines for one message: `bot> text` (later lines indented under the first), then its
    buttons numbered from `first_number` as `[1] title`."""
    prefix = f"{PREFIXES.get(source, source)}> "
    lines: list[str] = []
    text = message.get("text")
    if isinstance(text, str) and text:
        first, *rest = text.splitlines() or [""]
        lines.append(prefix + first)
        lines.extend(" " * len(prefix) + line for line in rest)
    buttons = buttons_of(message)
    if buttons and not lines:
        lines.append(prefix.rstrip())
    lines.extend(
        f"{' ' * len(prefix)}[{number}] {button['title']}"
        for number, button in enumerate(buttons, start=first_number)
    )
    return lines


def format_replies(
    replies: Iterable[Mapping[str, Any]], source: str = "bot"
) -> tuple[list[str], list[Button]]:
    """Lines for a batch of replies and its buttons in the order they are numbered (1, 2, ...
    across the whole batch)."""
    lines: list[str] = []
    buttons: list[Button] = []
    for message in replies:
        lines.extend(format_message(message, source, first_number=len(buttons) + 1))
        buttons.extend(buttons_of(message))
    return lines, buttons


def pick_button(line: str, buttons: Sequence[Button]) -> Button | None:
    """The button a typed number presses; None when the line is not one of the numbers shown
    (then it is sent as text: "500" with no buttons on screen is an amount)."""
    text = line.strip()
    if not text.isascii() or not text.isdigit():
        return None
    number = int(text)
    return buttons[number - 1] if 1 <= number <= len(buttons) else None


def message_body(
    sender: str, text: str, *, language: str | None = None, button_title: str | None = None
) -> dict[str, Any]:
    """The body of POST /webchat/messages."""
    body: dict[str, Any] = {"sender": sender, "message": text}
    metadata = {
        key: value
        for key, value in (("language", language), ("button_title", button_title))
        if value
    }
    if metadata:
        body["metadata"] = metadata
    return body


def parse_sse(lines: Iterable[str]) -> Iterator[tuple[str, str]]:
    """(event type, data) of each Server-Sent Event in a stream of lines; comments (`: ping`)
    are skipped, multi-line data joined with newlines, as the EventSource standard says."""
    event, data = "", list[str]()
    for raw in lines:
        line = raw.rstrip("\r")
        if not line:
            if data:
                yield event or "message", "\n".join(data)
            event, data = "", list[str]()
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)


def pushed_message(data: str) -> dict[str, Any] | None:
    """The message in an SSE `data` field, or None when it is not a JSON object."""
    try:
        message = json.loads(data)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


def source_of(message: Mapping[str, Any], default: str = "system") -> str:
    source = message.get("from")
    return source if isinstance(source, str) and source in PREFIXES else default


def history_lines(messages: Iterable[Mapping[str, Any]]) -> list[str]:
    lines: list[str] = []
    for message in messages:
        lines.extend(format_message(message, source_of(message, default="bot")))
    return lines


# ---- terminal and network -------------------------------------------------------------------


class Console:
    """Prints from two threads without mangling the line being typed."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.lock = threading.Lock()
        self.redraw = out.isatty()
        self.prompting = False  # the main thread waits in input(): a push redraws its line

    def prompt(self) -> str:
        with self.lock:
            self.prompting = True
        try:
            return input(PROMPT)
        finally:
            with self.lock:
                self.prompting = False

    def show(self, lines: Sequence[str], *, interrupting: bool = False) -> None:
        if not lines:
            return
        with self.lock:
            if interrupting and self.redraw and self.prompting:
                typed = _line_buffer()
                self.out.write("\r\x1b[K" + "\n".join(lines) + "\n" + PROMPT + typed)
            else:
                self.out.write("\n".join(lines) + "\n")
            self.out.flush()


def _line_buffer() -> str:
    try:
        import readline
    except ImportError:  # pragma: no cover - Windows
        return ""
    return readline.get_line_buffer()


class Chat:
    def __init__(
        self, client: httpx.Client, sender: str, language: str | None, console: Console
    ) -> None:
        self.client = client
        self.sender = sender
        self.language = language
        self.console = console
        self.buttons: list[Button] = []
        self.lock = threading.Lock()

    def send(self, text: str, button_title: str | None = None) -> None:
        body = message_body(self.sender, text, language=self.language, button_title=button_title)
        try:
            response = self.client.post("/webchat/messages", json=body)
        except httpx.TransportError:
            self.notice(
                f"the assistant is not reachable at {self.client.base_url}: "
                "your message was not sent, try again"
            )
            return
        if response.status_code == 429:
            self.notice("too fast: wait a moment and send it again")
            return
        if response.is_error:
            self.notice(f"the assistant answered HTTP {response.status_code}: not sent")
            return
        try:
            replies = response.json()
        except ValueError:
            replies = []
        replies = [r for r in replies if isinstance(r, dict)] if isinstance(replies, list) else []
        lines, buttons = format_replies(replies)
        with self.lock:
            self.buttons = buttons
        self.console.show(lines)

    def press_or_send(self, line: str) -> None:
        with self.lock:
            button = pick_button(line, self.buttons)
        if button is None:
            self.send(line)
        else:
            self.send(button["payload"], button_title=button["title"])

    def pushed(self, message: Mapping[str, Any]) -> None:
        lines, buttons = format_replies([message], source_of(message))
        if buttons:
            with self.lock:
                self.buttons = buttons
        self.console.show(lines, interrupting=True)

    def notice(self, text: str, *, interrupting: bool = False) -> None:
        self.console.show([f"notice> {text}"], interrupting=interrupting)


def follow_events(
    url: str,
    token: str,
    on_message: Callable[[Mapping[str, Any]], None],
    on_lost: Callable[[], None],
    stop: threading.Event,
) -> None:
    """Follow GET /webchat/events until `stop`; reconnect with backoff when it drops."""
    delay, connected = 1.0, False
    timeout = httpx.Timeout(10.0, read=60.0)  # the gateway pings every 15 s
    while not stop.is_set():
        try:
            with (
                httpx.Client(
                    base_url=url, timeout=timeout, headers={"Authorization": f"Bearer {token}"}
                ) as client,
                client.stream("GET", "/webchat/events") as response,
            ):
                response.raise_for_status()
                connected, delay = True, 1.0
                for event, data in parse_sse(response.iter_lines()):
                    if stop.is_set():
                        return
                    if event == "message" and (message := pushed_message(data)) is not None:
                        on_message(message)
        except httpx.HTTPError:
            pass
        if stop.is_set():
            return
        if connected:
            connected = False
            on_lost()
        stop.wait(delay)
        delay = min(delay * 2, 30.0)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bot chat",
        description="Chat with the assistant in the terminal, through the gateway's web chat API.",
        epilog='From make: make chat ARGS="--start TOKEN --lang en".',
    )
    parser.add_argument(
        "--url",
        default=os.environ.get("GATEWAY_URL", DEFAULT_URL),
        help=f"the gateway (default: $GATEWAY_URL or {DEFAULT_URL})",
    )
    parser.add_argument("--lang", choices=("zh", "en"), help="the language of your 'app'")
    parser.add_argument("--start", metavar="TOKEN", help="link the chat first with `/start TOKEN`")
    args = parser.parse_args(argv)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    url = str(args.url).rstrip("/")
    with contextlib.suppress(ImportError):  # not on Windows
        import readline  # noqa: F401  (line editing and history for input())
    console = Console(sys.stdout)
    with httpx.Client(base_url=url, timeout=httpx.Timeout(60.0, connect=5.0)) as client:
        try:
            # A new chat: the gateway picks its id and gives the token every later call carries.
            response = client.post("/webchat/sessions")
            if not response.is_error:
                sender, token = response.json()["sender"], response.json()["token"]
                client.cookies.clear()  # the token goes as a header, not as the page's cookie
                client.headers["Authorization"] = f"Bearer {token}"
                response = client.get("/webchat/history")
        except httpx.TransportError:
            print(
                f"the assistant is not running at {url}: start it with `make run`", file=sys.stderr
            )
            return 1
        if response.is_error:
            print(
                f"{url} does not serve the web chat API "
                f"({response.request.method} {response.request.url.path} answered HTTP "
                f"{response.status_code})",
                file=sys.stderr,
            )
            return 1
        chat = Chat(client, sender, args.lang, console)
        try:
            earlier = response.json().get("messages") or []
        except (ValueError, AttributeError):
            earlier = []
        console.show(history_lines(m for m in earlier if isinstance(m, dict)))
        console.show(
            [
                f"chatting with {url} in a new chat",
                "a number presses a button; /human, /language, /help, /stop; "
                "/quit or Ctrl-D leaves",
            ]
        )
        stop = threading.Event()
        threading.Thread(
            target=follow_events,
            args=(
                url,
                token,
                chat.pushed,
                lambda: chat.notice("connection lost, retrying", interrupting=True),
                stop,
            ),
            name="webchat-events",
            daemon=True,
        ).start()
        try:
            if args.start:
                chat.send(f"/start {args.start}")
            while True:
                try:
                    line = console.prompt().strip()
                except EOFError:
                    print()
                    break
                if line in QUIT:
                    break
                if line:
                    chat.press_or_send(line)
        except KeyboardInterrupt:
            print()
        finally:
            stop.set()
    return 0


if __name__ == "__main__":
    sys.exit(main())
