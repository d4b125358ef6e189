"""Choosing the channel of a reminder (outreach.yml `channels`): a chat the borrower was in
lately, else SMS to the number on the lender's record with a link that opens the web chat
already linked, else any chat they ever linked; channels they opted out of and channels their
profile forbids skipped, the choice and why on the reminder and its decision."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.analytics.figures import Scope
from backend.analytics.period import Period
from backend.analytics.reminders import reminder_days
from backend.cases.service import file_case
from backend.conversations.messages import Message
from backend.conversations.models import Conversation
from backend.conversations.service import find, get_or_create
from backend.ledger.models import Loan
from backend.outbound import service as outbox
from backend.outbound.models import OutboundMessage
from backend.outreach.models import Reminder, ReminderDecision
from backend.outreach.policy import ChannelRules, SmsRules
from backend.outreach.setup import OutreachConfig
from backend.verification.rules import AttemptPolicy
from backend.verification.service import verify_with_token
from tests.backend import factories
from tests.backend.integration.test_outreach import TODAY, at, config, plan, send

__all__ = ["config"]  # the module's fixture, shared

LINK = re.compile(r"http://127\.0\.0\.1:8080/webchat\?start=([A-Za-z0-9_-]+)")


def a_loan(db: Session, ref: str = "L1", *, phone: str = "+8613800138001", **who: object) -> Loan:
    borrower = factories.borrower(db, ref=f"B-{ref}", phone_e164=phone, **who)
    loan = factories.loan(db, ref=ref, disbursed_on=date(2026, 3, 15), who=borrower)
    db.flush()
    return loan


def a_chat(db: Session, loan: Loan, *, bound_at: datetime, user_id: str = "42") -> Conversation:
    chat = factories.conversation(db, who=loan.borrower, user_id=user_id)
    chat.bound_at = bound_at
    db.flush()
    return chat


def reminder(db: Session) -> Reminder:
    return db.scalars(select(Reminder)).one()


def with_channels(config: OutreachConfig, **rules: object) -> OutreachConfig:
    channels = config.policy.channels.model_copy(update=rules)
    return replace(config, policy=config.policy.model_copy(update={"channels": channels}))


class TestFirstContactBySms:
    def test_a_borrower_who_never_chatted_gets_a_text_with_a_link_into_the_chat(
        self, db: Session, config: OutreachConfig
    ):
        loan = a_loan(db)
        plan(db, config)
        [sent] = send(db, config, at("10:00")).outcomes
        assert (sent.action, sent.channel) == ("send", "sms")
        [message] = db.scalars(select(OutboundMessage)).all()
        sms = message.conversation
        assert (sms.channel, sms.channel_user_id, sms.borrower_id) == (
            "sms",
            "+8613800138001",
            loan.borrower_id,
        )
        assert sms.bound_by == "record"
        assert "L1" in message.text and "2026-04-15" in message.text
        assert "回复“退订”" in message.text  # the profile's line: how to opt out
        assert message.buttons is None and message.segments == 2
        link = LINK.search(message.text)
        assert link is not None
        # the link is what the borrower taps: it links a web chat to them, once
        chat = get_or_create(db, "webchat", "page-1")
        policy = AttemptPolicy()
        first = verify_with_token(db, chat, link.group(1), now=at("10:05"), policy=policy)
        assert (first.status, chat.borrower) == ("verified", loan.borrower)
        other = get_or_create(db, "webchat", "page-2")
        again = verify_with_token(db, other, link.group(1), now=at("10:06"), policy=policy)
        assert again.status == "failed"
        row = reminder(db)
        assert (row.channel, row.channel_rule, row.conversation_id) == ("sms", "sms", sms.id)

    def test_the_token_is_never_in_the_transcript_and_leaves_the_outbox_once_sent(
        self, db: Session, config: OutreachConfig
    ):
        a_loan(db)
        plan(db, config)
        [sent] = send(db, config, at("10:00")).outcomes
        message = db.scalars(select(OutboundMessage)).one()
        token = LINK.search(message.text).group(1)  # type: ignore[union-attr]
        logged = db.get(Message, message.message_id)
        assert logged is not None and token not in logged.text
        assert "webchat?start=…" in logged.text and token not in sent.text
        outbox.claim(db, limit=10, lease=timedelta(seconds=60), now=datetime.now(UTC))
        outbox.report_delivery(
            db,
            outbound_id=message.id,
            status="delivered",
            channel_message_id="SM1",
            error=None,
            retry_after=None,
            now=at("10:01"),
        )
        assert token not in message.text

    def test_the_decision_records_every_rule_tried(self, db: Session, config: OutreachConfig):
        a_loan(db)
        plan(db, config)
        send(db, config, at("10:00"))
        decision = db.scalars(select(ReminderDecision)).one()
        assert json.loads(decision.checks)["channel"] == {
            "rule": "sms",
            # a Chinese number: China's profile does not list WhatsApp
            "tried": [["recent_chat", "none"], ["whatsapp", "not_allowed"], ["sms", "chosen"]],
        }

    def test_an_english_speaker_gets_english(self, db: Session, config: OutreachConfig):
        a_loan(db, language="en")
        plan(db, config)
        send(db, config, at("10:00"))
        text = db.scalars(select(OutboundMessage.text)).one()
        assert text.startswith("Hello") and "Reply STOP" in text

    def test_a_text_longer_than_allowed_is_not_sent(self, db: Session, config: OutreachConfig):
        a_loan(db)
        short = with_channels(config, sms=SmsRules(template="sms_due", max_segments=1))
        plan(db, short)
        [dropped] = send(db, short, at("10:00")).outcomes
        assert (dropped.action, dropped.reason) == ("drop", "sms_too_long")
        assert db.scalars(select(OutboundMessage)).all() == []

    def test_at_night_the_text_waits_like_any_reminder(self, db: Session, config: OutreachConfig):
        a_loan(db)
        plan(db, config)
        [held] = send(db, config, at("22:00")).outcomes
        assert (held.action, held.reason, held.channel) == ("defer", "outside_window", "sms")
        assert db.scalars(select(OutboundMessage)).all() == []


class TestChoosingTheChannel:
    def test_a_chat_the_borrower_was_in_lately_comes_first(
        self, db: Session, config: OutreachConfig
    ):
        loan = a_loan(db)
        a_chat(db, loan, bound_at=at("09:00", TODAY - timedelta(days=5)))
        plan(db, config)
        [sent] = send(db, config, at("10:00")).outcomes
        assert sent.channel == "telegram"
        assert (reminder(db).channel, reminder(db).channel_rule) == ("telegram", "recent_chat")

    def test_a_chat_gone_quiet_for_a_month_gives_way_to_sms(
        self, db: Session, config: OutreachConfig
    ):
        loan = a_loan(db)
        a_chat(db, loan, bound_at=at("09:00", TODAY - timedelta(days=40)))
        plan(db, config)
        [sent] = send(db, config, at("10:00")).outcomes
        assert sent.channel == "sms"

    def test_writing_in_the_chat_keeps_it_recent(self, db: Session, config: OutreachConfig):
        loan = a_loan(db)
        chat = a_chat(db, loan, bound_at=at("09:00", TODAY - timedelta(days=40)))
        db.add(Message(conversation_id=chat.id, sender="borrower", text="hi", sent_at=at("09:00")))
        db.flush()
        plan(db, config)
        [sent] = send(db, config, at("10:00")).outcomes
        assert sent.channel == "telegram"

    def test_an_opt_out_of_the_chat_sends_it_by_sms_instead(
        self, db: Session, config: OutreachConfig
    ):
        loan = a_loan(db)
        chat = a_chat(db, loan, bound_at=at("09:00", TODAY - timedelta(days=1)))
        file_case(db, conversation=chat, kind="opt_out", loan=None, details="STOP")
        plan(db, config)
        [sent] = send(db, config, at("10:00")).outcomes
        assert (sent.action, sent.channel) == ("send", "sms")

    def test_opted_out_everywhere_it_is_dropped_as_an_opt_out(
        self, db: Session, config: OutreachConfig
    ):
        loan = a_loan(db)
        chat = a_chat(db, loan, bound_at=at("09:00", TODAY - timedelta(days=1)))
        file_case(db, conversation=chat, kind="opt_out", loan=None, details="STOP")
        sms = get_or_create(db, "sms", "+8613800138001")
        sms.borrower, sms.bound_at, sms.bound_by = loan.borrower, at("08:00"), "record"
        file_case(db, conversation=sms, kind="opt_out", loan=None, details="退订")
        plan(db, config)
        [dropped] = send(db, config, at("10:00")).outcomes
        assert (dropped.action, dropped.reason) == ("drop", "opt_out")
        assert reminder(db).held_by == "opt_out"
        assert db.scalars(select(OutboundMessage)).all() == []

    def test_a_number_two_borrowers_share_gets_no_text(self, db: Session, config: OutreachConfig):
        a_loan(db, "L1", phone="+8613800138009")
        a_loan(db, "L2", phone="+8613800138009")
        plan(db, config)
        outcomes = send(db, config, at("10:00")).outcomes
        assert {(o.action, o.reason) for o in outcomes} == {("drop", "no_channel")}
        assert find(db, "sms", "+8613800138009") is None
        decision = db.scalars(select(ReminderDecision)).first()
        assert decision is not None
        assert ["sms", "shared_number"] in json.loads(decision.checks)["channel"]["tried"]

    def test_a_profile_without_sms_falls_back_to_any_linked_chat(
        self, db: Session, config: OutreachConfig
    ):
        loan = a_loan(db)
        a_chat(db, loan, bound_at=at("09:00", TODAY - timedelta(days=90)))
        profiles = dict(config.compliance.profiles)
        profiles["CN"] = profiles["CN"].model_copy(update={"channels": ("telegram", "webchat")})
        no_sms = replace(
            config, compliance=config.compliance.model_copy(update={"profiles": profiles})
        )
        plan(db, no_sms)
        [sent] = send(db, no_sms, at("10:00")).outcomes
        assert sent.channel == "telegram"
        assert reminder(db).channel_rule == "linked_chat"

    def test_the_order_is_operations_to_choose(self, db: Session, config: OutreachConfig):
        loan = a_loan(db)
        a_chat(db, loan, bound_at=at("09:00", TODAY - timedelta(days=1)))
        sms_first = with_channels(config, order=("sms", "recent_chat"))
        plan(db, sms_first)
        [sent] = send(db, sms_first, at("10:00")).outcomes
        assert sent.channel == "sms"


def test_the_shipped_order_is_chat_then_whatsapp_then_sms_then_any_chat(
    config: OutreachConfig,
) -> None:
    assert config.policy.channels == ChannelRules(
        order=("recent_chat", "whatsapp", "sms", "linked_chat"), recent_chat_days=30
    )


def test_a_receipt_is_kept_and_never_goes_back(db: Session, config: OutreachConfig) -> None:
    a_loan(db)
    plan(db, config)
    send(db, config, at("10:00"))
    message = db.scalars(select(OutboundMessage)).one()
    outbox.claim(db, limit=10, lease=timedelta(seconds=60), now=datetime.now(UTC))
    outbox.report_delivery(
        db, outbound_id=message.id, status="delivered", channel_message_id="SM9",
        error=None, retry_after=None, now=at("10:01"),
    )  # fmt: skip
    when = datetime(2026, 4, 12, 2, 2, tzinfo=UTC)
    outbox.record_receipt(
        db, channel="sms", channel_message_id="SM9", receipt="delivered", error=None, at=when
    )
    outbox.record_receipt(
        db, channel="sms", channel_message_id="SM9", receipt="sent", error=None, at=when
    )
    assert (message.receipt, message.receipt_at) == ("delivered", when)


def test_the_dashboard_counts_reminders_by_the_channel_they_went_on(
    db: Session, config: OutreachConfig
) -> None:
    a_loan(db, "L1", phone="+8613800138011")  # never chatted: SMS
    chatting = a_loan(db, "L2", phone="+8613800138012")
    a_chat(db, chatting, bound_at=at("09:00", TODAY - timedelta(days=1)))
    a_loan(db, "L3", phone="+6591234511", timezone="Asia/Singapore")  # never chatted: WhatsApp
    plan(db, config)
    assert {o.channel for o in send(db, config, at("10:00")).outcomes} == {
        "sms",
        "telegram",
        "whatsapp",
    }

    def sent(channel: str | None) -> int:
        period = Period(Scope(start=TODAY, end=TODAY, channel=channel))
        return reminder_days(db, period)[1].sent

    assert (sent("sms"), sent("telegram"), sent("whatsapp"), sent("webchat"), sent(None)) == (
        1,
        1,
        1,
        0,
        3,
    )
