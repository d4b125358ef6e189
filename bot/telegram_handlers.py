"""Telegram updates in, replies out: adapters around the relay. Private chats only (a bot
added to a group says nothing about anyone's debt)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import warnings
import weakref
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBDeprecationWarning

from bot import metrics, texts
from bot.backend_client import BackendRefused, BackendUnavailable
from bot.commands import contact_payload, masked_phone
from bot.dedupe import SeenUpdates
from bot.relay import Incoming, Outcome, Relay, Reply
from bot.render import keyboard_rows, parse_callback, reply_ref, split_text
from bot.text_cleaning import clean, clean_optional

log = logging.getLogger(__name__)

# Telegram refusing for now (429 Too Many Requests, a 5xx, out of reach): a reply to a borrower
# is sent again for this long, so an outage of a few minutes loses none.
SEND_RETRY_SECONDS = 300.0
FIRST_PAUSE, LONGEST_PAUSE = 1.0, 30.0

PRIVATE = filters.ChatType.PRIVATE
Context = ContextTypes.DEFAULT_TYPE


def add_handlers(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(TypeHandler(Update, drop_repeats), group=-1)
    application.add_handler(TypeHandler(Update, remember_handled), group=1)
    application.add_handler(MessageHandler(PRIVATE & filters.UpdateType.EDITED, on_edited))
    application.add_handler(MessageHandler(PRIVATE & filters.CONTACT, on_contact))
    application.add_handler(MessageHandler(PRIVATE & filters.COMMAND, on_command))
    application.add_handler(MessageHandler(PRIVATE & filters.TEXT, on_text))
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_handler(MessageHandler(PRIVATE & filters.UpdateType.MESSAGE, on_not_text))
    application.add_error_handler(on_error)


def _relay(context: Context) -> Relay:
    relay: Relay = context.bot_data["relay"]
    return relay


async def drop_repeats(update: Update, context: Context) -> None:
    """Telegram sends an update again when it got no answer in time: one handled already is
    dropped (one whose gateway died before it was handled is not)."""
    seen: SeenUpdates = context.bot_data["seen"]
    if await seen.handled(f"telegram:{update.update_id}"):
        log.info("update %d handled already: dropped", update.update_id)
        raise ApplicationHandlerStop


async def remember_handled(update: Update, context: Context) -> None:
    """After the update's handler (a later group)."""
    seen: SeenUpdates = context.bot_data["seen"]
    await seen.remember(f"telegram:{update.update_id}")


def _incoming(update: Update, text: str, *, kind: str, shown: str | None = None) -> Incoming:
    message = update.effective_message
    assert message is not None and update.effective_chat is not None
    user = update.effective_user
    return Incoming(
        channel="telegram",
        user_id=str(update.effective_chat.id),
        text=clean(text),  # first: NUL and lone surrogates cannot be stored anywhere
        external_id=f"m{message.message_id}",
        sent_at=message.date,
        kind=kind,
        shown=clean_optional(shown),
        app_language=user.language_code if user else None,
    )


async def on_text(update: Update, context: Context) -> None:
    started = time.perf_counter()
    assert update.effective_message is not None
    incoming = _incoming(update, update.effective_message.text or "", kind="text")
    await answer(update, context, await _relay(context).handle(incoming), started=started)


async def on_command(update: Update, context: Context) -> None:
    """/start [token], /help, /language, /human, /stop; anything else is answered as unknown."""
    started = time.perf_counter()
    assert update.effective_message is not None
    incoming = _incoming(update, update.effective_message.text or "", kind="command")
    await answer(update, context, await _relay(context).handle(incoming), started=started)


async def on_contact(update: Update, context: Context) -> None:
    """The "share my phone number" button. Only the borrower's own number counts: a contact
    card of someone else proves nothing."""
    started = time.perf_counter()
    message = update.effective_message
    assert message is not None and message.contact is not None
    user = update.effective_user
    contact = message.contact
    if user is None or contact.user_id != user.id:
        lang = texts.language_of("", app=user.language_code if user else None)
        await message.reply_text(
            texts.say("own_contact_only", lang), reply_markup=_share_phone_keyboard(lang)
        )
        return
    incoming = _incoming(
        update,
        contact_payload(contact.phone_number),
        kind="contact",
        shown=masked_phone(contact.phone_number),
    )
    await answer(update, context, await _relay(context).handle(incoming), started=started)


async def on_button(update: Update, context: Context) -> None:
    started = time.perf_counter()
    query = update.callback_query
    assert query is not None
    chat = update.effective_chat
    with contextlib.suppress(TelegramError):  # the spinner stops by itself; the press counts
        await query.answer()
    if chat is None or chat.type != "private" or query.message is None:
        return
    relay = _relay(context)
    lang = texts.language_of("", app=query.from_user.language_code)
    try:
        button = await _resolve(relay, str(chat.id), parse_callback(query.data or ""))
    except BackendUnavailable:
        await context.bot.send_message(chat.id, texts.say("backend_down", lang))
        return
    if button is None:
        await context.bot.send_message(chat.id, texts.say("button_expired", lang))
        return
    payload, title = button
    with contextlib.suppress(TelegramError):  # one press per keyboard: no second tap
        await query.edit_message_reply_markup(reply_markup=None)
    incoming = Incoming(
        channel="telegram",
        user_id=str(chat.id),
        text=payload,
        external_id=f"c{query.id}",
        kind="button",
        shown=title,
        app_language=query.from_user.language_code,
    )
    await answer(update, context, await relay.handle(incoming), started=started)


async def _resolve(
    relay: Relay, chat_id: str, ref: tuple[int | str, int] | str | None
) -> tuple[str, str] | None:
    """The pressed button's payload and title, looked up in this chat's own transcript (a
    forged reference to another chat's message is not found)."""
    if isinstance(ref, str):
        return ref, ref
    if ref is None:
        return None
    reply, index = ref
    try:
        if isinstance(reply, int):
            message = await relay.backend.message("telegram", chat_id, reply)
        else:  # a reply named before it was logged (bot/relay.py): it is by now
            await relay.settle("telegram:" + chat_id)
            message = await relay.backend.message_by_external_id("telegram", chat_id, reply)
        button = (message.get("buttons") or [])[index]
        return str(button["payload"]), str(button["title"])
    except (BackendRefused, IndexError, KeyError, TypeError):
        return None


async def on_edited(update: Update, context: Context) -> None:
    await _say(update, "edited")


async def on_not_text(update: Update, context: Context) -> None:
    await _say(update, "text_only")


async def _say(update: Update, key: str) -> None:
    message = update.effective_message
    if message is None:
        return
    user = update.effective_user
    lang = texts.language_of("", app=user.language_code if user else None)
    await message.get_bot().send_message(message.chat_id, texts.say(key, lang))


async def on_error(update: object, context: Context) -> None:
    log.error("update failed: %s", type(context.error).__name__, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        user = update.effective_user
        lang = texts.language_of("", app=user.language_code if user else None)
        with contextlib.suppress(TelegramError):
            await context.bot.send_message(update.effective_chat.id, texts.say("error", lang))


async def answer(
    update: Update, context: Context, outcome: Outcome, *, started: float | None = None
) -> None:
    """Send the replies, in the background: the update is handled (the webhook answers
    Telegram) once the message and its replies are in the transcript, and sending them waits
    out Telegram refusing them for now (send_patiently), a chat's replies in order. `started`
    (perf_counter when the message came) times the turn."""
    chat = update.effective_chat
    assert chat is not None
    if not outcome.replies:
        return
    in_order = _sending_to(chat.id)

    async def send_all() -> None:
        async with in_order:
            for reply in outcome.replies:
                await send_patiently(context.bot, chat.id, reply, outcome.language)
        metrics.REPLIES_SENT.labels("telegram").inc(len(outcome.replies))
        if started is not None:
            metrics.REPLY_SECONDS.labels("telegram").observe(time.perf_counter() - started)

    context.application.create_task(send_all(), update=update)


# One sender at a time per chat: replies to consecutive messages go out in order.
_senders: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()


def _sending_to(chat_id: int) -> asyncio.Lock:
    lock = _senders.get(chat_id)
    if lock is None:
        lock = asyncio.Lock()
        _senders[chat_id] = lock
    return lock


async def send_reply(bot: Any, chat_id: int, reply: Reply, language: str) -> list[int]:
    """Send one reply (split if long; the keyboard goes with the last piece). Message ids."""
    markup: InlineKeyboardMarkup | ReplyKeyboardMarkup | None = None
    rows = keyboard_rows(reply.buttons, reply_ref(reply.message_id, reply.external_id))
    if rows:
        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton(t, callback_data=d) for t, d in row] for row in rows]
        )
    elif reply.custom and reply.custom.get("request_contact"):
        markup = _share_phone_keyboard(language)
    pieces = split_text(reply.text or "…")
    sent = []
    for i, piece in enumerate(pieces):
        message = await bot.send_message(
            chat_id, piece, reply_markup=markup if i == len(pieces) - 1 else None
        )
        sent.append(message.message_id)
    return sent


async def send_patiently(
    bot: Any, chat_id: int, reply: Reply, language: str, *, seconds: float = SEND_RETRY_SECONDS
) -> list[int]:
    """send_reply, sent again while Telegram refuses it for now: after the wait a 429 names
    (the rate limiter has waited out a few already), or a growing pause after a 5xx or a
    network failure, for up to `seconds`. A refusal for good (400, 403) is not tried again."""
    give_up = time.monotonic() + seconds
    pause = FIRST_PAUSE
    while True:
        try:
            return await send_reply(bot, chat_id, reply, language)
        except (RetryAfter, NetworkError) as exc:
            if isinstance(exc, BadRequest):
                raise
            if isinstance(exc, RetryAfter):
                wait = retry_after_seconds(exc)
            else:
                wait, pause = pause, min(pause * 2, LONGEST_PAUSE)
            if time.monotonic() + wait > give_up:
                raise
        metrics.TELEGRAM_SEND_RETRIES.inc()
        await asyncio.sleep(wait)


def retry_after_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 moves it from seconds to a timedelta: take either
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: Any = exc.retry_after
    return float(value.total_seconds()) if hasattr(value, "total_seconds") else float(value)


def _share_phone_keyboard(language: str) -> ReplyKeyboardMarkup:
    button = KeyboardButton(texts.say("share_phone_button", language), request_contact=True)
    return ReplyKeyboardMarkup([[button]], one_time_keyboard=True, resize_keyboard=True)
